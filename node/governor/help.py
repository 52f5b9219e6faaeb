"""Help routing: who is sent to a blocked session, and when the request is escalated.

For a ``help.request`` every node computes the same helpers from (state before the request,
the request): registered swarms other than the blocked one, whose swarm-wide breaker is
closed at the request's time, that match the required capabilities well enough, whose help
(``help_estimate_hours`` × cost_per_hour) fits the request's ``max_cost_per_helper``, their
own budget and the task's ``max_cost_per_task``, best ranked first. At most
min(request.max_helpers, the policy's gang-up limit ``max_helpers_per_blocker``) are chosen,
and no more than ``max_swarms_per_task`` allows with those already on the task.

Escalation: a request nobody is eligible for is due at once; one that no chosen helper
answered is due at its deadline (the earlier of the request's own deadline and the policy's
``escalation_deadline`` after it was sent). The requester's node issues ``help.escalate``;
:func:`escalations_due` and :func:`next_deadline` are its aioquic-style timer.
"""

from __future__ import annotations

from dataclasses import dataclass

from ifmesh.node.governor import breaker as breakers
from ifmesh.node.governor.ledger import HelpKind, Reservation, micros, period_index
from ifmesh.node.governor.matching import rank
from ifmesh.node.governor.policy import Policy
from ifmesh.node.governor.state import SWARM_WIDE, GovernorState, HelpCase, TaskDemand
from ifmesh.node.protocol.messages import HelpEscalate, HelpRequest


@dataclass(frozen=True)
class HelpAssignment:
    helpers: tuple[str, ...]
    reservations: tuple[Reservation, ...]
    deadline: float


def assign_helpers(
    policy: Policy,
    state: GovernorState,
    request: HelpRequest,
    *,
    request_id: str,
    now: float,
    demand: TaskDemand | None = None,
) -> HelpAssignment:
    task_type = demand.task_type if demand is not None else None
    limits = policy.limits(task_type)
    deadline = min(request.deadline.timestamp(), now + limits.escalation_deadline)
    on_task = {r.swarm_id for r in state.ledger.on_task(request.task_id)}
    on_task.add(request.blocked_swarm_id)
    wanted = min(
        request.max_helpers,
        limits.max_helpers_per_blocker,
        max(0, limits.max_swarms_per_task - len(on_task)),
    )
    period = period_index(now, policy.budget_period)
    per_helper_cap = micros(request.max_cost_per_helper)
    task_room = micros(limits.max_cost_per_task) - state.ledger.task_committed(request.task_id)
    base = policy.base
    chosen: list[Reservation] = []
    candidates = rank(
        (p for p in state.profiles.values() if p.swarm_id not in on_task),
        frozenset(request.required_capabilities),
        limits.min_capability_match,
    )
    for candidate in candidates:
        if len(chosen) >= wanted:
            break
        profile = state.profiles[candidate.swarm_id]
        guard = breakers.at(
            state.breaker((profile.swarm_id, SWARM_WIDE)),
            now,
            reset_timeout=base.circuit_breaker_reset_timeout,
        )
        if guard.state is not breakers.CLOSED:
            continue
        cost = micros(limits.help_estimate_hours * profile.cost_per_hour)
        left = micros(profile.budget) - state.ledger.committed(profile.swarm_id, period)
        if cost > per_helper_cap or cost > left or cost > task_room:
            continue
        task_room -= cost
        chosen.append(
            Reservation(
                kind=HelpKind,
                task_id=request.task_id,
                ref=request_id,
                swarm_id=profile.swarm_id,
                session=profile.registrar,
                amount=cost,
                task_type=task_type or "help",
            )
        )
    return HelpAssignment(tuple(r.swarm_id for r in chosen), tuple(chosen), deadline)


@dataclass(frozen=True)
class EscalationDue:
    """A help request the requester's node should escalate now."""

    request_id: str
    task_id: str
    blocked_swarm_id: str
    requester: str
    reason: str

    @property
    def next_action(self) -> str:
        """The blocked session's STATUS ``next_action`` while it waits."""
        return f"Escalated help for {self.task_id} to all sessions: {self.reason}"

    def payload(self) -> HelpEscalate:
        return HelpEscalate(
            request_id=self.request_id,
            task_id=self.task_id,
            blocked_swarm_id=self.blocked_swarm_id,
            reason=self.reason,
        )


def escalation_reason(case: HelpCase, now: float) -> str | None:
    if case.escalated:
        return None
    if not case.helpers:
        return "no eligible helper (capabilities, budget, breakers or gang-up limit)"
    if now >= case.deadline and not (case.offers & set(case.helpers)):
        return f"none of {', '.join(case.helpers)} answered before the deadline"
    return None


def escalations_due(
    state: GovernorState, now: float, requester: str | None = None
) -> tuple[EscalationDue, ...]:
    """Open requests (of ``requester``'s, when given) due for escalation at ``now``."""
    due = []
    for request_id, case in sorted(state.help.items()):
        if requester is not None and case.requester != requester:
            continue
        reason = escalation_reason(case, now)
        if reason is not None:
            due.append(
                EscalationDue(
                    request_id, case.task_id, case.blocked_swarm_id, case.requester, reason
                )
            )
    return tuple(due)


def next_deadline(state: GovernorState, requester: str | None = None) -> float | None:
    """When :func:`escalations_due` may next return something new (None: nothing pending)."""
    pending = [
        case.deadline if case.helpers else float("-inf")
        for case in state.help.values()
        if not case.escalated
        and not (case.offers & set(case.helpers))
        and (requester is None or case.requester == requester)
    ]
    return max(min(pending), 0.0) if pending else None
