"""``ifmesh wait``: return the instant the board says so, never on a timer loop.

Each condition is a predicate on this node's board, checked again on every change of it
(:class:`~ifmesh.node.control.running.BoardChanged`): ``completed`` (the task is COMPLETED),
``unblocked`` (everything this session waits on for it is), ``assigned`` (it is this session's,
taken over for it and decided by git), ``mine`` (it is this session's, decided by git: how a
queued claim ends) and ``asked`` (someone asked this session to release a task it holds).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar

from ifmesh.node import errors
from ifmesh.node.board.errors import NotOwner, TaskCompleted
from ifmesh.node.board.state import Task, TaskStatus
from ifmesh.node.control.running import RunningNode
from ifmesh.node.control.views import task_document

UNTIL = ("completed", "unblocked", "assigned", "mine", "asked")
_T = TypeVar("_T")


async def until(node: RunningNode, predicate: Callable[[], _T | None], timeout: float | None) -> _T:
    """Waits for ``predicate()`` to be truthy, woken by every board change."""
    async with asyncio.timeout(timeout):
        while not (result := predicate()):
            await node.changed.wait()
        return result


def _task(node: RunningNode, task_id: str) -> Task:
    task = node.board.task(task_id)
    if task is None:
        raise errors.CoordinationError(f"no task {task_id} on the board")
    return task


def _document(node: RunningNode, task: Task) -> dict[str, Any]:
    lease = timedelta(seconds=node.config.lease_seconds)
    return task_document(task, node.now(), lease)


async def wait(node: RunningNode, body: dict[str, Any]) -> dict[str, Any]:
    task_id, until_ = body.get("task") or None, body.get("until", "completed")
    if until_ not in UNTIL:
        raise errors.ConfigError(f"--until is one of {', '.join(UNTIL)}, not {until_!r}")
    timeout = body.get("timeout") and float(body["timeout"])
    try:
        if until_ == "assigned":
            return await _assigned(node, task_id, timeout)
        if until_ == "asked":
            return await _asked(node, task_id, timeout)
        if task_id is None:
            raise errors.ConfigError(f"--until {until_} needs a TASK")
        check = _mine if until_ == "mine" else _completed if until_ == "completed" else _unblocked
        _task(node, task_id)  # an unknown task is refused at once
        await until(node, lambda: check(node, task_id), timeout)
    except TimeoutError:
        what = task_id or ("a task taken over" if until_ == "assigned" else "an ask")
        raise errors.CoordinationError(f"timed out waiting for {what} to be {until_}") from None
    return {"task": _document(node, _task(node, task_id)), "until": until_}


def _completed(node: RunningNode, task_id: str) -> bool:
    return _task(node, task_id).status is TaskStatus.COMPLETED


def _unblocked(node: RunningNode, task_id: str) -> bool:
    board, task = node.board, _task(node, task_id)
    blocker = board.blockers.get((node.session, task_id))
    if blocker is not None:
        return not blocker.waiting
    return all(
        (dep := board.task(d)) is not None and dep.status is TaskStatus.COMPLETED
        for d in task.dependencies
    )


def _mine(node: RunningNode, task_id: str) -> bool:
    """Held by this session, decided (on the mesh, or by git); a task completed by another
    ends the wait with a refusal, since it can never be this session's."""
    task = _task(node, task_id)
    decided = task.confirmed or (task_id, task.epoch) in node.claims.won_on_mesh
    if task.owner == node.session and task.held and decided:
        return True
    if task.status is TaskStatus.COMPLETED and task.owner != node.session:
        raise TaskCompleted(task_id, task.owner)
    return False


async def _assigned(
    node: RunningNode, task_id: str | None, timeout: float | None
) -> dict[str, Any]:
    replica, me = node.replica_or_fail(), node.session
    if task_id is not None:
        _task(node, task_id)  # an unknown task is refused at once

    def assigned() -> tuple[Task, str | None] | None:
        taken = {t.task_id: t.previous_owner for t in replica.taken_over() if t.confirmed}
        wanted = task_id or min(taken, default=None)
        task = _task(node, wanted) if wanted is not None else None
        if task is None or not (task.held and task.owner == me and task.confirmed):
            return None
        return task, taken.get(task.task_id)

    task, previous = await until(node, assigned, timeout)
    return {"task": _document(node, task), "until": "assigned", "taken_over_from": previous}


async def _asked(node: RunningNode, task_id: str | None, timeout: float | None) -> dict[str, Any]:
    """An ask-release on ``task_id`` (which this session must hold), or on any task it holds
    (the lowest id)."""
    me = node.session
    if task_id is not None:
        task = _task(node, task_id)
        if not (task.held and task.owner == me):
            holder = task.owner if task.held else "nobody"
            raise NotOwner(f"{task_id} is held by {holder}, not {me}: nobody will ask you for it")

    def asked() -> Task | None:
        held = [_task(node, task_id)] if task_id is not None else node.board.held_by(me)
        return next((t for t in held if t.owner == me and t.held and t.ask is not None), None)

    task = await until(node, asked, timeout)
    return {"task": _document(node, task), "until": "asked"}
