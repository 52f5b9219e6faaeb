"""The breaker's transition table, judged at event time."""

from __future__ import annotations

import pytest

from ifmesh.node.governor import breaker as b

THRESHOLD, TIMEOUT, PROBES = 3, 300.0, 1


def fail(x: b.Breaker, now: float) -> b.Breaker:
    return b.apply(b.at(x, now, reset_timeout=TIMEOUT), b.Signal.FAILURE, now, threshold=THRESHOLD)


def succeed(x: b.Breaker, now: float) -> b.Breaker:
    return b.apply(b.at(x, now, reset_timeout=TIMEOUT), b.Signal.SUCCESS, now, threshold=THRESHOLD)


def refusal(x: b.Breaker, now: float) -> float | None:
    return b.refusal(x, now, reset_timeout=TIMEOUT, probes=PROBES)


def test_trips_after_threshold_consecutive_failures_only() -> None:
    x = fail(fail(b.CLOSED_BREAKER, 1), 2)
    x = succeed(x, 3)  # a success in between resets the count
    assert x == b.CLOSED_BREAKER
    for t in (10, 11):
        x = fail(x, t)
    assert x.state is b.CLOSED and refusal(x, 11) is None
    x = fail(x, 12)
    assert x.state is b.OPEN and x.opened_at == 12
    assert refusal(x, 12) == TIMEOUT
    assert refusal(x, 100) == pytest.approx(212)


def test_half_open_after_timeout_lets_probes_through_then_closes_or_reopens() -> None:
    opened = b.Breaker(b.OPEN, opened_at=1000)
    assert refusal(opened, 1299.9) == pytest.approx(0.1)
    assert refusal(opened, 1300) is None  # judged at the event's time: cooled
    probing = b.apply(b.at(opened, 1300, reset_timeout=TIMEOUT), b.Signal.PROBE, 1300, threshold=3)
    assert probing.state is b.HALF_OPEN and probing.probes == 1
    assert refusal(probing, 1301) == TIMEOUT  # every probe in flight: wait for its outcome
    assert succeed(probing, 1400) == b.CLOSED_BREAKER
    reopened = fail(probing, 1400)
    assert reopened == b.Breaker(b.OPEN, opened_at=1400)


def test_late_results_do_not_move_an_open_breaker() -> None:
    opened = b.Breaker(b.OPEN, opened_at=1000)
    assert succeed(opened, 1010) == opened
    assert fail(opened, 1010) == opened  # the timeout is not restarted


def test_reset_closes_from_every_state() -> None:
    for state in (b.Breaker(b.OPEN, opened_at=5), b.Breaker(b.HALF_OPEN, probes=1)):
        assert b.apply(state, b.Signal.RESET, 6, threshold=3) == b.CLOSED_BREAKER


def test_signals_without_a_transition_are_caller_bugs() -> None:
    with pytest.raises(b.BreakerError):
        b.apply(b.Breaker(b.OPEN, opened_at=0), b.Signal.PROBE, 1, threshold=3)
    with pytest.raises(b.BreakerError):
        b.apply(b.CLOSED_BREAKER, b.Signal.COOLED, 1, threshold=3)


def test_table_covers_reset_everywhere_and_only_known_states() -> None:
    assert set(b.EVENT_TRIGGERED_TRANSITIONS) == set(b.BreakerState)
    for transitions in b.EVENT_TRIGGERED_TRANSITIONS.values():
        assert transitions[b.Signal.RESET] is b.CLOSED
