"""Admission of claims and steals: registration, capabilities, swarms per task, budgets."""

from __future__ import annotations

from pathlib import Path

from ifmesh.node import errors
from ifmesh.node.governor.errors import refusal_error
from ifmesh.node.governor.governor import Governor
from ifmesh.node.governor.ledger import micros
from ifmesh.node.governor.policy_file import parse_policy
from ifmesh.node.governor.state import TaskDemand
from ifmesh.node.protocol import messages as m
from tests.unit.governor.support import TASKS, Events, demand_of, fleet_registered, fold_all


def test_unregistered_swarm_is_denied_unless_the_policy_allows_it() -> None:
    events = Events()
    claim = events.claim("P0.1.5", "session-1-ndi", 1)
    verdict = Governor().admit(Governor().initial(), claim, TASKS["P0.1.5"])
    assert not verdict.admitted and verdict.code == "policy_denied"
    assert "not registered" in verdict.reason
    permissive = Governor(parse_policy("resource_policy: {allow_unregistered: true}"))
    assert permissive.admit(permissive.initial(), claim, TASKS["P0.1.5"]).admitted


def test_a_session_without_a_node_is_registered_by_its_status_file() -> None:
    """Its claims are read from git (incarnation "git:<branch>"): admitted under the default
    and production policies with unknown capabilities, while the same claim over the mesh from
    a session that never registered is still refused."""
    events = Events()
    live = events.claim("P0.1.5", "session-1-ndi", 1)
    from_git = live.model_copy(update={"incarnation": "git:claude/ndi-work"})
    production = parse_policy(
        (Path(__file__).parents[3] / "examples/policies/production.yaml").read_text()
    )
    for governor in (Governor(), Governor(production)):
        assert not governor.admit(governor.initial(), live, TASKS["P0.1.5"]).admitted
        verdict = governor.admit(governor.initial(), from_git, TASKS["P0.1.5"])
        assert verdict.admitted, verdict.reason
        state = governor.fold(governor.initial(), from_git, TASKS["P0.1.5"])
        assert sum(r.amount for r in state.ledger.reservations.values()) == 0  # nothing reserved


def test_capability_match_below_the_minimum_is_denied_with_what_is_missing() -> None:
    events, governor = Events(), Governor()
    state = fleet_registered(events, governor)
    # session-2-webrtc writes docs but has no governor:policy: 50 % < 70 %.
    claim = events.claim("P0.5.2", "session-2-webrtc", 1)
    verdict = governor.admit(state, claim, TASKS["P0.5.2"])
    assert verdict.code == "policy_denied"
    assert "50%" in verdict.reason and "governor:policy" in verdict.reason
    assert isinstance(refusal_error(verdict), errors.PolicyDenied)
    lenient = Governor(
        parse_policy("resource_policy:\n  task_types: {docs: {min_capability_match: 0.5}}")
    )
    assert lenient.admit(state, claim, TASKS["P0.5.2"]).admitted


def test_admitted_claim_reserves_estimate_times_cost_and_release_frees_it() -> None:
    events, governor = Events(), Governor(parse_policy("resource_policy: {max_cost_per_task: 25}"))
    state = fleet_registered(events, governor)
    claim = events.claim("P0.3.2", "session-3-h323", 1)
    state = governor.fold(state, claim, TASKS["P0.3.2"])
    assert state.ledger.reserved_by_swarm["session-3-h323"] == micros(3.0 * 3.8)
    assert state.ledger.task_committed("P0.3.2") == micros(11.4)
    state = governor.fold(state, events.release("P0.3.2", "session-3-h323", 2), TASKS["P0.3.2"])
    assert state.ledger.reservations == {}
    assert state.ledger.task_committed("P0.3.2") == 0


def test_max_cost_per_task_counts_concurrent_reservations() -> None:
    events = Events()
    governor = Governor(
        parse_policy("resource_policy: {max_cost_per_task: 12, max_swarms_per_task: 3}")
    )
    state = fleet_registered(events, governor)
    task = TaskDemand("P0.5.4", "cli", frozenset({"lang:python"}), 2.0)
    first = events.claim("P0.5.4", "session-5-cli", 1)  # 2 h × 2.2 = 4.40
    state = governor.fold(state, first, task)
    second = events.claim("P0.5.4", "session-4-sip", 1)  # 2 h × 3.0 = 6.00 → 10.40 ≤ 12
    assert governor.admit(state, second, task).admitted
    state = governor.fold(state, second, task)
    third = events.claim("P0.5.4", "session-1-ndi", 1)  # 2 h × 4.5 = 9.00 → 19.40 > 12
    verdict = governor.admit(state, third, task)
    assert verdict.code == "budget_exhausted" and "max_cost_per_task" in verdict.reason
    assert isinstance(refusal_error(verdict), errors.BudgetExhausted)
    assert governor.fold(state, third, task) == state  # a refused claim reserves nothing
    # The mesh says session-5-cli won: the loser's reservation goes, room for another opens.
    lost = events(
        m.ClaimLost(task_id="P0.5.4", epoch=0, winner="session-5-cli"), "session-4-sip", 2
    )
    state = governor.fold(state, lost, task)
    assert state.ledger.task_committed("P0.5.4") == micros(4.4)


def test_max_swarms_per_task() -> None:
    events = Events()
    governor = Governor(parse_policy("resource_policy: {max_swarms_per_task: 1}"))
    state = fleet_registered(events, governor)
    task = TaskDemand("X1", "general", frozenset(), 1.0)
    state = governor.fold(state, events.claim("X1", "session-5-cli", 1), task)
    again = events.claim("X1", "session-5-cli", 1)
    assert governor.admit(state, again, task).admitted  # the same swarm re-claiming
    other = governor.admit(state, events.claim("X1", "session-4-sip", 1), task)
    assert other.code == "policy_denied" and "session-5-cli" in other.reason


def test_swarm_budget_and_forecast_warning() -> None:
    events, governor = Events(), Governor()
    state = fleet_registered(events, governor)
    task = lambda tid, h: TaskDemand(tid, "general", frozenset(), h)  # noqa: E731
    # session-2-webrtc: $20 budget at $1.20/h. 8 h = 9.60 (48 %): no warning.
    state = governor.fold(state, events.claim("A", "session-2-webrtc", 1), task("A", 8))
    verdict = governor.admit(state, events.claim("B", "session-2-webrtc", 2), task("B", 6))
    assert verdict.admitted and "forecast" in verdict.reason and "84%" in verdict.reason
    state = governor.fold(state, events.claim("B", "session-2-webrtc", 2), task("B", 6))
    verdict = governor.admit(state, events.claim("C", "session-2-webrtc", 3), task("C", 3))
    assert verdict.code == "budget_exhausted"
    assert "has $3.20 of its $20.00 budget left" in verdict.reason


def test_completion_settles_the_actual_and_a_new_period_frees_the_budget() -> None:
    events = Events()
    governor = Governor(
        parse_policy("resource_policy: {budget_period: hourly, max_cost_per_task: 25}")
    )
    state = fleet_registered(events, governor)
    task = TaskDemand("A", "general", frozenset(), 10.0)
    state = governor.fold(state, events.claim("A", "session-2-webrtc", 1), task)  # 12.00
    done = events.complete("A", "session-2-webrtc", 2, actual_hours=15.0)  # 18.00 actual
    state = governor.fold(state, done, task)
    assert state.ledger.reservations == {}
    assert state.ledger.settled_by_task["A"] == micros(18.0)
    small = TaskDemand("B", "general", frozenset(), 2.0)  # 2.40 > 20 - 18
    assert governor.admit(state, events.claim("B", "session-2-webrtc", 30), small).code == (
        "budget_exhausted"
    )
    assert governor.admit(state, events.claim("B", "session-2-webrtc", 61), small).admitted


def test_stale_epoch_completion_changes_nothing() -> None:
    events, governor = Events(), Governor(parse_policy("resource_policy: {max_cost_per_task: 25}"))
    state = fleet_registered(events, governor)
    state = governor.fold(
        state, events.claim("P0.3.2", "session-3-h323", 1, epoch=2), TASKS["P0.3.2"]
    )
    assert state.ledger.on_task("P0.3.2")
    stale = events.complete("P0.3.2", "session-3-h323", 2, epoch=1)
    assert governor.fold(state, stale, TASKS["P0.3.2"]) == state


def test_steal_replaces_the_previous_owners_reservation() -> None:
    events = Events()
    governor = Governor(
        parse_policy("resource_policy: {max_swarms_per_task: 1, max_cost_per_task: 12}")
    )
    state = fleet_registered(events, governor)
    task = TaskDemand("P0.5.4", "cli", frozenset({"lang:python"}), 2.0)
    state = governor.fold(state, events.claim("P0.5.4", "session-4-sip", 1), task)
    steal = events(
        m.TaskSteal(task_id="P0.5.4", epoch=1, previous_owner="session-4-sip"), "session-5-cli", 20
    )
    assert governor.admit(state, steal, task).admitted
    state = governor.fold(state, steal, task)
    assert [(r.swarm_id, r.ref) for r in state.ledger.on_task("P0.5.4")] == [("session-5-cli", "1")]


def test_claim_without_a_board_uses_the_claims_own_task_type_and_estimate() -> None:
    events, governor = Events(), Governor()
    state = fleet_registered(events, governor)
    payload = m.TaskClaim(
        task_id="Z9", epoch=0, swarm_id="session-1-ndi", task_type="integration",
        metadata={"estimate_hours": 2}, timestamp=events.claim("Z9", "session-1-ndi", 0).timestamp,
    )  # fmt: skip
    state = governor.fold(state, events(payload, "session-1-ndi", 1))
    (reservation,) = state.ledger.on_task("Z9")
    assert reservation.amount == micros(9.0) and reservation.task_type == "integration"


def test_policy_hash_mismatch_is_recorded_per_session() -> None:
    events, governor = Events(), Governor()
    state = fleet_registered(events, governor)
    state = governor.fold(
        state, events.claim("F2.1", "session-5-cli", 1, policy_hash="sha256:old"), TASKS["F2.1"]
    )
    assert state.policy_mismatches == {"session-5-cli": "sha256:old"}
    ok = events.claim("P0.5.4", "session-5-cli", 2, policy_hash=governor.policy_hash)
    state = governor.fold(state, ok, TASKS["P0.5.4"])
    assert state.policy_mismatches == {}


def test_demand_lookup_in_support_matches_tasks() -> None:
    events = Events()
    assert demand_of(events.claim("F2.1", "session-5-cli", 0)) == TASKS["F2.1"]
    assert fold_all(Governor(), []) == Governor().initial()


def test_git_confirmation_moves_the_reservation_to_the_git_winner() -> None:
    events = Events()
    governor = Governor(parse_policy("resource_policy: {max_cost_per_task: 25}"))
    state = fleet_registered(events, governor)
    task = TASKS["P0.5.4"]  # 1.5 h
    # Partition: the mesh (this side) saw only session-5-cli's claim; git says session-4-sip.
    state = governor.fold(state, events.claim("P0.5.4", "session-5-cli", 1), task)
    confirmed = m.TaskConfirmed(task_id="P0.5.4", epoch=0, winner="session-4-sip")
    state = governor.fold(state, events(confirmed, "session-4-sip", 2), task)
    (reservation,) = state.ledger.on_task("P0.5.4")
    assert (reservation.swarm_id, reservation.amount) == ("session-4-sip", micros(1.5 * 3.0))
    again = governor.fold(state, events(confirmed, "session-4-sip", 3), task)
    assert again == state  # the same verdict twice changes nothing
