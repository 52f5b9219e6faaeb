"""Sessions waiting: blockers, help requests and offers, and the cascade that wakes waiters.

When a task completes, every task depending on it and every blocker waiting on it is looked
at once, in id order: a free task whose last dependency completed becomes AVAILABLE
(:class:`Available`), and a session whose last awaited task completed gets
:class:`Unblocked` — in every node's own fold, so no message is needed to wake it.
Helpers for a ``help.request`` are the governor's choice, from the board before the request.
"""

from __future__ import annotations

from dataclasses import replace

from ifmesh.node.board import queues, roster
from ifmesh.node.board.effects import (
    Available,
    Effect,
    Escalated,
    HelpOffered,
    HelpWanted,
    Unblocked,
)
from ifmesh.node.board.fold import FoldState
from ifmesh.node.board.governance import Governance
from ifmesh.node.board.judgement import Handler, Outcome, refuse
from ifmesh.node.board.lifecycle import Trigger, next_status
from ifmesh.node.board.state import (
    BlockerRecord,
    BoardConfig,
    HelpOfferRecord,
    HelpRecord,
    TaskStatus,
    evolve,
)
from ifmesh.node.protocol import messages as m


def drop_tenure(state: FoldState, session_id: str, task_id: str) -> None:
    """``session_id`` no longer works on ``task_id``: its blocker and current task go."""
    state.drop_blocker((session_id, task_id))
    roster.clear_current(state, session_id, task_id)


def cascade(state: FoldState, done: str, event: m.Envelope, fx: list[Effect]) -> None:
    """``done`` completed by ``event``: a free task whose last dependency it was becomes
    AVAILABLE (its claim queue's turns start at the event's time), and waiters wake."""
    cause = event.id
    for task_id in sorted(state.dependents.get(done, ())):
        task = state.tasks[task_id]
        if not task.held and task.status is TaskStatus.BLOCKED and state.dependencies_done(task):
            available = evolve(task, status=TaskStatus.AVAILABLE)
            state.put_task(queues.on_free(available, event.timestamp)[0])
            fx.append(Available(cause, None, task_id))
    for key in sorted(state.waiters.get(done, ())):
        blocker = state.blockers[key]
        still = tuple(t for t in blocker.waiting if t != done)
        if still:
            state.put_blocker(replace(blocker, waiting=still))
            continue
        _resolve(state, blocker)
        fx.append(Unblocked(cause, blocker.session_id, blocker.task_id, blocker.blocked_on))


def _resolve(state: FoldState, blocker: BlockerRecord) -> None:
    state.drop_blocker((blocker.session_id, blocker.task_id))
    task = state.tasks.get(blocker.task_id)
    if task is not None and task.owner == blocker.session_id and task.held:
        status = next_status(task.status, True, Trigger.UNBLOCK)
        if status is not None and status is not task.status:
            state.put_task(evolve(task, status=status))


def _blocker(
    state: FoldState, event: m.Envelope, config: BoardConfig, gov: Governance, fx: list[Effect]
) -> Outcome:
    p = event.payload
    assert isinstance(p, m.Blocker)
    for task_id in (p.task_id, *p.blocked_on):
        if task_id not in state.tasks:
            return refuse(fx, event, task_id, "unknown_task", f"no task {task_id} on the board")
    session = event.source
    blocked_on = tuple(dict.fromkeys(p.blocked_on))
    waiting = tuple(t for t in blocked_on if state.tasks[t].status is not TaskStatus.COMPLETED)
    record = BlockerRecord(
        session_id=session,
        task_id=p.task_id,
        blocked_on=blocked_on,
        waiting=waiting,
        blocker_type=p.blocker_type,
        required_capabilities=tuple(p.required_capabilities),
        description=p.description,
        urgency=p.urgency,
        detected_at=p.detected_at,
    )

    def commit() -> None:
        if blocked_on and not waiting:  # everything it names is already done
            state.drop_blocker((session, p.task_id))
            fx.append(Unblocked(event.id, session, p.task_id, blocked_on))
            return
        state.put_blocker(record)
        task = state.tasks[p.task_id]
        if task.owner == session and task.held:
            status = next_status(task.status, True, Trigger.BLOCK)
            if status is not None:
                state.put_task(evolve(task, status=status))

    return commit


def _resolved(
    state: FoldState, event: m.Envelope, config: BoardConfig, gov: Governance, fx: list[Effect]
) -> Outcome:
    p = event.payload
    assert isinstance(p, m.BlockerResolved)
    blocker = state.blockers.get((event.source, p.task_id))
    if blocker is None:
        return None
    return lambda: _resolve(state, blocker)


def _help_request(
    state: FoldState, event: m.Envelope, config: BoardConfig, gov: Governance, fx: list[Effect]
) -> Outcome:
    p = event.payload
    assert isinstance(p, m.HelpRequest)
    if event.id in state.help_requests:
        return None
    helpers = gov.route_help(state.governor, state.view(), event)
    record = HelpRecord(
        request_id=event.id,
        requester=p.blocked_swarm_id,
        task_id=p.task_id,
        required_capabilities=tuple(p.required_capabilities),
        deadline=p.deadline,
        requested_at=event.timestamp,
        description=p.description,
        urgency=p.urgency,
        max_helpers=p.max_helpers,
        helpers=tuple(helpers),
    )

    def commit() -> None:
        state.help_requests[event.id] = record
        for helper in record.helpers:
            fx.append(HelpWanted(event.id, helper, event.id, p.task_id, p.blocked_swarm_id))

    return commit


def _help_offer(
    state: FoldState, event: m.Envelope, config: BoardConfig, gov: Governance, fx: list[Effect]
) -> Outcome:
    p = event.payload
    assert isinstance(p, m.HelpOffer)
    request = state.help_requests.get(p.request_id)
    if request is None:
        return refuse(fx, event, p.task_id, "unknown_request", f"no help request {p.request_id}")
    helper = event.source
    if any(offer.helper == helper for offer in request.offers):
        return None
    offer = HelpOfferRecord(helper, tuple(p.capabilities), p.estimated_cost, p.message)

    def commit() -> None:
        state.help_requests[p.request_id] = replace(request, offers=(*request.offers, offer))
        fx.append(HelpOffered(event.id, request.requester, p.request_id, p.task_id, helper))

    return commit


def _help_escalate(
    state: FoldState, event: m.Envelope, config: BoardConfig, gov: Governance, fx: list[Effect]
) -> Outcome:
    p = event.payload
    assert isinstance(p, m.HelpEscalate)
    request = state.help_requests.get(p.request_id)
    if request is None:
        return refuse(fx, event, p.task_id, "unknown_request", f"no help request {p.request_id}")
    if request.escalated:
        return None

    def commit() -> None:
        state.help_requests[p.request_id] = replace(request, escalated=True)
        fx.append(Escalated(event.id, None, p.request_id, p.task_id, request.requester))

    return commit


HANDLERS: dict[str, Handler] = {
    "blocker": _blocker,
    "blocker.resolved": _resolved,
    "help.request": _help_request,
    "help.offer": _help_offer,
    "help.escalate": _help_escalate,
    **roster.HANDLERS,
}
