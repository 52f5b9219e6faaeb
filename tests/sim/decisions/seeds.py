"""Running the seeded decision scenarios (tests/sim/test_decided_*.py): which seeds run (all,
or ``IFMESH_SIM_SEED=N`` alone), BLOCK of them per test so a failing block names few, and a
broken rule failing the test with its scenario, the end of its trace and the command that
replays it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from typing import Protocol, TypeVar

import pytest

from tests.sim.decisions.room import Scenario

ONLY = os.environ.get("IFMESH_SIM_SEED")
BLOCK = 50


class SeededRoom(Protocol):
    scenario: Scenario
    trace: list[str]


Room = TypeVar("Room", bound=SeededRoom)


def seeds(count: int) -> list[int]:
    """Seeds 0 to ``count`` - 1, or only the one ``IFMESH_SIM_SEED`` names."""
    return [int(ONLY)] if ONLY else list(range(count))


def blocks(chosen: Sequence[int]) -> range:
    """Where each test's block of seeds starts (a ``parametrize`` argument)."""
    return range(0, len(chosen), BLOCK)


def checked(
    chosen: Sequence[int],
    block: int,
    simulate: Callable[[Scenario], Room],
    violations: Callable[[Room], list[str]],
    test_file: str,
) -> Iterator[Room]:
    """Each room of the block's seeds once it has kept every rule; the test fails at the first
    that broke one."""
    for seed in chosen[block : block + BLOCK]:
        room = simulate(Scenario.draw(seed))
        problems = violations(room)
        if problems:
            tail = "\n".join(room.trace[-60:])
            pytest.fail(
                f"{room.scenario}:\n  " + "\n  ".join(problems) + f"\ntrace:\n{tail}"
                f"\nreplay: IFMESH_SIM_SEED={seed} pytest {test_file}",
                pytrace=False,
            )
        yield room
