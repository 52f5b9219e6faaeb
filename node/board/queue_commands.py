"""Commands on claim queues and request-release, judged against a node's board at ``now``.

As in :mod:`ifmesh.node.board.commands`: board, author and ``now`` in, the event to emit out,
or a typed refusal with a message a person can act on, and nothing is emitted.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from ifmesh.node.board.commands import Author
from ifmesh.node.board.errors import (
    AlreadyAsked,
    AlreadyHolder,
    NotAsked,
    NotHeld,
    NotOwner,
    NotQueued,
    TaskCompleted,
    UnknownTask,
)
from ifmesh.node.board.state import Board, Task, TaskStatus
from ifmesh.node.protocol import messages as m
from ifmesh.node.protocol.fields import Urgency, format_timestamp


def _task(board: Board, task_id: str) -> Task:
    task = board.tasks.get(task_id)
    if task is None:
        raise UnknownTask(f"no task {task_id} on the board (check the id with `ifmesh board`)")
    return task


def queue(
    board: Board, author: Author, task_id: str, now: datetime, *, urgency: Urgency = "medium"
) -> m.Envelope:
    """Joins ``task_id``'s claim queue (or changes this session's urgency in it)."""
    task = _task(board, task_id)
    if task.status is TaskStatus.COMPLETED:
        raise TaskCompleted(task_id, task.owner)
    if task.held and task.owner == author.session_id:
        raise AlreadyHolder(task_id)
    payload = m.TaskQueue(task_id=task_id, epoch=task.epoch, urgency=urgency)
    return author.stamp(payload, now)


def unqueue(board: Board, author: Author, task_id: str, now: datetime) -> m.Envelope:
    task = _task(board, task_id)
    if all(w.session_id != author.session_id for w in task.queue):
        raise NotQueued(task_id)
    return author.stamp(m.TaskUnqueue(task_id=task_id), now)


def ask_release(
    board: Board, author: Author, task_id: str, reason: str, now: datetime, *, grace: timedelta
) -> m.Envelope:
    """Asks the holder to release ``task_id``; its lease shortens to ``grace`` from ``now``."""
    task = _task(board, task_id)
    if not task.held or task.owner is None:
        raise NotHeld(task_id)
    if task.owner == author.session_id:
        raise AlreadyHolder(task_id)
    if task.ask is not None:
        until = format_timestamp(task.ask.grace_until)
        raise AlreadyAsked(task_id, task.ask.asker, task.owner, until)
    payload = m.TaskAskRelease(
        task_id=task_id, epoch=task.epoch, reason=reason, grace_seconds=grace.total_seconds()
    )
    return author.stamp(payload, now)


def keep(board: Board, author: Author, task_id: str, reason: str, now: datetime) -> m.Envelope:
    """The holder's answer to an ask: it keeps the task (only the holder may answer)."""
    task = _task(board, task_id)
    if not task.held or task.owner != author.session_id:
        holder = task.owner if task.held else "nobody"
        raise NotOwner(
            f"only {task_id}'s holder may keep it, and that is {holder}, not"
            f" {author.session_id} (answers by an operator are not supported yet)"
        )
    if task.ask is None:
        raise NotAsked(task_id)
    return author.stamp(m.TaskKeep(task_id=task_id, epoch=task.epoch, reason=reason), now)
