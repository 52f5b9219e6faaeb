"""Help routing: who is sent, the gang-up limit, reservations, escalation and its blame."""

from __future__ import annotations

from datetime import timedelta

from ifmesh.node.governor import breaker as b
from ifmesh.node.governor.governor import Governor
from ifmesh.node.governor.ledger import HelpKind, micros
from ifmesh.node.governor.policy_file import parse_policy
from ifmesh.node.governor.state import SWARM_WIDE
from ifmesh.node.protocol import messages as m
from tests.unit.governor.support import TASKS, Events, at, fleet_registered

PYTHON_HELP = ["lang:python"]


def test_ranked_by_match_times_reputation_over_cost_capped_by_the_gang_up_limit() -> None:
    events, governor = Events(), Governor()
    state = fleet_registered(events, governor)
    # Everyone but session-2-webrtc has lang:python. Scores (0.5 h each):
    #   session-5-cli 0.8/2.2=.364  session-4-sip .78/3=.26  session-3-h323 .82/3.8=.216 ...
    request = events.help_request("P0.5.4", "session-2-webrtc", 5, PYTHON_HELP, max_helpers=3)
    assert governor.route_help(state, request) == ("session-5-cli", "session-4-sip")  # limit 2
    one = events.help_request("P0.5.4", "session-2-webrtc", 5, PYTHON_HELP, max_helpers=1)
    assert governor.route_help(state, one) == ("session-5-cli",)
    wide = Governor(
        parse_policy("resource_policy: {max_helpers_per_blocker: 5, max_swarms_per_task: 9}")
    )
    assert wide.route_help(state, request) == ("session-5-cli", "session-4-sip", "session-3-h323")


def test_ties_break_by_swarm_id() -> None:
    events, governor = Events(), Governor()
    state = governor.initial()
    for swarm in ("session-9-b", "session-8-a"):
        state = governor.fold(
            state,
            events(
                m.SwarmRegister(
                    swarm_id=swarm, capabilities=["lang:python"], cost_per_hour=2.0, budget=10.0
                ),
                swarm,
                0,
            ),
        )
    request = events.help_request("T", "session-1-ndi", 1, PYTHON_HELP, max_helpers=1)
    assert governor.route_help(state, request) == ("session-8-a",)


def test_helpers_exclude_the_blocked_swarm_open_breakers_and_the_too_expensive() -> None:
    events, governor = Events(), Governor()
    state = fleet_registered(events, governor)
    state = state.__class__(
        profiles=state.profiles,
        ledger=state.ledger,
        breakers={("session-5-cli", SWARM_WIDE): b.Breaker(b.OPEN, opened_at=at(0).timestamp())},
    )
    cheap = events.help_request("P0.5.4", "session-4-sip", 1, PYTHON_HELP, max_cost_per_helper=1.5)
    # session-5-cli: breaker open; session-4-sip: the requester; 0.5 h × 3.8 = 1.90 > 1.50.
    assert governor.route_help(state, cheap) == ()


def test_request_reserves_for_helpers_and_resolution_settles_only_those_who_came() -> None:
    events, governor = Events(), Governor()
    state = fleet_registered(events, governor)
    request = events.help_request("P0.5.4", "session-2-webrtc", 5, PYTHON_HELP)
    state = governor.fold(state, request, TASKS["P0.5.4"])
    case = state.help[request.id]
    assert case.helpers == ("session-5-cli", "session-4-sip")
    assert state.ledger.reserved_by_swarm == {
        "session-5-cli": micros(0.5 * 2.2),
        "session-4-sip": micros(0.5 * 3.0),
    }
    state = governor.fold(state, events.offer(request, "session-5-cli", 6))
    state = governor.fold(state, events.offer(request, "session-1-ndi", 6))  # not asked: ignored
    assert state.help[request.id].offers == {"session-5-cli"}
    resolved = events(
        m.BlockerResolved(swarm_id="session-2-webrtc", task_id="P0.5.4"),
        "session-2-webrtc",
        20,
    )
    state = governor.fold(state, resolved)
    assert state.help == {}
    assert state.ledger.reservations == {}
    assert state.ledger.settled_by_swarm == {"session-5-cli": micros(1.1)}


def test_no_eligible_helper_is_due_for_escalation_at_once() -> None:
    events, governor = Events(), Governor()
    state = fleet_registered(events, governor)
    request = events.help_request("P0.3.2", "session-3-h323", 5, ["protocol:h323-annex-q"])
    state = governor.fold(state, request)
    (due,) = governor.escalations_due(state, at(5), requester="session-3-h323")
    assert "no eligible helper" in due.reason
    assert due.next_action.startswith("Escalated help for P0.3.2")
    assert governor.escalations_due(state, at(5), requester="session-1-ndi") == ()
    assert governor.next_deadline(state) == 0.0


def test_unanswered_request_escalates_at_the_deadline_and_blames_silent_helpers() -> None:
    events = Events()
    governor = Governor(
        parse_policy(
            "resource_policy: {escalation_deadline: 10m, circuit_breaker_failure_threshold: 1}"
        )
    )
    state = fleet_registered(events, governor)
    request = events.help_request("P0.5.4", "session-2-webrtc", 5, PYTHON_HELP, deadline_minutes=60)
    state = governor.fold(state, request, TASKS["P0.5.4"])
    deadline = at(15)  # the policy's 10 minutes beat the request's 60
    assert governor.next_deadline(state) == deadline.timestamp()
    assert governor.escalations_due(state, deadline - timedelta(seconds=1)) == ()
    (due,) = governor.escalations_due(state, deadline)
    assert "none of session-5-cli, session-4-sip answered" in due.reason
    state = governor.fold(state, events.offer(request, "session-4-sip", 14))
    assert governor.escalations_due(state, deadline) == ()  # one answered: nothing due
    state = governor.fold(state, events.escalate(request, 16))
    # session-5-cli never answered: its reservation is released and its breaker trips (threshold 1)
    assert [r.swarm_id for r in state.ledger.on_task("P0.5.4") if r.kind == HelpKind] == [
        "session-4-sip"
    ]
    assert state.breaker(("session-5-cli", SWARM_WIDE)).state is b.OPEN
    assert state.breaker(("session-4-sip", SWARM_WIDE)).state is b.CLOSED


def test_early_escalation_blames_nobody() -> None:
    events = Events()
    governor = Governor(parse_policy("resource_policy: {circuit_breaker_failure_threshold: 1}"))
    state = fleet_registered(events, governor)
    request = events.help_request("P0.5.4", "session-2-webrtc", 5, PYTHON_HELP)
    state = governor.fold(state, request, TASKS["P0.5.4"])
    state = governor.fold(state, events.escalate(request, 6))
    assert state.help[request.id].escalated
    assert state.breakers == {}
    assert [r for r in state.ledger.reservations.values() if r.kind == HelpKind] == []
