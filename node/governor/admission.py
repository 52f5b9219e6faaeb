"""Whether a claim or steal may go ahead, and what it reserves: one pure decision.

Checks run in this order, and the first refusal is the answer: the swarm is registered (unless
the policy allows unregistered swarms); neither its swarm-wide nor its task-type breaker is
open (``CircuitOpen`` with ``retry_after``); its capabilities match the task well enough; the
task would not have more swarms on it than ``max_swarms_per_task``; the task's committed cost
(concurrent reservations + settled) plus this reservation stays within ``max_cost_per_task``,
and the swarm's budget for the period covers it (``BudgetExhausted``). The reducer folds the
same :class:`ClaimDecision` it was admitted by, so admission and state can never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass

from ifmesh.node import errors
from ifmesh.node.board.governance import ADMITTED, Admission
from ifmesh.node.governor import breaker as breakers
from ifmesh.node.governor.ledger import ClaimKind, Reservation, ReservationKey, micros, period_index
from ifmesh.node.governor.matching import match_score
from ifmesh.node.governor.policy import Policy
from ifmesh.node.governor.state import SWARM_WIDE, BreakerKey, GovernorState, TaskDemand


@dataclass(frozen=True)
class ClaimDecision:
    admission: Admission
    reservation: Reservation | None = None  # None when refused, or already held
    probes: tuple[BreakerKey, ...] = ()  # HALF_OPEN breakers this claim passes as a probe
    replaced: tuple[ReservationKey, ...] = ()  # a steal ends the previous epochs' claims


def _refuse(
    cls: type[errors.PolicyDenied], reason: str, retry: float | None = None
) -> ClaimDecision:
    return ClaimDecision(Admission(False, reason=reason, code=cls.code, retry_after=retry))


def decide_claim(
    policy: Policy,
    state: GovernorState,
    *,
    swarm_id: str,
    session: str,
    demand: TaskDemand,
    epoch: int,
    now: float,
    steal: bool = False,
    from_status_file: bool = False,
) -> ClaimDecision:
    """The decision on ``swarm_id`` (sent by ``session``) taking ``demand`` at ``epoch``.

    ``from_status_file``: the claim was read from the STATUS file of a session without a node.
    Such a session never sends ``swarm.register``; its STATUS file registers it, with unknown
    capabilities, cost and budget, so it is admitted as an unregistered swarm is under a policy
    that allows them: no capability match or budget check, every other rule alike."""
    task_id = demand.task_id
    limits = policy.limits(demand.task_type)
    profile = state.profiles.get(swarm_id)
    if profile is None and not policy.allow_unregistered and not from_status_file:
        return _refuse(
            errors.PolicyDenied,
            f"swarm {swarm_id} is not registered; send swarm.register (capabilities, "
            "cost_per_hour, budget) before claiming",
        )

    probes: list[BreakerKey] = []
    for key, guard in (
        ((swarm_id, SWARM_WIDE), policy.base),
        ((swarm_id, demand.task_type), limits),
    ):
        current = state.breaker(key)
        wait = breakers.refusal(
            current,
            now,
            reset_timeout=guard.circuit_breaker_reset_timeout,
            probes=guard.circuit_breaker_half_open_probes,
        )
        if wait is not None:
            scope = "" if key[1] == SWARM_WIDE else f" for task type {key[1]!r}"
            return _refuse(
                errors.CircuitOpen,
                f"circuit open for swarm {swarm_id}{scope} after repeated failures; "
                f"retry in {wait:.0f}s or send breaker.reset",
                wait,
            )
        at_now = breakers.at(current, now, reset_timeout=guard.circuit_breaker_reset_timeout)
        if at_now.state is breakers.HALF_OPEN:
            probes.append(key)

    replaced = tuple(
        r.key
        for r in state.ledger.on_task(task_id)
        if steal and r.kind == ClaimKind and int(r.ref) < epoch
    )
    own_key: ReservationKey = (ClaimKind, task_id, str(epoch), swarm_id)
    if own_key in state.ledger.reservations:
        return ClaimDecision(ADMITTED)  # the same claim again: already reserved

    if profile is not None:
        match = match_score(demand.required_capabilities, profile.capabilities)
        if match < limits.min_capability_match:
            missing = ", ".join(sorted(demand.required_capabilities - profile.capabilities))
            return _refuse(
                errors.PolicyDenied,
                f"swarm {swarm_id} matches {match:.0%} of the capabilities {task_id} requires; "
                f"the policy needs {limits.min_capability_match:.0%} (missing: {missing})",
            )

    others = {r.swarm_id for r in state.ledger.on_task(task_id) if r.key not in replaced} - {
        swarm_id
    }
    if len(others) + 1 > limits.max_swarms_per_task:
        return _refuse(
            errors.PolicyDenied,
            f"{task_id} already has {len(others)} swarm(s) on it "
            f"({', '.join(sorted(others))}); the policy allows {limits.max_swarms_per_task}",
        )

    hours = demand.estimate_hours if demand.estimate_hours else limits.default_estimate_hours
    cost = micros(hours * profile.cost_per_hour) if profile is not None else 0
    freed = sum(state.ledger.reservations[key].amount for key in replaced)
    task_total = state.ledger.task_committed(task_id) - freed + cost
    cap = micros(limits.max_cost_per_task)
    if task_total > cap:
        return _refuse(
            errors.BudgetExhausted,
            f"{task_id} would commit ${task_total / 1e6:.2f} (estimate {hours:g} h × "
            f"${cost / 1e6 / hours:.2f}/h plus ${(task_total - cost) / 1e6:.2f} already "
            f"committed); max_cost_per_task is ${limits.max_cost_per_task:.2f}",
        )
    reason = ""
    if profile is not None:
        period = period_index(now, policy.budget_period)
        budget = micros(profile.budget)
        committed = state.ledger.committed(swarm_id, period)
        if committed + cost > budget:
            return _refuse(
                errors.BudgetExhausted,
                f"swarm {swarm_id} has ${(budget - committed) / 1e6:.2f} of its "
                f"${profile.budget:.2f} budget left this period; {task_id} would reserve "
                f"${cost / 1e6:.2f}",
            )
        if budget and committed + cost >= policy.budget_warning_ratio * budget:
            reason = (
                f"forecast: swarm {swarm_id} will have committed "
                f"{(committed + cost) / budget:.0%} of its budget this period"
            )
    reservation = Reservation(
        kind=ClaimKind,
        task_id=task_id,
        ref=str(epoch),
        swarm_id=swarm_id,
        session=session,
        amount=cost,
        task_type=demand.task_type,
    )
    admission = Admission(True, reason=reason) if reason else ADMITTED
    return ClaimDecision(admission, reservation, tuple(probes), replaced)
