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

``reserved:`` lists the paths the session reserved (``paths.reserve``), each with its task, its
mode and when it ends, so that sessions without a node see them; a release of the reservation
or of its task (``task.release``, ``task.complete``, ``task.fail``, a lost claim) drops them.
One that ended otherwise (its time ran out, the task was taken over) stays listed until then,
and its ``until`` says so; the board (`ifmesh board`) has the live answer.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import Any

from ifmesh.node.board.formats.status import StatusFile, render_status
from ifmesh.node.protocol.fields import format_timestamp
from ifmesh.node.protocol.messages import (
    Blocker,
    BlockerResolved,
    ClaimLost,
    Envelope,
    PathsRelease,
    PathsReserve,
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
RESERVED = "reserved"  # likewise


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
    status = _reserved_after(_queued_after(status, event), event)
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


def _reserved_after(status: StatusFile, event: Envelope) -> StatusFile:
    payload = event.payload
    ends_task = TaskRelease | TaskFail | TaskComplete | ClaimLost
    if not isinstance(payload, PathsReserve | PathsRelease | ends_task):
        return status
    listed = status.extra.get(RESERVED)
    before = [dict(r) for r in listed if isinstance(r, dict)] if isinstance(listed, list) else []
    if isinstance(payload, PathsReserve):
        until = format_timestamp(event.timestamp + timedelta(seconds=payload.ttl_seconds))
        mode = "exclusive" if payload.exclusive else "shared"
        fresh = [
            {"pattern": pattern, "task": payload.task_id, "mode": mode, "until": until}
            for pattern in dict.fromkeys(payload.patterns)
        ]
        renewed = {(r["pattern"], r["task"]) for r in fresh}
        after = [r for r in before if (r.get("pattern"), r.get("task")) not in renewed] + fresh
    elif isinstance(payload, PathsRelease):
        after = [r for r in before if not _released(r, payload)]
    else:
        after = [r for r in before if r.get("task") != payload.task_id]
    return _with_extra(status, RESERVED, after) if after != before else status


def _released(entry: dict[str, Any], payload: PathsRelease) -> bool:
    of_task = payload.task_id is None or entry.get("task") == payload.task_id
    return of_task and (not payload.patterns or entry.get("pattern") in payload.patterns)


def _with_extra(status: StatusFile, key: str, value: list[Any]) -> StatusFile:
    extra = {k: v for k, v in status.extra.items() if k != key}
    if value:
        extra[key] = value
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
