"""Circuit breakers, h11-style: every transition of a breaker lives in the tables below.

Theory of operation. A breaker guards one swarm, or one swarm's work on one task type. It
starts CLOSED and counts consecutive failures (failed tasks, failed completions, help
requests its swarm was asked to answer and did not); a success resets the count. At the
policy's threshold it trips to OPEN (a state-triggered transition) and remembers when. While
OPEN every admission is refused with ``CircuitOpen(retry_after)``. Once the reset timeout has
passed — judged at the timestamp of the event being decided, never a clock — the breaker is
HALF_OPEN: it lets ``half_open_probes`` claims through; a success closes it, a failure opens
it again from that moment. An operator's ``breaker.reset`` event closes it from any state.

Breakers are values: :func:`apply` returns a new :class:`Breaker` and never mutates one.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import Enum


class BreakerState(Enum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class Signal(Enum):
    FAILURE = "failure"
    SUCCESS = "success"
    RESET = "reset"  # an operator's breaker.reset
    COOLED = "cooled"  # the reset timeout has passed (time-triggered, judged at event time)
    PROBE = "probe"  # a claim admitted while HALF_OPEN
    PROBE_RETURNED = "probe_returned"  # a claim released while HALF_OPEN gives its probe back


CLOSED, OPEN, HALF_OPEN = BreakerState.CLOSED, BreakerState.OPEN, BreakerState.HALF_OPEN

# Event-triggered transitions. A pair missing here is a bug in the caller (e.g. a PROBE while
# OPEN: admission refuses those, so none is ever folded) and raises BreakerError.
EVENT_TRIGGERED_TRANSITIONS: dict[BreakerState, dict[Signal, BreakerState]] = {
    CLOSED: {
        Signal.FAILURE: CLOSED,  # counted; the state-triggered rule below may trip it
        Signal.SUCCESS: CLOSED,
        Signal.RESET: CLOSED,
    },
    OPEN: {
        # Work admitted before the trip may still finish or fail; it neither closes the breaker
        # nor restarts its timeout: only probes decide.
        Signal.FAILURE: OPEN,
        Signal.SUCCESS: OPEN,
        Signal.RESET: CLOSED,
        Signal.COOLED: HALF_OPEN,
    },
    HALF_OPEN: {
        Signal.PROBE: HALF_OPEN,
        Signal.PROBE_RETURNED: HALF_OPEN,
        Signal.SUCCESS: CLOSED,
        Signal.FAILURE: OPEN,
        Signal.RESET: CLOSED,
    },
}


class BreakerError(Exception):
    """A signal the table has no transition for: the caller's bug, not bad input."""


@dataclass(frozen=True)
class Breaker:
    state: BreakerState = CLOSED
    failures: int = 0  # consecutive, while CLOSED
    opened_at: float = 0.0  # epoch seconds of the event that opened it
    probes: int = 0  # claims let through while HALF_OPEN


CLOSED_BREAKER = Breaker()


def apply(breaker: Breaker, signal: Signal, now: float, *, threshold: int) -> Breaker:
    """The breaker after ``signal`` at event time ``now``."""
    transitions = EVENT_TRIGGERED_TRANSITIONS[breaker.state]
    if signal not in transitions:
        raise BreakerError(f"no transition for {signal.value} in state {breaker.state.value}")
    target = transitions[signal]
    if target is CLOSED:
        failures = breaker.failures + 1 if signal is Signal.FAILURE else 0
        result = Breaker(CLOSED, failures=failures)
    elif target is OPEN:
        result = breaker if breaker.state is OPEN else Breaker(OPEN, opened_at=now)
    elif breaker.state is OPEN:  # COOLED
        result = Breaker(HALF_OPEN, opened_at=breaker.opened_at)
    elif signal is Signal.PROBE:
        result = replace(breaker, probes=breaker.probes + 1)
    else:  # PROBE_RETURNED
        result = replace(breaker, probes=max(0, breaker.probes - 1))
    return _state_triggered(result, now, threshold)


def _state_triggered(breaker: Breaker, now: float, threshold: int) -> Breaker:
    # The one state-triggered transition: enough consecutive failures trip a closed breaker.
    if breaker.state is CLOSED and breaker.failures >= threshold:
        return Breaker(OPEN, opened_at=now)
    return breaker


def at(breaker: Breaker, now: float, *, reset_timeout: float) -> Breaker:
    """The breaker as it stands at ``now``: an OPEN one whose timeout passed is HALF_OPEN."""
    if breaker.state is OPEN and now >= breaker.opened_at + reset_timeout:
        return apply(breaker, Signal.COOLED, now, threshold=1)
    return breaker


def refusal(breaker: Breaker, now: float, *, reset_timeout: float, probes: int) -> float | None:
    """Seconds until a claim may pass (``retry_after``), or None when one may pass now.

    A HALF_OPEN breaker with every probe in flight answers with a full reset timeout: the
    probes' outcome, not a time, decides what comes next.
    """
    current = at(breaker, now, reset_timeout=reset_timeout)
    if current.state is OPEN:
        return max(0.0, current.opened_at + reset_timeout - now)
    if current.state is HALF_OPEN and current.probes >= probes:
        return reset_timeout
    return None
