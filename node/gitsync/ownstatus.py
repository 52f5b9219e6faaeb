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

``reserved:`` lists the session's path reservations, each with its task, epoch, mode, since
and until (:mod:`ifmesh.node.board.formats.reserved`): each entry is the reservation's git
record, so one is written only for a reservation won on the mesh or sent to git
(:func:`with_reservation_records`, as a confirm record is), never for every ``paths.reserve``
sent. A release of the reservation or of its task (``task.release``, ``task.complete``,
``task.fail``, a lost claim) drops it, and so does git's verdict that it lost
(:func:`without_reservation_records`). One that ended otherwise (its time ran out, the task
was taken over) stays listed until then, and its ``until`` says so; the board (`ifmesh board`)
has the live answer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from types import MappingProxyType
from typing import Any

from ifmesh.node.board.formats.reserved import RESERVED, ReservedEntry, entry_document
from ifmesh.node.board.formats.status import StatusFile, render_status
from ifmesh.node.protocol.messages import (
    Blocker,
    BlockerResolved,
    ClaimLost,
    Envelope,
    PathsRelease,
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
    if not isinstance(payload, PathsRelease | ends_task):
        return status
    before = _listed(status)
    if isinstance(payload, PathsRelease):
        after = [r for r in before if not _released(r, payload)]
    else:
        after = [r for r in before if r.get("task") != payload.task_id]
    return _with_extra(status, RESERVED, after) if after != before else status


def with_reservation_records(status: StatusFile, entries: Sequence[ReservedEntry]) -> StatusFile:
    """The records of a reservation won on the mesh or sent to git: each entry replaces the
    one for its task and pattern (a renewal is a new record)."""
    fresh = [entry_document(e) for e in entries]
    renewed = {(r["pattern"], r["task"]) for r in fresh}
    kept = [r for r in _listed(status) if (r.get("pattern"), r.get("task")) not in renewed]
    return _with_extra(status, RESERVED, kept + fresh)


def without_reservation_records(status: StatusFile, entries: Sequence[ReservedEntry]) -> StatusFile:
    """Drops records git judged lost (only those very versions: a newer one stays)."""
    lost = [entry_document(e) for e in entries]
    before = _listed(status)
    after = [r for r in before if r not in lost]
    return _with_extra(status, RESERVED, after) if after != before else status


def _listed(status: StatusFile) -> list[dict[str, Any]]:
    listed = status.extra.get(RESERVED)
    return [dict(r) for r in listed if isinstance(r, dict)] if isinstance(listed, list) else []


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
