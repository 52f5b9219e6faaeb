"""The board as text for a terminal (`ifmesh board`, `ifmesh watch`, `ifmesh up`).

Works on the JSON board document the control API returns, so the CLI renders it without
importing the board or the protocol models.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

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
        lines.append(f"{task['id']:<8} {status:<13} {owner:<18} {percent:>4}  {task['title']}")
    lines.append("(* provisional: won on the mesh, not yet confirmed in git)")
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
    return "\n".join(lines)
