"""The STATUS file a node writes for its own session, in the seed's format.

The node's STATUS follows its own events: a confirm record (``claiming:`` with ``epoch:``),
milestones (``milestone: "50% - text"``), completion (``completed:``, ``deliverable:``,
``tests_pass:``) and blockers (``blocked_on:``). The event log stays the authority; this file is
what people and the seed's polling loops read, and what the confirm ledger judges. Rendering is
the board's (:func:`ifmesh.node.board.formats.status.render_status`).

``queued:`` lists the tasks whose claim queue the session joined (``task.queue``) and has not
left since by its own events: an unqueue, or its claim or takeover of the task. A queue ended
by others (the task completed, a turn that lapsed) stays listed until one of those; the board
(`ifmesh status`) has the live answer.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from types import MappingProxyType

from ifmesh.node.board.formats.status import StatusFile, render_status
from ifmesh.node.protocol.messages import (
    Blocker,
    BlockerResolved,
    ClaimLost,
    Envelope,
    TaskClaim,
    TaskComplete,
    TaskFail,
    TaskProgress,
    TaskQueue,
    TaskRelease,
    TaskSteal,
    TaskUnqueue,
)

QUEUED = "queued"  # a key the seed's format does not have: kept with the file's extra keys


def initial_status(session: str, branch: str) -> StatusFile:
    return StatusFile(session=session, status="idle", current_task="none", branch=branch)


def with_confirm_record(status: StatusFile, task: str, epoch: int) -> StatusFile:
    """``claiming: TASK`` with its epoch: the record the first-parent history judges."""
    return replace(
        _cleared(status),
        status="claiming",
        claiming=task,
        current_task=task,
        epoch=epoch,
        milestone="0% - Starting task",
    )


def after_event(status: StatusFile, event: Envelope) -> StatusFile:
    """The STATUS once ``event`` (one of this session's own) has happened."""
    status = _queued_after(status, event)
    payload = event.payload
    if isinstance(payload, TaskProgress):
        keep_blocker = status.current_task == payload.task_id
        return replace(
            _cleared(status),
            status="working",
            current_task=payload.task_id,
            epoch=payload.epoch,
            milestone=f"{payload.percent}% - {payload.milestone}".rstrip(" -"),
            blocked_on=status.blocked_on if keep_blocker else (),
        )
    if isinstance(payload, TaskComplete):
        return replace(
            _cleared(status),
            status="completed",
            completed=payload.task_id,
            epoch=payload.epoch,
            milestone="100% - Complete",
            deliverable=payload.deliverable or None,
            tests_pass=payload.tests_pass,
        )
    if isinstance(payload, Blocker):
        return replace(
            status,
            status="blocked",
            blocked_on=tuple(payload.blocked_on),
            next_action=payload.description or status.next_action,
        )
    if isinstance(payload, BlockerResolved):
        return replace(status, status="working", blocked_on=(), next_action=None)
    if isinstance(payload, TaskRelease | TaskFail | ClaimLost) and payload.task_id in (
        status.claiming,
        status.current_task,
    ):
        return replace(_cleared(status), status="idle")
    return status


def _queued_after(status: StatusFile, event: Envelope) -> StatusFile:
    payload = event.payload
    if not isinstance(payload, TaskQueue | TaskUnqueue | TaskClaim | TaskSteal):
        return status
    listed = status.extra.get(QUEUED)
    before = [str(t) for t in listed] if isinstance(listed, list) else []
    after = [t for t in before if t != payload.task_id]
    if isinstance(payload, TaskQueue):
        after.append(payload.task_id)
    if after == before:
        return status
    extra = {k: v for k, v in status.extra.items() if k != QUEUED}
    if after:
        extra[QUEUED] = after
    return replace(status, extra=MappingProxyType(extra))


def after_claim_lost(status: StatusFile, task: str) -> StatusFile:
    """Drops a confirm record the git tier judged lost, so the file stops claiming it."""
    if task in (status.claiming, status.current_task):
        return replace(_cleared(status), status="idle")
    return status


def stamped(status: StatusFile, now: datetime) -> StatusFile:
    return replace(status, timestamp=now, last_poll=None)


def render(status: StatusFile) -> bytes:
    return render_status(status).encode()


def _cleared(status: StatusFile) -> StatusFile:
    return replace(
        status,
        claiming=None,
        current_task="none",
        completed=None,
        epoch=None,
        milestone=None,
        deliverable=None,
        tests_pass=None,
        blocked_on=(),
        next_action=None,
    )
