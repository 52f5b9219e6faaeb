"""The board as text for a terminal (`ifmesh board`, `ifmesh watch`, `ifmesh up`).

Works on the JSON board document the control API returns, so the CLI renders it without
importing the board or the protocol models.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ifmesh.node.cli.queues import render_queue_lines
from ifmesh.node.cli.reserving import render_reservation_lines

STATUS_ICONS = {
    "AVAILABLE": "🔵",
    "CLAIMED": "🟡",
    "COMPLETED": "🟢",
    "BLOCKED": "🔴",
    "STALE": "🟠",
}


def render_board(document: Mapping[str, Any], *, only_active: bool = False) -> str:
    """A terminal table of a board document (``ifmesh board``, ``ifmesh watch``)."""
    lines = [f"{'ID':<8} {'STATUS':<13} {'OWNER':<18} {'%':>4}  TASK"]
    for task in document["tasks"]:
        if only_active and task["status"] == "COMPLETED":
            continue
        status = f"{STATUS_ICONS.get(task['status'], ' ')} {task['status']}"
        if task["status"] == "CLAIMED" and not task["confirmed"]:
            status += "*"
        owner = task["owner"] or "-"
        percent = f"{task['percent']}%" if task["percent"] else ""
        title = task["title"]
        if task.get("manual_dependency"):
            title += f" (waits on: {task['manual_dependency']})"
        mark = "  ⚠" if task.get("warnings") else ""
        lines.append(f"{task['id']:<8} {status:<13} {owner:<18} {percent:>4}  {title}{mark}")
    lines.append("(* provisional: won on the mesh, not yet confirmed in git)")
    if any(task.get("warnings") for task in document["tasks"]):
        lines.append("(⚠ its row on the board file was read only partly: `ifmesh status` says why)")
    for blocker in document["blockers"]:
        waiting = ", ".join(blocker["waiting"]) or blocker["description"] or "-"
        lines.append(f"blocked: {blocker['session']} on {blocker['task']} waits for {waiting}")
    for request in document["help_requests"]:
        state = "escalated" if request["escalated"] else "open"
        helpers = ", ".join(request["helpers"]) or "none eligible"
        offers = (
            "offers from " + ", ".join(request["offers"]) if request["offers"] else "no offer yet"
        )
        lines.append(
            f"help {state} [{request['id']}]: {request['requester']} on {request['task']} needs "
            f"{', '.join(request['needs'])}; asked {helpers}; {offers}"
        )
    if document["help_requests"]:
        lines.append("(answer a help request with `ifmesh offer REQUEST_ID`)")
    lines += render_queue_lines(document)
    lines += render_reservation_lines(document)
    for session in document.get("unsigned_sessions", ()):
        lines.append(
            f"unsigned: {session} (its events are not signed; accept_unsigned lets them in)"
        )
    unread = [p for p in document.get("read_problems", ()) if not p["partial"]]
    for problem in unread:
        lines.append(f"⚠ not read: {problem['where']}: {problem['reason']}")
    return "\n".join(lines)


def render_readings(status: Mapping[str, Any]) -> list[str]:
    """What the node could not read or the fold refused, for ``ifmesh status``."""
    lines = []
    problems = status.get("read_problems", ())
    if problems:
        lines.append(f"read partly or not at all ({len(problems)}):")
        lines += [f"  {p['where']}: {p['reason']}" for p in problems]
    for task in status.get("completed_without_claim", ()):
        lines.append(f"{task}: completed without a claim (reported in a STATUS file)")
    refusals = status.get("refusals", {})
    if refusals.get("recent"):
        counts = ", ".join(f"{code} {n}" for code, n in refusals["by_code"].items())
        lines.append(f"events the board refused ({counts}); latest:")
        lines += [
            f"  {r['type']} from {r['source']} on {r['task'] or '-'}: {r['code']}: {r['reason']}"
            for r in refusals["recent"][-5:]
        ]
    return lines


def render_takeovers(status: Mapping[str, Any]) -> list[str]:
    """Tasks this session holds because they were taken over for it (``ifmesh status``)."""
    return [
        f"taken over: {t['task']} epoch {t['epoch']} from {t['from']}"
        + ("" if t["confirmed"] else " (not yet confirmed in git)")
        for t in status.get("taken_over", ())
    ]
