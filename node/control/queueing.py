"""The control API's claim-queue and request-release commands (docs/claims.md, "Claim queues"
and "Request-release"), and what ``status`` and ``next`` show of them.

``claim`` with ``queue`` joins the task's queue when the task is not this session's to take
now (:func:`queue_instead`, which the claim handler asks first); on a free task whose turn is
open or this session's it answers None, and the claim goes on as any claim. Each command
judges against this node's board and returns at once with what it emitted, or raises the
board's typed refusal (nothing is sent then).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from ifmesh.node import errors
from ifmesh.node.board import queues
from ifmesh.node.board.errors import AlreadyHolder, TaskCompleted, UnknownTask
from ifmesh.node.board.state import Task, TaskStatus
from ifmesh.node.control.running import RunningNode
from ifmesh.node.control.views import event_summary
from ifmesh.node.protocol.fields import Urgency, format_timestamp
from ifmesh.node.protocol.messages import Envelope

URGENCIES: tuple[Urgency, ...] = ("low", "medium", "high", "critical")


def _lease(node: RunningNode) -> timedelta:
    return node.replica_or_fail().config.lease


def _task(node: RunningNode, task_id: str) -> Task:
    task = node.board.task(task_id)
    if task is None:
        raise UnknownTask(f"no task {task_id} on the board (check the id with `ifmesh board`)")
    return task


def _text(body: dict[str, Any], key: str, what: str) -> str:
    value = body.get(key)
    if not isinstance(value, str) or not value.strip():
        raise errors.ConfigError(f"say why with --{key}: {what}")
    return value.strip()


async def _published(node: RunningNode, events: tuple[Envelope, ...]) -> list[dict[str, Any]]:
    await node.publish_now(events)
    return [event_summary(e) for e in events]


async def queue_instead(node: RunningNode, body: dict[str, Any]) -> dict[str, Any] | None:
    """``claim --queue``: joins the task's queue and answers ``queued``; None when the task is
    free for this session to claim now (the claim goes on). Already queued at the same urgency:
    answered again, nothing sent."""
    if not body.get("queue"):
        return None
    task_id, me, now, lease = body["task"], node.session, node.now(), _lease(node)
    task = _task(node, task_id)
    if task.status is TaskStatus.COMPLETED:
        raise TaskCompleted(task_id, task.owner)
    if task.held and task.owner == me:
        raise AlreadyHolder(task_id)
    if not task.held and queues.turn(task, now, lease) in (None, me):
        return None
    urgency: Urgency = body.get("urgency") or "medium"
    if urgency not in queues.WEIGHTS:
        raise errors.ConfigError(
            f"--urgency is one of {', '.join(queues.WEIGHTS)}, not {urgency!r}"
        )
    waiter = next((w for w in task.queue if w.session_id == me), None)
    again = waiter is not None and waiter.urgency == urgency
    events = () if again else node.replica_or_fail().queues.join(task_id, now, urgency=urgency)
    summaries = await _published(node, events)
    task = _task(node, task_id)
    return {
        "task": task_id,
        "epoch": task.epoch,
        "queued": True,
        "already_queued": again,
        "urgency": urgency,
        "position": queues.position(task, me, now, lease),
        "queue_length": len(task.queue),
        "holder": task.owner if task.held else None,
        "turn": queues.turn(task, now, lease),
        "events": summaries,
    }


async def unqueue(node: RunningNode, body: dict[str, Any]) -> dict[str, Any]:
    events = node.replica_or_fail().queues.leave(body["task"], node.now())
    return {"task": body["task"], "events": await _published(node, events)}


async def ask_release(node: RunningNode, body: dict[str, Any]) -> dict[str, Any]:
    """Asks the holder to release; its lease shortens to the policy's ``ask_release_grace``."""
    reason = _text(body, "reason", "the holder's agent reads it")
    grace = timedelta(seconds=node.policy.ask_release_grace)
    replica, task_id = node.replica_or_fail(), body["task"]
    events = replica.queues.ask_release(task_id, reason, node.now(), grace=grace)
    task = _task(node, task_id)
    result = {"task": task_id, "events": await _published(node, events)}
    return result | {"holder": task.owner, "grace_until": _ask_until(task)}


async def keep(node: RunningNode, body: dict[str, Any]) -> dict[str, Any]:
    """The holder keeps the task it was asked to release (the asker is told)."""
    reason = _text(body, "reason", "the asker's agent reads it")
    task_id = body["task"]
    asked_by = ask.asker if (ask := _task(node, task_id).ask) is not None else None
    events = node.replica_or_fail().queues.keep(task_id, reason, node.now())
    return {"task": task_id, "asked_by": asked_by, "events": await _published(node, events)}


def _ask_until(task: Task) -> str | None:
    return format_timestamp(task.ask.grace_until) if task.ask is not None else None


# --- what status and next show ----------------------------------------------------------------


def status_part(node: RunningNode) -> dict[str, Any]:
    """For ``status``: asks on the tasks this session holds, the asks it made, its queues."""
    me, now = node.session, node.now()
    tasks = sorted(node.board.tasks.values(), key=lambda t: t.task_id)
    asked = [
        {"task": t.task_id, "asker": t.ask.asker, "reason": t.ask.reason,
         "grace_until": format_timestamp(t.ask.grace_until)}
        for t in tasks if t.held and t.owner == me and t.ask is not None
    ]  # fmt: skip
    asking = [
        {"task": t.task_id, "holder": t.owner, "grace_until": format_timestamp(t.ask.grace_until)}
        for t in tasks if t.held and t.ask is not None and t.ask.asker == me
    ]  # fmt: skip
    return {"asked": asked, "asking": asking, "queued": queued(node, now)}


def queued(node: RunningNode, now: datetime) -> list[dict[str, Any]]:
    """The queues this session waits in: its place, whose turn or holding it waits behind."""
    me, lease, found = node.session, _lease(node), []
    for _, task in sorted(node.board.tasks.items()):
        place = queues.position(task, me, now, lease)
        if place is not None:
            waiter = next(w for w in task.queue if w.session_id == me)
            found.append(
                {
                    "task": task.task_id,
                    "position": place,
                    "queue_length": len(task.queue),
                    "urgency": waiter.urgency,
                    "holder": task.owner if task.held else None,
                    "turn": queues.turn(task, now, lease),
                }
            )
    return found


def turns(node: RunningNode, now: datetime) -> dict[str, str]:
    """Free tasks whose claim queue has an open turn, and whose turn it is (for ``next``)."""
    lease = _lease(node)
    found = {t.task_id: queues.turn(t, now, lease) for t in node.board.tasks.values()}
    return {task_id: session for task_id, session in found.items() if session is not None}
