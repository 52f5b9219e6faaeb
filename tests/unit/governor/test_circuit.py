"""Breakers inside the fold: failures trip them, claims are refused until the reset timeout,
probes decide, an operator's breaker.reset closes them."""

from __future__ import annotations

from ifmesh.node import errors
from ifmesh.node.governor import breaker as b
from ifmesh.node.governor.errors import refusal_error
from ifmesh.node.governor.governor import Governor
from ifmesh.node.governor.policy_file import parse_policy
from ifmesh.node.governor.state import SWARM_WIDE, TaskDemand
from tests.unit.governor.support import Events, fleet_registered

POLICY = parse_policy(
    """
resource_policy:
  max_cost_per_task: 50
  circuit_breaker_failure_threshold: 2
  circuit_breaker_reset_timeout: 10m
  circuit_breaker_half_open_probes: 1
  task_types:
    protocol: {circuit_breaker_failure_threshold: 1}
"""
)
SWARM = "session-4-sip"


def task(task_id: str, task_type: str = "general") -> TaskDemand:
    return TaskDemand(task_id, task_type, frozenset(), 1.0)


def run_and_fail(governor: Governor, state: object, events: Events, tid: str, minute: float,
                 task_type: str = "general") -> object:  # fmt: skip
    state = governor.fold(state, events.claim(tid, SWARM, minute), task(tid, task_type))
    return governor.fold(state, events.fail(tid, SWARM, minute + 1), task(tid, task_type))


def test_consecutive_failures_open_the_swarm_breaker_with_retry_after() -> None:
    events, governor = Events(), Governor(POLICY)
    state = fleet_registered(events, governor)
    state = run_and_fail(governor, state, events, "A", 0)
    assert governor.admit(state, events.claim("B", SWARM, 2), task("B")).admitted
    state = run_and_fail(governor, state, events, "B", 2)  # 2nd failure at minute 3: OPEN
    verdict = governor.admit(state, events.claim("C", SWARM, 5), task("C"))
    assert verdict.code == "circuit_open" and verdict.retry_after == 480.0
    error = refusal_error(verdict)
    assert isinstance(error, errors.CircuitOpen) and error.retry_after == 480.0
    # Judged at the event's time: a claim stamped after the timeout is a probe.
    probe = events.claim("C", SWARM, 13)
    assert governor.admit(state, probe, task("C")).admitted
    state = governor.fold(state, probe, task("C"))
    assert state.breaker((SWARM, SWARM_WIDE)).state is b.HALF_OPEN
    second = governor.admit(state, events.claim("D", SWARM, 14), task("D"))
    assert second.code == "circuit_open"  # only one probe
    closed = governor.fold(state, events.complete("C", SWARM, 20), task("C"))
    assert closed.breakers == {}
    reopened = governor.fold(state, events.fail("C", SWARM, 20), task("C"))
    assert reopened.breaker((SWARM, SWARM_WIDE)) == b.Breaker(
        b.OPEN, opened_at=events.claim("x", SWARM, 20).timestamp.timestamp()
    )


def test_task_type_breaker_is_separate_and_uses_its_override() -> None:
    events, governor = Events(), Governor(POLICY)
    state = fleet_registered(events, governor)
    state = run_and_fail(governor, state, events, "P1", 0, "protocol")  # threshold 1 for protocol
    refused = governor.admit(state, events.claim("P2", SWARM, 3), task("P2", "protocol"))
    assert refused.code == "circuit_open" and "task type 'protocol'" in refused.reason
    assert governor.admit(state, events.claim("G1", SWARM, 3), task("G1")).admitted


def test_failed_completion_counts_as_a_failure() -> None:
    events, governor = Events(), Governor(POLICY)
    state = fleet_registered(events, governor)
    for i, minute in enumerate((0, 5)):
        tid = f"T{i}"
        state = governor.fold(state, events.claim(tid, SWARM, minute), task(tid))
        state = governor.fold(
            state, events.complete(tid, SWARM, minute + 1, tests_pass=False), task(tid)
        )
    assert state.breaker((SWARM, SWARM_WIDE)).state is b.OPEN


def test_operator_reset_closes_swarm_and_task_type_breakers() -> None:
    events, governor = Events(), Governor(POLICY)
    state = fleet_registered(events, governor)
    state = run_and_fail(governor, state, events, "A", 0, "protocol")
    state = run_and_fail(governor, state, events, "B", 2, "protocol")
    assert {key for key in state.breakers} == {(SWARM, SWARM_WIDE), (SWARM, "protocol")}
    only_type = governor.fold(state, events.reset(SWARM, 4, task_type="protocol"))
    assert set(only_type.breakers) == {(SWARM, SWARM_WIDE)}
    everything = governor.fold(state, events.reset(SWARM, 4))
    assert everything.breakers == {}
    assert governor.admit(everything, events.claim("C", SWARM, 4), task("C", "protocol")).admitted


def test_a_released_probe_is_given_back() -> None:
    events, governor = Events(), Governor(POLICY)
    state = fleet_registered(events, governor)
    state = run_and_fail(governor, state, events, "A", 0)
    state = run_and_fail(governor, state, events, "B", 2)  # OPEN at minute 3
    probe = events.claim("C", SWARM, 14)
    state = governor.fold(state, probe, task("C"))
    assert governor.admit(state, events.claim("D", SWARM, 15), task("D")).code == "circuit_open"
    state = governor.fold(state, events.release("C", SWARM, 16), task("C"))
    assert state.breaker((SWARM, SWARM_WIDE)) == b.Breaker(
        b.HALF_OPEN, opened_at=events.claim("x", SWARM, 3).timestamp.timestamp(), probes=0
    )
    assert governor.admit(state, events.claim("D", SWARM, 17), task("D")).admitted
