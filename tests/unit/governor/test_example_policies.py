"""Every policy in examples/policies/ loads and is exercised by a scenario with the Phase-0
fleet (session-1-ndi … session-5-cli): what the policy promises is what the governor does."""

from __future__ import annotations

from pathlib import Path

import pytest

from ifmesh.node.governor import breaker as b
from ifmesh.node.governor.budget_table import budget_rows, render_budget
from ifmesh.node.governor.governor import Governor
from ifmesh.node.governor.ledger import micros
from ifmesh.node.governor.policy_file import load_policy
from ifmesh.node.governor.state import SWARM_WIDE, TaskDemand
from ifmesh.node.protocol import messages as m
from tests.unit.governor.support import TASKS, Events, at, fleet_registered

EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "policies"
NAMES = ("dev", "production", "high-stakes", "cost-optimization", "deadline-driven")


def governor_for(name: str) -> Governor:
    return Governor(load_policy(EXAMPLES / f"{name}.yaml"))


def test_the_examples_are_exactly_the_five_scenarios() -> None:
    assert sorted(p.stem for p in EXAMPLES.glob("*.yaml")) == sorted(NAMES)
    hashes = {governor_for(name).policy_hash for name in NAMES}
    assert len(hashes) == len(NAMES)


def test_dev_lets_unregistered_sessions_and_loose_matches_through() -> None:
    events, governor = Events(), governor_for("dev")
    state = governor.initial()
    claim = events.claim("P0.5.2", "session-2-webrtc", 1)  # nobody registered yet
    assert governor.admit(state, claim, TASKS["P0.5.2"]).admitted
    state = fleet_registered(events, governor)
    assert governor.admit(state, claim, TASKS["P0.5.2"]).admitted  # 50 % match is enough
    # Four failures in a row do not pause anyone in dev (threshold 5).
    for i in range(4):
        task = TaskDemand(f"D{i}", "general", frozenset(), 1.0)
        state = governor.fold(state, events.claim(f"D{i}", "session-5-cli", i), task)
        state = governor.fold(state, events.fail(f"D{i}", "session-5-cli", i + 0.5), task)
    assert governor.admit(state, events.claim("D9", "session-5-cli", 5), TASKS["F2.1"]).admitted


def test_production_phase0_day() -> None:
    events, governor = Events(), governor_for("production")
    state = fleet_registered(events, governor)
    # Docs override: session-2-webrtc (technical writing, no governor:policy) may take P0.5.2.
    docs = events.claim("P0.5.2", "session-2-webrtc", 1, policy_hash=governor.policy_hash)
    assert governor.admit(state, docs, TASKS["P0.5.2"]).admitted
    state = governor.fold(state, docs, TASKS["P0.5.2"])
    # No docs override for protocol work: a SIP session cannot take the H.323 task.
    wrong = governor.admit(state, events.claim("P0.3.2", "session-4-sip", 1), TASKS["P0.3.2"])
    assert wrong.code == "policy_denied" and "protocol:h323" in wrong.reason
    # H.323 work by its expert: 3 h × 3.80 = 11.40 within the $15 cap.
    h323 = events.claim("P0.3.2", "session-3-h323", 2)
    state = governor.fold(state, h323, TASKS["P0.3.2"])
    assert state.ledger.reserved_by_swarm["session-3-h323"] == micros(11.4)
    # Integration override: NDI's 2 h × 4.50 = 9.00 passes the $25 integration cap.
    ndi = events.claim("P0.1.5", "session-1-ndi", 3)
    assert governor.admit(state, ndi, TASKS["P0.1.5"]).admitted
    state = governor.fold(state, ndi, TASKS["P0.1.5"])
    # The CLI session is blocked on P0.5.4 and asks for Python help: two helpers (gang-up limit).
    request = events.help_request("P0.5.4", "session-5-cli", 4, ["lang:python"], max_helpers=3)
    state = governor.fold(state, request, TASKS["P0.5.4"])
    assert state.help[request.id].helpers == ("session-4-sip", "session-3-h323")
    # session-1-ndi fails three integration tasks in a row: paused for ten minutes.
    for i, minute in enumerate((10, 20, 30)):
        task = TaskDemand(f"I{i}", "integration", frozenset({"protocol:ndi"}), 1.0)
        if i:
            state = governor.fold(state, events.claim(f"I{i}", "session-1-ndi", minute), task)
        else:
            task = TASKS["P0.1.5"]
        tid = task.task_id
        state = governor.fold(state, events.fail(tid, "session-1-ndi", minute + 1), task)
    refused = governor.admit(
        state, events.claim("P0.1.5", "session-1-ndi", 35, epoch=1), TASKS["P0.1.5"]
    )
    assert refused.code == "circuit_open" and refused.retry_after == pytest.approx(360)
    probe = events.claim("P0.1.5", "session-1-ndi", 42, epoch=1)
    assert governor.admit(state, probe, TASKS["P0.1.5"]).admitted
    table = render_budget(governor.policy, state, at(45).timestamp())
    h323 = next(line for line in table.splitlines() if line.startswith("session-3-h323"))
    assert h323.split()[1:5] == ["40.00", "0.00", "13.30", "26.70"]  # 11.40 claim + 1.90 help


def test_high_stakes_one_failure_pauses_for_an_hour_and_one_swarm_per_task() -> None:
    events, governor = Events(), governor_for("high-stakes")
    state = fleet_registered(events, governor)
    partial = governor.admit(state, events.claim("P0.1.5", "session-5-cli", 1), TASKS["P0.1.5"])
    assert partial.code == "policy_denied"  # 50 % match; high-stakes needs 100 %
    state = governor.fold(state, events.claim("P0.1.5", "session-1-ndi", 1), TASKS["P0.1.5"])
    fixtures = TaskDemand("P0.1.5", "integration", frozenset({"protocol:ndi"}), 1.0)
    second = governor.admit(state, events.claim("P0.1.5", "session-1-ndi", 1), fixtures)
    assert second.admitted  # the same swarm again
    state = governor.fold(state, events.fail("P0.1.5", "session-1-ndi", 5), TASKS["P0.1.5"])
    assert state.breaker(("session-1-ndi", SWARM_WIDE)).state is b.OPEN
    later = governor.admit(
        state, events.claim("P0.1.5", "session-1-ndi", 50, epoch=1), TASKS["P0.1.5"]
    )
    assert later.code == "circuit_open" and later.retry_after == pytest.approx(900)
    # A blocked owner gets at most one helper; a protocol task allows owner + one helper.
    state = governor.fold(state, events.claim("P0.4.1", "session-4-sip", 6), TASKS["P0.4.1"])
    request = events.help_request("P0.4.1", "session-4-sip", 7, ["lang:python"], max_helpers=3)
    state = governor.fold(state, request, TASKS["P0.4.1"])
    assert state.help[request.id].helpers == ("session-5-cli",)


def test_cost_optimization_prefers_cheap_swarms_and_warns_early() -> None:
    events, governor = Events(), governor_for("cost-optimization")
    state = fleet_registered(events, governor)
    ndi = governor.admit(state, events.claim("P0.1.5", "session-1-ndi", 1), TASKS["P0.1.5"])
    assert ndi.code == "budget_exhausted"  # 2 h × 4.50 = 9.00 > the $5 cap
    cheap = events.claim("P0.1.5", "session-5-cli", 1)  # 2 h × 2.20 = 4.40
    assert governor.admit(state, cheap, TASKS["P0.1.5"]).admitted
    state = governor.fold(state, cheap, TASKS["P0.1.5"])
    # One helper (the gang-up limit here), the best value for money.
    request = events.help_request("P0.5.4", "session-2-webrtc", 2, ["lang:python"])
    assert governor.route_help(state, request, TASKS["P0.5.4"]) == ("session-5-cli",)
    # Warning at 60 % of session-5-cli's $25: 4.40 + 4.40 + 4.40 = 13.20 (53 %) is quiet,
    # a fourth 4.40 (70 %) is admitted with a forecast warning.
    for tid in ("X", "Y"):
        demand = TaskDemand(tid, "general", frozenset(), 2.0)
        verdict = governor.admit(state, events.claim(tid, "session-5-cli", 3), demand)
        assert verdict.admitted and verdict.reason == ""
        state = governor.fold(state, events.claim(tid, "session-5-cli", 3), demand)
    rows = {row.swarm_id: row for row in budget_rows(governor.policy, state, at(4).timestamp())}
    assert rows["session-5-cli"].reserved == pytest.approx(13.2)
    assert not rows["session-5-cli"].warning
    last = TaskDemand("Z", "general", frozenset(), 2.0)
    warned = governor.admit(state, events.claim("Z", "session-5-cli", 4), last)
    assert warned.admitted and "forecast" in warned.reason and "70%" in warned.reason
    state = governor.fold(state, events.claim("Z", "session-5-cli", 4), last)
    rows = {row.swarm_id: row for row in budget_rows(governor.policy, state, at(4).timestamp())}
    assert rows["session-5-cli"].warning and rows["session-5-cli"].remaining == pytest.approx(7.4)
    assert " !" in render_budget(governor.policy, state, at(4).timestamp())


def test_deadline_driven_sends_three_helpers_and_escalates_after_five_minutes() -> None:
    events, governor = Events(), governor_for("deadline-driven")
    state = fleet_registered(events, governor)
    request = events.help_request(
        "P0.5.4", "session-2-webrtc", 10, ["lang:python"], max_helpers=4, deadline_minutes=60
    )
    state = governor.fold(state, request, TASKS["P0.5.4"])
    case = state.help[request.id]
    assert case.helpers == ("session-5-cli", "session-4-sip", "session-3-h323")
    assert governor.escalations_due(state, at(14)) == ()
    (due,) = governor.escalations_due(state, at(15))
    assert due.requester == "session-2-webrtc" and "answered" in due.reason
    escalate = events(due.payload(), "session-2-webrtc", 15)
    assert isinstance(escalate.payload, m.HelpEscalate)
    state = governor.fold(state, escalate)
    assert governor.escalations_due(state, at(16)) == ()
    # Hotfixes escalate after two minutes and may take four helpers.
    hotfix = TaskDemand("HF1", "hotfix", frozenset({"lang:python"}), 1.0)
    urgent = events.help_request("HF1", "session-2-webrtc", 20, ["lang:python"], max_helpers=9)
    state = governor.fold(state, urgent, hotfix)
    assert len(state.help[urgent.id].helpers) == 4
    assert governor.next_deadline(state) == at(22).timestamp()
