"""Backoff grows from ~250 ms to 5 s with jitter; epochs order the builds of each pair."""

from __future__ import annotations

import random

import pytest

from ifmesh.node.mesh.reconnect import Backoff, BackoffConfig, PairEpochs


def test_backoff_grows_to_the_cap_with_jitter() -> None:
    backoff = Backoff(rng=random.Random(1))
    delays = [backoff.next_delay() for _ in range(10)]
    ceilings = [min(5.0, 0.25 * 2**i) for i in range(10)]
    for delay, ceiling in zip(delays, ceilings, strict=True):
        assert ceiling * 0.5 <= delay <= ceiling
    assert delays[-1] > 2.5
    assert len({round(d, 6) for d in delays[-4:]}) == 4, "jitter: no lock-step at the cap"


def test_backoff_reset_starts_over() -> None:
    backoff = Backoff(rng=random.Random(2))
    for _ in range(6):
        backoff.next_delay()
    backoff.reset()
    assert backoff.next_delay() <= 0.25


def test_backoff_config_is_checked() -> None:
    with pytest.raises(ValueError):
        BackoffConfig(initial=6.0, maximum=5.0)


def test_offerer_epochs_increase_and_outbid_a_previous_incarnation() -> None:
    old = PairEpochs(start=1_000)
    assert [old.bump("b") for _ in range(3)] == [1_000, 1_001, 1_002]
    restarted = PairEpochs(start=2_000)  # wall-clock ms later
    assert restarted.bump("b") > 1_002
    old.forget("b")
    assert old.bump("b") == 1_003, "the offerer never reuses an epoch"


def test_answerer_adopts_only_newer_epochs() -> None:
    epochs = PairEpochs(start=0)
    assert epochs.adopt("a", 10)
    assert not epochs.adopt("a", 10), "the same offer twice is not a new build"
    assert not epochs.adopt("a", 9), "a stale offer is ignored"
    assert epochs.is_current("a", 10) and not epochs.is_current("a", 9)
    assert epochs.adopt("a", 11)
    epochs.forget("a")
    assert epochs.current("a") is None
    assert epochs.adopt("a", 3), "a new incarnation may start anywhere"
