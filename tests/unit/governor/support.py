"""A realistic fleet and an event factory for governor tests (no board, no clock)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from ifmesh.node.governor.state import TaskDemand
from ifmesh.node.protocol import messages as m

T0 = datetime(2025, 11, 12, 14, 0, tzinfo=UTC)

# The five Phase-0 sessions, as their fixtures register them (costs and reputations varied).
FLEET: dict[str, dict[str, Any]] = {
    "session-1-ndi": dict(
        capabilities=["protocol:ndi", "media:video-routing", "test:integration", "lang:python"],
        cost_per_hour=4.5, reputation_score=0.85, budget=40.0, model="sonnet",
    ),
    "session-2-webrtc": dict(
        capabilities=["docs:technical-writing", "protocol:webrtc", "test:fixtures",
                      "docs:runbooks"],
        cost_per_hour=1.2, reputation_score=0.9, budget=20.0, model="haiku",
    ),
    "session-3-h323": dict(
        capabilities=["protocol:h323", "media:mcu", "protocol:h245", "lang:python"],
        cost_per_hour=3.8, reputation_score=0.82, budget=40.0, model="sonnet",
    ),
    "session-4-sip": dict(
        capabilities=["protocol:sip", "protocol:sdp", "test:sipp", "lang:python"],
        cost_per_hour=3.0, reputation_score=0.78, budget=35.0, model="sonnet",
    ),
    "session-5-cli": dict(
        capabilities=["lang:python", "tooling:cli", "test:integration", "governor:policy",
                      "test:fixtures"],
        cost_per_hour=2.2, reputation_score=0.8, budget=25.0, model="haiku",
    ),
}  # fmt: skip

# Phase-0 tasks as the board would describe them.
TASKS: dict[str, TaskDemand] = {
    t.task_id: t
    for t in (
        TaskDemand("P0.1.5", "integration", frozenset({"protocol:ndi", "test:integration"}), 2.0),
        TaskDemand("P0.3.2", "protocol", frozenset({"protocol:h323", "protocol:h245"}), 3.0),
        TaskDemand("P0.4.1", "protocol", frozenset({"protocol:sip", "test:sipp"}), 2.0),
        TaskDemand("P0.5.2", "docs", frozenset({"docs:technical-writing", "governor:policy"}), 1.0),
        TaskDemand("P0.5.4", "cli", frozenset({"tooling:cli", "lang:python"}), 1.5),
        TaskDemand("F2.1", "fixtures", frozenset({"test:fixtures"}), 1.0),
    )
}


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


@dataclass
class Events:
    """Builds envelopes with per-source seq and a Lamport clock that only goes up."""

    lamport: int = 0
    seqs: dict[str, int] = field(default_factory=dict)

    def __call__(
        self, payload: m.Payload, source: str, minutes: float, *, lamport: int | None = None
    ) -> m.Envelope:
        self.lamport = lamport if lamport is not None else self.lamport + 1
        seq = self.seqs.get(source, 0)
        self.seqs[source] = seq + 1
        return m.make_message(
            payload,
            source=source,
            timestamp=at(minutes),
            lamport=self.lamport,
            seq=seq,
            incarnation="test",
        )

    def register(self, swarm_id: str, minutes: float = 0, **changes: Any) -> m.Envelope:
        fields = {**FLEET[swarm_id], **changes}
        return self(m.SwarmRegister(swarm_id=swarm_id, **fields), swarm_id, minutes)

    def claim(
        self, task_id: str, swarm_id: str, minutes: float, *, epoch: int = 0, policy_hash: str = ""
    ) -> m.Envelope:
        payload = m.TaskClaim(
            task_id=task_id,
            epoch=epoch,
            swarm_id=swarm_id,
            task_type=TASKS[task_id].task_type if task_id in TASKS else "general",
            timestamp=at(minutes),
            policy_hash=policy_hash,
        )
        return self(payload, swarm_id, minutes)

    def complete(
        self,
        task_id: str,
        swarm_id: str,
        minutes: float,
        *,
        epoch: int = 0,
        tests_pass: bool = True,
        actual_hours: float | None = None,
    ) -> m.Envelope:
        payload = m.TaskComplete(
            task_id=task_id, epoch=epoch, tests_pass=tests_pass, actual_hours=actual_hours
        )
        return self(payload, swarm_id, minutes)

    def fail(self, task_id: str, swarm_id: str, minutes: float, *, epoch: int = 0) -> m.Envelope:
        return self(m.TaskFail(task_id=task_id, epoch=epoch, reason="tests red"), swarm_id, minutes)

    def release(self, task_id: str, swarm_id: str, minutes: float, *, epoch: int = 0) -> m.Envelope:
        return self(m.TaskRelease(task_id=task_id, epoch=epoch), swarm_id, minutes)

    def help_request(
        self,
        task_id: str,
        blocked: str,
        minutes: float,
        required: list[str],
        *,
        max_helpers: int = 3,
        max_cost_per_helper: float = 10.0,
        deadline_minutes: float = 30,
    ) -> m.Envelope:
        payload = m.HelpRequest(
            blocked_swarm_id=blocked,
            task_id=task_id,
            required_capabilities=required,
            max_helpers=max_helpers,
            max_cost_per_helper=max_cost_per_helper,
            deadline=at(minutes + deadline_minutes),
        )
        return self(payload, blocked, minutes)

    def offer(self, request: m.Envelope, helper: str, minutes: float) -> m.Envelope:
        assert isinstance(request.payload, m.HelpRequest)
        payload = m.HelpOffer(
            request_id=request.id, task_id=request.payload.task_id, helper_swarm_id=helper
        )
        return self(payload, helper, minutes)

    def escalate(self, request: m.Envelope, minutes: float) -> m.Envelope:
        assert isinstance(request.payload, m.HelpRequest)
        payload = m.HelpEscalate(
            request_id=request.id,
            task_id=request.payload.task_id,
            blocked_swarm_id=request.payload.blocked_swarm_id,
            reason="unanswered",
        )
        return self(payload, request.source, minutes)

    def reset(
        self,
        swarm_id: str,
        minutes: float,
        task_type: str | None = None,
        source: str = "session-0-operator",
    ) -> m.Envelope:
        return self(m.BreakerReset(swarm_id=swarm_id, task_type=task_type), source, minutes)


def demand_of(event: m.Envelope) -> TaskDemand | None:
    task_id = getattr(event.payload, "task_id", None)
    return TASKS.get(task_id) if isinstance(task_id, str) else None


def fold_all(governor: Any, events: list[m.Envelope], state: Any = None) -> Any:
    """Folds ``events`` in the order given (callers sort them when order matters)."""
    state = governor.initial() if state is None else state
    for event in events:
        state = governor.fold(state, event, demand_of(event))
    return state


def fleet_registered(events: Events, governor: Any) -> Any:
    return fold_all(governor, [events.register(swarm) for swarm in sorted(FLEET)])
