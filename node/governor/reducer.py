"""Folding events into :class:`GovernorState`: the governor's half of the board's reducer.

``fold(policy, state, event, demand)`` is pure: the state before, the event, and the event's
own timestamp as the time. Claims and steals are folded by the same :func:`decide_claim` that
admitted them, so a claim refused anywhere is refused (and reserves nothing) everywhere.
Events the governor has no stake in return the state unchanged.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace

from ifmesh.node.board.state import SEED_INCARNATION_PREFIX
from ifmesh.node.governor import breaker as breakers
from ifmesh.node.governor.admission import ClaimDecision, decide_claim
from ifmesh.node.governor.help import assign_helpers
from ifmesh.node.governor.ledger import (
    ClaimKind,
    HelpKind,
    Ledger,
    Reservation,
    micros,
    period_index,
)
from ifmesh.node.governor.policy import Policy
from ifmesh.node.governor.registry import register
from ifmesh.node.governor.state import SWARM_WIDE, BreakerKey, GovernorState, HelpCase, TaskDemand
from ifmesh.node.protocol.messages import (
    BlockerResolved,
    BreakerReset,
    ClaimLost,
    Envelope,
    HelpEscalate,
    HelpOffer,
    HelpRequest,
    SwarmRegister,
    TaskClaim,
    TaskComplete,
    TaskConfirmed,
    TaskFail,
    TaskRelease,
    TaskSteal,
)

Signal = breakers.Signal


def demand_for(event: Envelope, demand: TaskDemand | None) -> TaskDemand:
    """The board's view of the task when given, else what the claim itself says."""
    if demand is not None:
        return demand
    payload = event.payload
    task_id = str(getattr(payload, "task_id", ""))
    task_type = str(getattr(payload, "task_type", "general"))
    estimate = None
    if isinstance(payload, TaskClaim):
        raw = payload.metadata.get("estimate_hours")
        if isinstance(raw, int | float) and not isinstance(raw, bool) and raw > 0:
            estimate = float(raw)
    return TaskDemand(task_id=task_id, task_type=task_type, estimate_hours=estimate)


def claim_decision(
    policy: Policy, state: GovernorState, event: Envelope, demand: TaskDemand | None
) -> ClaimDecision | None:
    """The decision on a task.claim or task.steal; None for any other event."""
    payload = event.payload
    now = event.timestamp.timestamp()
    if isinstance(payload, TaskClaim):
        return decide_claim(
            policy,
            state,
            swarm_id=payload.swarm_id,
            session=event.source,
            demand=demand_for(event, demand),
            epoch=payload.epoch,
            now=now,
            # A session without a node is registered by its STATUS file, capabilities unknown.
            from_status_file=event.incarnation.startswith(SEED_INCARNATION_PREFIX),
        )
    if isinstance(payload, TaskSteal):
        return decide_claim(
            policy,
            state,
            swarm_id=event.source,
            session=event.source,
            demand=demand_for(event, demand),
            epoch=payload.epoch,
            now=now,
            steal=True,
        )
    return None


Decide = Callable[[Policy, GovernorState, Envelope, TaskDemand | None], ClaimDecision | None]


def fold(
    policy: Policy,
    state: GovernorState,
    event: Envelope,
    demand: TaskDemand | None = None,
    decide: Decide = claim_decision,
) -> GovernorState:
    """The governor's part after ``event``. ``decide`` is :func:`claim_decision`, or a
    memoised form of it: the board asks for admission and then folds, on the same state."""
    payload = event.payload
    now = event.timestamp.timestamp()
    if isinstance(payload, SwarmRegister):
        return replace(state, profiles=register(state.profiles, payload, event.source))
    if isinstance(payload, TaskClaim | TaskSteal):
        if isinstance(payload, TaskClaim):
            state = _note_policy_hash(policy, state, event.source, payload.policy_hash)
        decision = decide(policy, state, event, demand)
        assert decision is not None
        return _apply_claim(policy, state, decision, now)
    if isinstance(payload, ClaimLost | TaskConfirmed):
        losers = [
            r.key
            for r in state.ledger.on_task(payload.task_id)
            if r.kind == ClaimKind and r.ref == str(payload.epoch) and r.session != payload.winner
        ]
        state = replace(state, ledger=state.ledger.release(losers))
        if isinstance(payload, TaskConfirmed):
            state = _reserve_for_git_winner(policy, state, payload, demand_for(event, demand))
        return state
    if isinstance(payload, TaskRelease | TaskFail | TaskComplete):
        return _end_claim(policy, state, event, now)
    if isinstance(payload, HelpRequest):
        return _open_help(policy, state, event, payload, demand, now)
    if isinstance(payload, HelpOffer):
        return _record_offer(state, event.source, payload)
    if isinstance(payload, HelpEscalate):
        return _escalate(policy, state, payload, now)
    if isinstance(payload, BlockerResolved):
        return _close_help(policy, state, payload.task_id, payload.swarm_id, now)
    if isinstance(payload, BreakerReset):
        return _reset_breakers(policy, state, payload, now)
    return state


def _apply_claim(
    policy: Policy, state: GovernorState, decision: ClaimDecision, now: float
) -> GovernorState:
    if not decision.admission.admitted:
        return state
    ledger = state.ledger.release(decision.replaced)
    if decision.reservation is not None:
        ledger = ledger.reserve(decision.reservation)
    state = replace(state, ledger=ledger)
    return _signal(policy, state, decision.probes, Signal.PROBE, now)


def _reserve_for_git_winner(
    policy: Policy, state: GovernorState, confirmed: TaskConfirmed, demand: TaskDemand
) -> GovernorState:
    """Git overrules the mesh: a winner whose claim lost on the mesh (so it reserved nothing)
    holds the task now, and its reservation is made here, without admission — the verdict is
    final, and the mesh winner's reservation it replaces was released just before.

    Nothing on a task the board has COMPLETED: the verdict lands seconds after the claim, and
    an agent may well have completed by then, settling its reservation; made again here, it
    would never end, and count against the winner's budget for good."""
    epoch = str(confirmed.epoch)
    if demand.completed or any(
        r.kind == ClaimKind and r.ref == epoch and r.session == confirmed.winner
        for r in state.ledger.on_task(confirmed.task_id)
    ):
        return state
    profile = state.profiles.get(confirmed.winner)
    limits = policy.limits(demand.task_type)
    hours = demand.estimate_hours if demand.estimate_hours else limits.default_estimate_hours
    reservation = Reservation(
        kind=ClaimKind,
        task_id=confirmed.task_id,
        ref=epoch,
        swarm_id=confirmed.winner,
        session=confirmed.winner,
        amount=micros(hours * profile.cost_per_hour) if profile is not None else 0,
        task_type=demand.task_type,
    )
    return replace(state, ledger=state.ledger.reserve(reservation))


def _end_claim(policy: Policy, state: GovernorState, event: Envelope, now: float) -> GovernorState:
    payload = event.payload
    assert isinstance(payload, TaskRelease | TaskFail | TaskComplete)
    held = [
        r
        for r in state.ledger.on_task(payload.task_id)
        if r.kind == ClaimKind and r.ref == str(payload.epoch) and r.session == event.source
    ]
    if not held:
        return state  # stale epoch, or a claim this governor never admitted
    ledger = state.ledger
    signal: Signal | None = None
    if isinstance(payload, TaskComplete):
        period = period_index(now, policy.budget_period)
        for r in held:
            profile = state.profiles.get(r.swarm_id)
            amount = r.amount
            if payload.actual_hours is not None and profile is not None:
                amount = micros(payload.actual_hours * profile.cost_per_hour)
            ledger = ledger.settle(r.key, amount, period)
        signal = Signal.SUCCESS if payload.tests_pass else Signal.FAILURE
    else:
        ledger = ledger.release(r.key for r in held)
        if isinstance(payload, TaskFail):
            signal = Signal.FAILURE
    state = replace(state, ledger=ledger)
    if isinstance(payload, TaskRelease):
        state = _return_probes(policy, state, held, now)
    if signal is not None:
        keys: list[BreakerKey] = []
        for r in held:
            keys += [(r.swarm_id, SWARM_WIDE), (r.swarm_id, r.task_type)]
        state = _signal(policy, state, keys, signal, now)
    blocked = {r.swarm_id for r in held}
    for swarm_id in sorted(blocked):
        state = _close_help(policy, state, payload.task_id, swarm_id, now)
    return state


def _open_help(
    policy: Policy,
    state: GovernorState,
    event: Envelope,
    request: HelpRequest,
    demand: TaskDemand | None,
    now: float,
) -> GovernorState:
    if event.id in state.help:
        return state
    assignment = assign_helpers(policy, state, request, request_id=event.id, now=now, demand=demand)
    case = HelpCase(
        request_id=event.id,
        task_id=request.task_id,
        blocked_swarm_id=request.blocked_swarm_id,
        requester=event.source,
        helpers=assignment.helpers,
        deadline=assignment.deadline,
    )
    ledger = state.ledger
    for reservation in assignment.reservations:
        ledger = ledger.reserve(reservation)
    return replace(state, ledger=ledger, help={**state.help, event.id: case})


def _record_offer(state: GovernorState, source: str, offer: HelpOffer) -> GovernorState:
    case = state.help.get(offer.request_id)
    profile = state.profiles.get(offer.helper_swarm_id)
    if case is None or profile is None or profile.registrar != source:
        return state
    if offer.helper_swarm_id in case.offers:
        return state
    if offer.helper_swarm_id not in case.helpers and not case.escalated:
        return state  # not asked (yet): an escalation asks everyone
    updated = replace(case, offers=case.offers | {offer.helper_swarm_id})
    return replace(state, help={**state.help, offer.request_id: updated})


def _escalate(
    policy: Policy, state: GovernorState, escalate: HelpEscalate, now: float
) -> GovernorState:
    case = state.help.get(escalate.request_id)
    if case is None or case.escalated:
        return state
    silent = [h for h in case.helpers if h not in case.offers]
    ledger = state.ledger.release((HelpKind, case.task_id, case.request_id, h) for h in silent)
    state = replace(
        state,
        ledger=ledger,
        help={**state.help, case.request_id: replace(case, escalated=True)},
    )
    if now >= case.deadline:
        # A helper that was asked and never answered counts as a failure; an early escalation
        # (a skewed clock) does not blame anyone.
        state = _signal(policy, state, [(h, SWARM_WIDE) for h in silent], Signal.FAILURE, now)
    return state


def _close_help(
    policy: Policy, state: GovernorState, task_id: str, blocked_swarm_id: str, now: float
) -> GovernorState:
    closing = [
        case
        for case in state.help.values()
        if case.task_id == task_id and case.blocked_swarm_id == blocked_swarm_id
    ]
    if not closing:
        return state
    ledger: Ledger = state.ledger
    period = period_index(now, policy.budget_period)
    help_cases = dict(state.help)
    for case in sorted(closing, key=lambda c: c.request_id):
        for helper in case.helpers:
            key = (HelpKind, task_id, case.request_id, helper)
            reservation = ledger.reservations.get(key)
            if reservation is None:
                continue
            if helper in case.offers:  # they came: their time is spent
                ledger = ledger.settle(key, reservation.amount, period)
            else:
                ledger = ledger.release([key])
        del help_cases[case.request_id]
    return replace(state, ledger=ledger, help=help_cases)


def _return_probes(
    policy: Policy, state: GovernorState, released: Iterable[Reservation], now: float
) -> GovernorState:
    """A claim let through a HALF_OPEN breaker and then released never tells whether the swarm
    recovered: its probe is given back, so the breaker is not stuck waiting for it."""
    keys: list[BreakerKey] = []
    for r in released:
        for key in ((r.swarm_id, SWARM_WIDE), (r.swarm_id, r.task_type)):
            limits = policy.base if key[1] == SWARM_WIDE else policy.limits(key[1])
            current = breakers.at(
                state.breaker(key), now, reset_timeout=limits.circuit_breaker_reset_timeout
            )
            if current.state is breakers.HALF_OPEN and current.probes:
                keys.append(key)
    return _signal(policy, state, keys, Signal.PROBE_RETURNED, now)


def _reset_breakers(
    policy: Policy, state: GovernorState, reset: BreakerReset, now: float
) -> GovernorState:
    if reset.task_type is not None:
        keys: list[BreakerKey] = [(reset.swarm_id, reset.task_type)]
    else:  # a swarm-wide reset also closes that swarm's task-type breakers
        keys = sorted(key for key in state.breakers if key[0] == reset.swarm_id)
    return _signal(policy, state, keys, Signal.RESET, now)


def _signal(
    policy: Policy, state: GovernorState, keys: Iterable[BreakerKey], signal: Signal, now: float
) -> GovernorState:
    updated = dict(state.breakers)
    for key in keys:
        limits = policy.base if key[1] == SWARM_WIDE else policy.limits(key[1])
        current = breakers.at(
            updated.get(key, breakers.CLOSED_BREAKER),
            now,
            reset_timeout=limits.circuit_breaker_reset_timeout,
        )
        after = breakers.apply(
            current, signal, now, threshold=limits.circuit_breaker_failure_threshold
        )
        if after == breakers.CLOSED_BREAKER:
            updated.pop(key, None)  # canonical: a healthy breaker is not stored
        else:
            updated[key] = after
    return state if updated == state.breakers else replace(state, breakers=updated)


def _note_policy_hash(
    policy: Policy, state: GovernorState, source: str, claimed: str
) -> GovernorState:
    if not claimed or claimed == policy.hash:
        if source not in state.policy_mismatches:
            return state
        remaining = {k: v for k, v in state.policy_mismatches.items() if k != source}
        return replace(state, policy_mismatches=remaining)
    if state.policy_mismatches.get(source) == claimed:
        return state
    return replace(state, policy_mismatches={**state.policy_mismatches, source: claimed})
