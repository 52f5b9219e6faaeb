"""``reserved:`` in a STATUS file: the session's path reservations, each a git record.

A node writes one entry per pattern of a reservation it won on the mesh or sent to git
(docs/agents.md, "Path reservations"); the first commit in first-parent history whose STATUS
lists an entry is that reservation's record, and an entry that disappears from a later version
of the file is released (:mod:`ifmesh.node.gitsync.reservation_ledger` judges them)::

    reserved:
    - pattern: src/db/**
      task: P0.1.4
      epoch: 0
      mode: exclusive
      since: '2025-11-12T14:30:00.123456Z'
      until: '2025-11-12T16:30:00.123456Z'
      witnesses:
      - src/db/models.py

``since`` is the reservation's own timestamp, the time the fold and git judge it at, so it is
written with its microseconds. Entries are written by hand too (sessions without a node): a
missing ``mode`` is exclusive (the command's default), a missing ``epoch`` is 0 (as for a
confirm record), a missing ``since`` is the commit's time, a missing ``until`` is two hours
later (the command's default TTL). An entry without a pattern or a task reserves nothing and is
skipped, with the reason. ``witnesses`` (the tracked paths its event carried) and ``broad: true``
(it matched more than an event carries) are written only when there are any; a ``witnesses``
that cannot be read makes the entry broad, so that it is judged more strictly, never less
(:mod:`ifmesh.node.board.reservations`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from ifmesh.node.board.formats import statusvalues as values
from ifmesh.node.protocol.fields import format_timestamp

RESERVED = "reserved"  # a key the seed's format does not have: kept with the file's extra keys
DEFAULT_TTL = timedelta(hours=2)


@dataclass(frozen=True, slots=True)
class ReservedEntry:
    """One pattern of one reservation, as its STATUS file records it."""

    pattern: str
    task: str
    epoch: int
    exclusive: bool
    since: datetime
    until: datetime
    witnesses: tuple[str, ...] = ()
    broad: bool = False

    @property
    def key(self) -> tuple[str, int, str]:
        """What one session reserves once at a time: a renewal replaces the entry."""
        return self.task, self.epoch, self.pattern


def entry_document(entry: ReservedEntry) -> dict[str, Any]:
    document: dict[str, Any] = {
        "pattern": entry.pattern,
        "task": entry.task,
        "epoch": entry.epoch,
        "mode": "exclusive" if entry.exclusive else "shared",
        "since": format_timestamp(entry.since),
        "until": format_timestamp(entry.until),
    }
    if entry.witnesses:
        document["witnesses"] = list(entry.witnesses)
    if entry.broad:
        document["broad"] = True
    return document


def read_entries(value: Any, written_at: datetime) -> tuple[list[ReservedEntry], list[str]]:
    """The entries of a ``reserved:`` value, and why any could not be read. ``written_at``
    (the commit's time) stands in for a missing ``since``."""
    if value is None:
        return [], []
    if not isinstance(value, list):
        return [], [f"{RESERVED}: a list of reservations, not {type(value).__name__}"]
    entries: list[ReservedEntry] = []
    problems: list[str] = []
    for number, item in enumerate(value, start=1):
        entry, problem = _entry(item, written_at)
        if entry is not None:
            entries.append(entry)
        if problem is not None:
            problems.append(f"{RESERVED}[{number}]: {problem}")
    return entries, problems


def _entry(item: Any, written_at: datetime) -> tuple[ReservedEntry | None, str | None]:
    if not isinstance(item, Mapping):
        return None, f"a mapping with pattern and task, not {item!r}; skipped"
    pattern = str(item.get("pattern") or "").strip()
    task, _ = values.task(item.get("task"))
    if not pattern or task is None:
        return None, "names no pattern or no task, so it reserves nothing; skipped"
    epoch = item.get("epoch", 0)
    if isinstance(epoch, bool) or not isinstance(epoch, int) or epoch < 0:
        return None, f"epoch must be a whole number ≥ 0, not {epoch!r}; skipped"
    mode = str(item.get("mode") or "exclusive").strip().lower()
    if mode not in ("exclusive", "shared"):
        return None, f"mode is exclusive or shared, not {mode!r}; skipped"
    since, problem = values.timestamp(item.get("since"))
    if problem is not None:
        return None, f"since: {problem}; skipped"
    since = since or written_at
    until, problem = values.timestamp(item.get("until"))
    if problem is not None:
        return None, f"until: {problem}; skipped"
    witnesses, broad = item.get("witnesses") or [], item.get("broad", False)
    problem = None
    if not isinstance(witnesses, list) or not all(isinstance(w, str) and w for w in witnesses):
        witnesses, broad = [], True
        problem = "witnesses is a list of paths; judged as broad"
    elif not isinstance(broad, bool):
        broad, problem = True, f"broad is true or false, not {broad!r}; judged as broad"
    entry = ReservedEntry(
        pattern, task, epoch, mode == "exclusive", since, until or since + DEFAULT_TTL,
        tuple(witnesses), broad,
    )  # fmt: skip
    return entry, problem
