"""The board under a hostile network: ≥ 200 seeded scenarios, and Hypothesis properties.

Every scenario checks, after heal and quiescence: all boards byte-identical; never two
confirmed holders of one task in one epoch; every accepted event in every log; no progress
accepted from a fenced owner; every waiting session told when it is unblocked.

A failure prints the command that replays it; ``IFMESH_SIM_SEED=N`` runs only seed N.
"""

from __future__ import annotations

import os
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.sim.checks import violations
from tests.sim.cluster import ScenarioConfig
from tests.sim.replay import command_for
from tests.sim.scenario import run

ONLY = os.environ.get("IFMESH_SIM_SEED")
SEEDS = [int(ONLY)] if ONLY else list(range(160))


def assert_holds(config: ScenarioConfig) -> None:
    cluster = run(config)
    problems = violations(cluster)
    if problems:
        tail = "\n".join(cluster.trace[-40:])
        pytest.fail(
            f"{len(problems)} violation(s) in {config}:\n  "
            + "\n  ".join(problems)
            + f"\nlast trace lines:\n{tail}\nreplay: {command_for(config)}",
            pytrace=False,
        )


@pytest.mark.parametrize("seed", SEEDS, ids=lambda s: f"seeded-{s}")
def test_seeded_scenario(seed: int) -> None:
    assert_holds(ScenarioConfig(seed=seed, nodes=3 + seed % 3))


SCENARIO = settings(max_examples=20, suppress_health_check=[HealthCheck.too_slow], deadline=None)


@SCENARIO
@given(
    seed=st.integers(0, 2**32 - 1),
    nodes=st.integers(2, 6),
    skew=st.integers(0, 600),
)
def test_converges_with_skewed_clocks_and_empty_restarts(seed: int, nodes: int, skew: int) -> None:
    assert_holds(
        ScenarioConfig(seed=seed, nodes=nodes, max_skew=timedelta(seconds=skew), wipes=True)
    )


@SCENARIO
@given(seed=st.integers(0, 2**32 - 1), drop=st.sampled_from([0.0, 0.3, 0.6]))
def test_partitions_never_give_a_task_two_confirmed_holders(seed: int, drop: float) -> None:
    assert_holds(ScenarioConfig(seed=seed, nodes=5, crashes=False, drop=drop, duplicate=0.3))


@SCENARIO
@given(seed=st.integers(0, 2**32 - 1))
def test_crash_heavy_rooms_lose_nothing_accepted(seed: int) -> None:
    assert_holds(ScenarioConfig(seed=seed, nodes=4, steps=80, partitions=False, wipes=True))


@settings(max_examples=10, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_converges_with_the_governor_folded_in(seed: int) -> None:
    """IF.governor's part (registrations, reservations, breakers) is folded by the same
    reducer, so it converges byte for byte along with the rest of the board."""
    assert_holds(ScenarioConfig(seed=seed, nodes=4, governed=True))


def test_a_broken_property_is_reported_with_its_replay_command() -> None:
    """The harness can fail: a board tampered with after the run is caught."""
    config = ScenarioConfig(seed=3, nodes=3, steps=20)
    cluster = run(config)
    node = next(iter(cluster.nodes.values()))
    node.replica.log._state.tasks.clear()
    node.replica.log._board = None
    assert any("boards differ" in p for p in violations(cluster))
    assert command_for(config).startswith(".venv/bin/python -m tests.sim.replay --seed 3")
