"""Reading the values of a STATUS file as sessions write them.

Each reader returns the value, or None with the reason it could not (the caller reports it with
the key's line). Task ids are found inside text (``current_task: "P0.5.2 - governor docs"``);
completed tasks come as one id, a list, ``P0.1.1: Signaling ✅`` items or a comma list;
timestamps as ISO 8601 (with ``Z``, an offset, a space, or none), ``date``'s default output,
RFC 2822, or seconds since the epoch; sessions as ids, however cased or spaced.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, date, datetime
from email.utils import parsedate_to_datetime
from typing import Any

TASK_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")  # a value that is one id, "A" too
TASK_IN_TEXT = re.compile(r"(?<![\w.])([A-Za-z]+\d*(?:\.\d+)+)(?![\w])")
SESSION_ID = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
NO_TASK = {"", "none", "null", "-", "~", "idle", "n/a", "nothing", "waiting", "polling"}
_ID_KEYS = ("id", "task", "task_id")  # the key of a mapping that names its task
_DONE_WORDS = {"completed", "complete", "done", "finished", "merged", "✅", "passed", "true"}
_DATE_FORMATS = (
    "%a %b %d %H:%M:%S %Z %Y",  # date's default output
    "%a %d %b %Y %H:%M:%S %Z",
    "%Y-%m-%d %H:%M %Z",
    "%Y-%m-%d %H:%M",
    "%Y/%m/%d %H:%M:%S",
    "%d/%m/%Y %H:%M",
    "%B %d, %Y %H:%M",
    "%b %d, %Y %H:%M",
)


def text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}: {v}" for k, v in value.items())
    return str(value)


def task(value: Any) -> tuple[str | None, str | None]:
    """(task id, problem): the first task id in the value; none for ``none``, ``idle``…"""
    if value is None or isinstance(value, bool):
        return None, None
    words = text(value) or ""
    if words.strip().lower() in NO_TASK:
        return None, None
    if TASK_ID.match(words.strip()):
        return words.strip(), None
    found = TASK_IN_TEXT.search(words)
    if found is None:
        return None, f"{words!r} names no task id like 'P0.5.2'"
    return found.group(1), None


def tasks(values: Iterable[Any]) -> tuple[str, ...]:
    """Every task id in the values: single ids, lists, ``{P0.1.1: "done ✅"}`` items (the keys
    are the ids), ``{id: P0.1.1, title: …}`` items (the ``id`` or ``task`` names it), text."""
    found: list[str] = []
    seen: set[int] = set()  # YAML aliases can make a list hold itself

    def walk(value: Any) -> None:
        if value is None or isinstance(value, bool):
            return
        if isinstance(value, list | tuple | dict):
            if id(value) in seen:
                return
            seen.add(id(value))
            named = [value[k] for k in _ID_KEYS if k in value] if isinstance(value, dict) else []
            for item in named[:1] or value:
                walk(str(item) if isinstance(value, dict) and not named else item)
        else:
            words = str(value).strip()
            found.extend([words] if TASK_ID.match(words) else TASK_IN_TEXT.findall(words))

    for value in values:
        walk(value)
    return tuple(dict.fromkeys(found))


def nested_tasks(value: Any) -> tuple[tuple[str, ...], str | None]:
    """A map of task → state (``tasks: {P0.1.1: completed, P0.1.2: {status: in progress}}``):
    (the completed ones, the one in progress)."""
    if not isinstance(value, dict):
        return (), None
    done: list[str] = []
    working: str | None = None
    for key, state in value.items():
        found = TASK_IN_TEXT.search(str(key))
        if found is None:
            continue
        if isinstance(state, dict):
            state = state.get("status", state.get("state", ""))
        words = str(state).lower()
        if any(word in words for word in _DONE_WORDS) or words.strip() == "100%":
            done.append(found.group(1))
        elif working is None and words.strip() not in NO_TASK | {"available", "todo", "blocked"}:
            working = found.group(1)
    return tuple(done), working


def timestamp(value: Any) -> tuple[datetime | None, str | None]:
    """(UTC time, problem). A time without a zone is read as UTC, as git does."""
    if value is None or value == "":
        return None, None
    parsed: datetime | None = None
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, date):
        parsed = datetime(value.year, value.month, value.day)
    elif isinstance(value, int | float) and not isinstance(value, bool):
        seconds = value / 1000 if value > 1e12 else value  # milliseconds, as JavaScript writes
        try:
            parsed = datetime.fromtimestamp(seconds, UTC)
        except (OverflowError, OSError, ValueError):
            parsed = None
    elif isinstance(value, str):
        parsed = _from_text(value.strip())
    try:
        if parsed is not None:
            utc = parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
            return utc, None
    except OverflowError:  # year 1 at +01:00 is before year 1 in UTC
        pass
    return None, f"{value!r} is not a timestamp like 2025-11-12T14:30:00Z"


def _from_text(value: str) -> datetime | None:
    iso = re.sub(r"\s*(?:UTC|GMT|Z)$", "+00:00", value) if not value.endswith("Z") else value
    for candidate in (value, iso):
        try:
            return datetime.fromisoformat(candidate)
        except ValueError:
            pass
    try:
        return parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        pass
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(value, fmt)
        except ValueError:
            continue
    return None


def session(value: Any) -> str | None:
    """``Session-4-SIP``, ``session 4 (SIP)`` → ``session-4-sip``; None when nothing fits."""
    words = (text(value) or "").strip().lower()
    candidate = re.sub(r"[\s_]+", "-", words)
    candidate = re.sub(r"[^a-z0-9._-]", "", candidate).strip("-.")
    candidate = re.sub(r"-{2,}", "-", candidate)
    return candidate if SESSION_ID.match(candidate) else None


def tests_pass(value: Any) -> tuple[bool | None, str | None]:
    if value is None or isinstance(value, bool):
        return value, None
    words = str(value).strip().lower()
    if words in ("true", "yes", "y", "pass", "passed", "passing", "green", "ok", "✅"):
        return True, None
    if words in ("false", "no", "n", "fail", "failed", "failing", "red", "❌"):
        return False, None
    if re.match(r"^\d+\s+passed(?:,\s*0\s+failed)?$", words):
        return True, None
    return None, f"tests_pass {value!r} is not true or false"
