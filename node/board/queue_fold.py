"""The fold of claim-queue and request-release events: ``task.queue``, ``task.unqueue``,
``task.ask_release`` and ``task.keep`` (docs/claims.md, "Claim queues" and
"Request-release").

Judge, then commit, as in :mod:`ifmesh.node.board.reducer`; what a queue *is* — its order, its
turns — lives in :mod:`ifmesh.node.board.queues`. Each event is judged at its own timestamp.
A queue outlives epochs (a waiter wants the task, whoever holds it), so ``task.queue`` is
refused only for an epoch the task has not reached; an ask and its answer name the holder's
epoch exactly, since they are about that tenure.
"""

from __future__ import annotations

from datetime import timedelta

from ifmesh.node.board import queues
from ifmesh.node.board.effects import Effect, ReleaseAsked, ReleaseKept, Unqueued
from ifmesh.node.board.fold import FoldState
from ifmesh.node.board.governance import Governance
from ifmesh.node.board.judgement import Handler, Outcome, Refused, refuse
from ifmesh.node.board.state import BoardConfig, Task, TaskStatus, evolve
from ifmesh.node.protocol import messages as m
from ifmesh.node.protocol.fields import format_timestamp


def _task(state: FoldState, event: m.Envelope, task_id: str, fx: list[Effect]) -> Task | Refused:
    task = state.tasks.get(task_id)
    if task is None:
        return refuse(fx, event, task_id, "unknown_task", f"no task {task_id} on the board")
    return task


def _lapsed(fx: list[Effect], event: m.Envelope, task_id: str, lapsed: tuple[str, ...]) -> None:
    why = f"your turn to claim {task_id} lapsed unclaimed"
    fx.extend(Unqueued(event.id, session, task_id, why) for session in lapsed)


def _queue(
    state: FoldState, event: m.Envelope, config: BoardConfig, gov: Governance, fx: list[Effect]
) -> Outcome:
    p = event.payload
    assert isinstance(p, m.TaskQueue)
    task = _task(state, event, p.task_id, fx)
    if isinstance(task, Refused):
        return task
    source = event.source
    if task.status is TaskStatus.COMPLETED:
        return refuse(fx, event, p.task_id, "task_completed", f"{p.task_id} is COMPLETED")
    if task.held and task.owner == source:
        return refuse(fx, event, p.task_id, "already_holder", f"{source} holds {p.task_id}")
    if p.epoch > task.epoch:
        reason = f"task.queue names epoch {p.epoch}; {p.task_id} is at epoch {task.epoch}"
        return refuse(fx, event, p.task_id, "stale_epoch", reason)

    def commit() -> None:
        joined, lapsed = queues.join(task, source, p.urgency, event.timestamp, config.lease)
        state.put_task(joined)
        _lapsed(fx, event, p.task_id, lapsed)

    return commit


def _unqueue(
    state: FoldState, event: m.Envelope, config: BoardConfig, gov: Governance, fx: list[Effect]
) -> Outcome:
    p = event.payload
    assert isinstance(p, m.TaskUnqueue)
    task = _task(state, event, p.task_id, fx)
    if isinstance(task, Refused):
        return task
    source = event.source
    if all(w.session_id != source for w in task.queue):
        return None  # gone already (it claimed, or its turn lapsed): nothing to change

    def commit() -> None:
        left, lapsed = queues.leave(task, source, event.timestamp, config.lease)
        state.put_task(left)
        _lapsed(fx, event, p.task_id, tuple(s for s in lapsed if s != source))

    return commit


def _ask_release(
    state: FoldState, event: m.Envelope, config: BoardConfig, gov: Governance, fx: list[Effect]
) -> Outcome:
    p = event.payload
    assert isinstance(p, m.TaskAskRelease)
    task = _task(state, event, p.task_id, fx)
    if isinstance(task, Refused):
        return task
    source, at = event.source, event.timestamp
    holder = task.owner
    if not task.held or holder is None:
        return refuse(fx, event, p.task_id, "not_held", f"nobody holds {p.task_id}")
    if holder == source:
        return refuse(fx, event, p.task_id, "already_holder", f"{source} holds {p.task_id}")
    if p.epoch != task.epoch:
        reason = f"task.ask_release names epoch {p.epoch}; {p.task_id} is at epoch {task.epoch}"
        return refuse(fx, event, p.task_id, "stale_epoch", reason)
    if task.ask is not None:
        until = format_timestamp(task.ask.grace_until)
        reason = f"{task.ask.asker} already asked (grace until {until})"
        return refuse(fx, event, p.task_id, "already_asked", reason)
    grace = timedelta(seconds=p.grace_seconds)

    def commit() -> None:
        state.put_task(queues.asked(task, source, p.reason, at, grace))
        fx.append(ReleaseAsked(event.id, holder, p.task_id, p.epoch, source, p.reason, at + grace))

    return commit


def _keep(
    state: FoldState, event: m.Envelope, config: BoardConfig, gov: Governance, fx: list[Effect]
) -> Outcome:
    """Only the holder answers (operator-role answers are not folded yet)."""
    p = event.payload
    assert isinstance(p, m.TaskKeep)
    task = _task(state, event, p.task_id, fx)
    if isinstance(task, Refused):
        return task
    source = event.source
    if not task.held or task.owner != source:
        holder = task.owner if task.held else "nobody"
        reason = f"{p.task_id} is held by {holder}, not {source}: only the holder may keep it"
        return refuse(fx, event, p.task_id, "not_owner", reason)
    if p.epoch != task.epoch:
        reason = f"task.keep names epoch {p.epoch}; {p.task_id} is at epoch {task.epoch}"
        return refuse(fx, event, p.task_id, "stale_epoch", reason)
    ask = task.ask
    if ask is None:
        return refuse(fx, event, p.task_id, "not_asked", f"nobody asked to release {p.task_id}")

    def commit() -> None:
        # The lease is restored: the ask is gone, and this event is the holder's latest.
        state.put_task(evolve(task, ask=None))
        fx.append(ReleaseKept(event.id, ask.asker, p.task_id, p.epoch, source, p.reason))

    return commit


HANDLERS: dict[str, Handler] = {
    "task.queue": _queue,
    "task.unqueue": _unqueue,
    "task.ask_release": _ask_release,
    "task.keep": _keep,
}
