"""The control API's path reservations and their guard (docs/agents.md, docs/control-api.md):
the commands ``reserve``, ``unreserve`` and ``end-session``, and ``check-paths`` (a query, and
a command too, so a client may send its paths as a JSON body).

``reserve`` reads the paths git tracks in the caller's working tree (``cwd``, the directory
the command ran in; none without one): those its patterns match go into the event as
witnesses, so the check before sending, every fold and git judge overlap alike
(:mod:`ifmesh.node.board.reservation_commands`). The reservation is then decided like a claim,
on the mesh or by git (:mod:`ifmesh.node.claims.reserving`): the answer comes once it is.
``check-paths`` answers for this node's board at the time of asking, and carries the room's
``guard`` policy, so a hook that runs before every edit needs no policy file of its own.
"""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from ifmesh.node import errors
from ifmesh.node.board import reservation_commands, reservations
from ifmesh.node.board.errors import ReservationConflict
from ifmesh.node.control.repopaths import repo_relative, repo_root
from ifmesh.node.control.running import RunningNode
from ifmesh.node.control.views import (
    event_summary,
    reservation_document,
    reservations_in_force,
)
from ifmesh.node.protocol.fields import format_timestamp
from ifmesh.node.protocol.messages import Envelope
from ifmesh.node.protocol.payloads import MAX_RESERVATION_TTL_SECONDS

GIT_TIMEOUT = 60.0
DECISION_TIMEOUT = 60.0  # as a claim's: then the reservation is withdrawn (reservation_undecided)
MAX_TIMEOUT = 3600.0


def _strings(body: dict[str, Any], key: str, *, required: bool) -> list[str]:
    """A list of strings from a JSON body, or a JSON array in a query parameter."""
    value = body.get(key)
    if isinstance(value, str):
        try:
            value = json.loads(value) if value.startswith("[") else [value]
        except json.JSONDecodeError as exc:
            raise errors.ConfigError(f"{key}: not a JSON array of strings: {exc}") from None
    if value is None:
        value = []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise errors.ConfigError(f"{key} is a list of strings")
    if required and not value:
        raise errors.ConfigError(f"name at least one of {key}")
    return value


def _ttl(body: dict[str, Any]) -> timedelta:
    raw = body.get("ttl_seconds")
    if raw in (None, ""):
        return reservation_commands.DEFAULT_TTL
    try:
        seconds = float(raw)
    except (TypeError, ValueError):
        seconds = math.nan
    if not 0 < seconds <= MAX_RESERVATION_TTL_SECONDS:
        raise errors.ConfigError(
            f"ttl_seconds is above 0 and at most {MAX_RESERVATION_TTL_SECONDS:g} (a week),"
            f" not {raw!r}"
        )
    return timedelta(seconds=seconds)


def _timeout(body: dict[str, Any]) -> float:
    raw = body.get("timeout")
    if raw in (None, ""):
        return DECISION_TIMEOUT
    try:
        seconds = float(raw)
    except (TypeError, ValueError):
        seconds = math.nan
    if not 0 <= seconds <= MAX_TIMEOUT:
        raise errors.ConfigError(f"timeout is 0 to {MAX_TIMEOUT:g} seconds, not {raw!r}")
    return seconds


async def _tracked(cwd: str | None) -> list[str]:
    """The paths git tracks in the working tree ``cwd`` is in (none without a ``cwd``)."""
    if not cwd:
        return []
    root = repo_root(cwd)
    if root is None:
        raise errors.ConfigError(f"{cwd} is in no git working tree: reserve from inside one")
    process = await asyncio.create_subprocess_exec(
        "git", "-C", root, "ls-files", "-z",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(process.communicate(), GIT_TIMEOUT)
    if process.returncode != 0:
        raise errors.ConfigError(f"git ls-files in {root} failed: {err.decode().strip()}")
    return [p for p in out.decode("utf-8", "surrogateescape").split("\x00") if p]


async def _published(node: RunningNode, events: Sequence[Envelope]) -> list[dict[str, Any]]:
    await node.publish_now(events)
    return [event_summary(e) for e in events]


def _lease(node: RunningNode) -> timedelta:
    return node.replica_or_fail().config.lease


def mine(node: RunningNode, task_id: str | None = None) -> list[dict[str, Any]]:
    """This session's reservations in force (of ``task_id``, or all)."""
    found = reservations_in_force(node.board, node.now(), _lease(node))
    return [
        reservation_document(r)
        for r in found
        if r.session_id == node.session and (task_id is None or r.task_id == task_id)
    ]


async def reserve(node: RunningNode, body: dict[str, Any]) -> dict[str, Any]:
    task_id = body["task"]
    patterns = _strings(body, "patterns", required=True)
    exclusive = body.get("exclusive", True)
    if not isinstance(exclusive, bool):
        raise errors.ConfigError(f"exclusive is true or false, not {exclusive!r}")
    ttl = _ttl(body)
    timeout = _timeout(body)
    tracked = await _tracked(body.get("cwd"))
    replica = node.replica_or_fail()
    event = reservation_commands.reserve(
        replica.log.view(), replica.author, task_id, patterns, node.now(),
        exclusive=exclusive, ttl=ttl, tracked=tracked,
    )  # fmt: skip
    # Folded, published and routed in this one step, before anything else is received.
    decider = node.claims.reservations
    pending = decider.begin(replica.emit([event]))
    outcome = await decider.settle(pending, timeout)
    if outcome.won is None:  # withdrawn, so that it cannot stand later behind the agent's back
        if withdrawn := decider.withdrawal(pending.entries, node.now()):
            await node.publish_now(withdrawn)
        raise errors.ReservationUndecided(
            f"the reservation for {task_id} was not decided within {timeout:g}s, so it is"
            " withdrawn (it cannot stand later); see `ifmesh status` for git's last error,"
            " then reserve again"
        )
    if not outcome.won:
        raise ReservationConflict(
            list(outcome.conflicts), decided_by=outcome.decided_by, why=outcome.why
        )
    result = {
        "task": task_id,
        "epoch": pending.entries[0].epoch,
        "reserved": mine(node, task_id),
        "decided_by": outcome.decided_by,
        "events": [event_summary(event)],
    }
    if outcome.why_git:
        result["why_git"] = outcome.why_git
    return result


async def unreserve(node: RunningNode, body: dict[str, Any]) -> dict[str, Any]:
    patterns = _strings(body, "patterns", required=False)
    task_id = body.get("task") or None
    replica = node.replica_or_fail()
    event = reservation_commands.unreserve(
        replica.log.view(), replica.author, node.now(), patterns=patterns, task_id=task_id
    )
    events = await _published(node, replica.emit([event]))
    return {"task": task_id, "patterns": patterns, "reserved": mine(node), "events": events}


def conflict_document(conflict: reservations.Conflict) -> dict[str, Any]:
    return {
        "path": conflict.path,
        "holder": conflict.holder,
        "task": conflict.task,
        "pattern": conflict.pattern,
        "exclusive": conflict.exclusive,
        "expires_at": format_timestamp(conflict.expires_at),
    }


async def check_paths(node: RunningNode, body: dict[str, Any]) -> dict[str, Any]:
    """Which of ``paths`` another session's exclusive reservation in force covers. Relative
    paths are from the repository's root, or from ``cwd`` when given; paths outside the
    working tree are listed in ``outside`` and never conflict."""
    cwd = body.get("cwd") or None
    named = _strings(body, "paths", required=False)
    checked: list[str] = []
    outside: list[str] = []
    for path in named:
        relative = repo_relative(path, cwd)
        (checked if relative is not None else outside).append(relative or path)
    now, board = node.now(), node.board
    found = reservations.path_conflicts(
        checked, board.reservations.values(), node.session, board.tasks, now, _lease(node)
    )
    return {
        "session": node.session,
        "as_of": format_timestamp(now),
        "paths": checked,
        "outside": outside,
        "conflicts": [conflict_document(c) for c in found],
        "ok": not found,
        "guard": node.policy.guard,
    }


async def end_session(node: RunningNode, body: dict[str, Any]) -> dict[str, Any]:
    """An agent's session ends (`ifmesh agent-hook SessionEnd`): under the room's
    ``agent_session_end: release`` its tasks are given back (their reservations end with
    them); under ``keep`` nothing is sent, and they stay held until the lease runs out."""
    policy = node.policy.agent_session_end
    replica, now = node.replica_or_fail(), node.now()
    held = [t.task_id for t in node.board.held_by(node.session)]
    events: list[Envelope] = []
    if policy == "release":
        for task_id in held:
            events.extend(replica.release(task_id, now))
    summaries = await _published(node, events)
    released = held if policy == "release" else []
    return {
        "session": node.session,
        "policy": policy,
        "released": released,
        "kept": [t for t in held if t not in released],
        "reserved": mine(node),
        "events": summaries,
    }
