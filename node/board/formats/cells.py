"""Reading one task-board cell as people write it. Each reader returns the value and, when it
could not read the cell fully, why (the row then shows a warning mark; the file is untouched).

The vocabulary is the specification: status words with or without their emoji and synonyms
such as "done" or "in progress", or a status emoji alone (the board's badges, ✅, ⏳); owners
as ``@session-2``, bold or links; estimates as ``1h``, ``1.5 hours``, ``90 min`` or ``1h30m``.
"""

from __future__ import annotations

import functools
import re

from ifmesh.node.board.formats.markdown import plain
from ifmesh.node.board.state import TaskStatus

TASK_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")
SESSION_ID = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")

STATUS_WORDS: dict[str, TaskStatus | None] = {
    "available": TaskStatus.AVAILABLE,
    "open": TaskStatus.AVAILABLE,
    "todo": TaskStatus.AVAILABLE,
    "to do": TaskStatus.AVAILABLE,
    "not started": TaskStatus.AVAILABLE,
    "ready": TaskStatus.AVAILABLE,
    "free": TaskStatus.AVAILABLE,
    "unclaimed": TaskStatus.AVAILABLE,
    "pending": TaskStatus.AVAILABLE,
    "claimed": TaskStatus.CLAIMED,
    "in progress": TaskStatus.CLAIMED,
    "wip": TaskStatus.CLAIMED,
    "active": TaskStatus.CLAIMED,
    "started": TaskStatus.CLAIMED,
    "working": TaskStatus.CLAIMED,
    "assigned": TaskStatus.CLAIMED,
    "completed": TaskStatus.COMPLETED,
    "complete": TaskStatus.COMPLETED,
    "done": TaskStatus.COMPLETED,
    "finished": TaskStatus.COMPLETED,
    "merged": TaskStatus.COMPLETED,
    "blocked": TaskStatus.BLOCKED,
    "waiting": TaskStatus.BLOCKED,
    "on hold": TaskStatus.BLOCKED,
    "stale": None,  # the scribe's judgement on a claim; the claim itself stands
}
# An emoji alone says the status too: the board's own badges (taskboard.STATUS_BADGES) first.
_STATUS_EMOJI: dict[str, TaskStatus | None] = {
    "🔵": TaskStatus.AVAILABLE,
    "🟡": TaskStatus.CLAIMED,
    "🟢": TaskStatus.COMPLETED,
    "🔴": TaskStatus.BLOCKED,
    "🟠": None,  # STALE
    "✅": TaskStatus.COMPLETED,
    "✔": TaskStatus.COMPLETED,
    "⏳": TaskStatus.CLAIMED,
}
NO_OWNER = {"", "-", "--", "—", "–", "none", "nobody", "unassigned", "tbd", "n/a", "na", "?"}
_ESTIMATE_PART = re.compile(
    r"(\d+(?:\.\d+)?)\s*(d|days?|h|hrs?|hours?|m|mins?|minutes?)(?![a-z])", re.I
)
_BARE_HOURS = re.compile(r"^~?\s*(\d+(?:\.\d+)?)$")
_UNIT_HOURS = {"d": 8.0, "h": 1.0, "m": 1 / 60}
# Status, owner and estimate cells repeat down a board ("🔵 AVAILABLE", "-", "1h"): their
# readings are kept (the values are immutable), so a board of thousands of rows reads fast.
_KEPT_READINGS = 1024


def task_id(cell: str) -> str | None:
    """The id in an ID cell (``**P0.1.1**``, ``[P0.1.1](#…)``, ``P0.1.1:``), else None.

    An id has a digit: ``TBD``, ``TODO`` or ``-`` in the ID column is a row still to come."""
    text = plain(cell).rstrip(":").strip()
    return text if TASK_ID.match(text) and any(ch.isdigit() for ch in text) else None


@functools.lru_cache(maxsize=_KEPT_READINGS)
def status(cell: str) -> tuple[TaskStatus, bool, str | None]:
    """(status, shown stale, problem). Unknown words read as AVAILABLE, with the reason."""
    text = plain(cell)
    words = re.sub(r"[^a-z ]+", " ", text.lower()).split()
    phrase = " ".join(words)
    for candidate in (phrase, " ".join(words[:2]), " ".join(words[:1])):
        if candidate in STATUS_WORDS:
            found = STATUS_WORDS[candidate]
            return (TaskStatus.CLAIMED, True, None) if found is None else (found, False, None)
    for emoji, badge in _STATUS_EMOJI.items():
        if emoji in text:
            return (TaskStatus.CLAIMED, True, None) if badge is None else (badge, False, None)
    return (
        TaskStatus.AVAILABLE,
        False,
        f"status {text!r} is not one of AVAILABLE, CLAIMED, COMPLETED, BLOCKED; read as AVAILABLE",
    )


@functools.lru_cache(maxsize=_KEPT_READINGS)
def owner(cell: str) -> tuple[str | None, str | None]:
    """(session id or None, problem): ``@Session-2-WebRTC`` → ``session-2-webrtc``."""
    text = plain(cell).lstrip("@").strip()
    if text.lower() in NO_OWNER:
        return None, None
    candidate = re.sub(r"[\s_]+", "-", text.lower())
    candidate = re.sub(r"[^a-z0-9._-]", "", candidate).strip("-.")
    if SESSION_ID.match(candidate):
        return candidate, None
    return None, f"owner {text!r} is not a session id like 'session-2-webrtc'; read as no owner"


@functools.lru_cache(maxsize=_KEPT_READINGS)
def estimate(cell: str) -> tuple[float | None, str | None]:
    """(hours, problem): ``1h``, ``1.5 hours``, ``30m``, ``1h30m``, ``2-3h`` (the upper end)."""
    text = plain(cell).lower().replace(",", ".")
    if text in ("", "-", "?", "tbd", "n/a"):
        return None, None
    parts = [float(n) * _UNIT_HOURS[unit[0].lower()] for n, unit in _ESTIMATE_PART.findall(text)]
    if parts:
        # "1h30m" adds up; a range ("2-3h", "1h - 2h") counts its upper end.
        ranged = re.search(r"\d\s*[a-z]*\s*(?:-|–|to)\s*\d", text)
        return round(max(parts) if ranged else sum(parts), 4), None
    bare = _BARE_HOURS.match(text)
    if bare:
        return float(bare.group(1)), None
    return None, f"estimate {plain(cell)!r} is not like '1h', '1.5h' or '30m'; read as unknown"
