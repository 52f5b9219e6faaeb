"""The board file's one writer, and what it writes: git-confirmed Status and Owner cells.

The scribe is the lowest session id, among sessions with a node (an event log in git), whose
STATUS on the coordination branch is fresh — decided from git alone, so every node agrees on
it up to clock skew (two scribes for a moment only render the same projection twice).

The cells come from a small fold of what git holds, in the total order ``(lamport, source,
seq)``: a node's claim counts only where the confirm ledger names it the winner of (task,
epoch); a claim derived from a seed session's STATUS counts when the task is free and git
confirmed no one else for that epoch; completions, blockers, releases and failures count from
the owner at the current epoch. A held task whose owner's last event is older than the lease
at ``now`` shows as ``🟠 STALE``. Tasks git says nothing about keep their cells.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from ifmesh.node.board.formats.cellrender import CellTargets, Rendered, render, targets
from ifmesh.node.board.formats.status import StatusFile
from ifmesh.node.board.formats.taskboard import CellUpdate, parse_task_board
from ifmesh.node.board.state import TaskStatus
from ifmesh.node.gitsync.confirm import ConfirmLedger
from ifmesh.node.gitsync.errors import BoardUnparseable
from ifmesh.node.gitsync.paths import BOARD_PATH
from ifmesh.node.gitsync.seedstatus import INCARNATION_PREFIX
from ifmesh.node.protocol.messages import (
    Blocker,
    BlockerResolved,
    Envelope,
    TaskClaim,
    TaskComplete,
    TaskFail,
    TaskRelease,
    TaskSteal,
)


def choose_scribe(
    statuses: Mapping[str, StatusFile],
    node_sessions: Iterable[str],
    now: datetime,
    freshness: timedelta,
) -> str | None:
    fresh = [
        session
        for session in node_sessions
        if (status := statuses.get(session)) is not None
        and status.last_seen is not None
        and now - status.last_seen <= freshness
    ]
    return min(fresh) if fresh else None


# What an event does to a task's cell, for the scribe (None: nothing; it only says its author
# was alive at its timestamp).
Effect = Literal["claim", "complete", "block", "unblock", "free"] | None
_EFFECTS: tuple[tuple[tuple[type, ...], Effect], ...] = (
    ((TaskClaim, TaskSteal), "claim"), ((TaskComplete,), "complete"), ((Blocker,), "block"),
    ((BlockerResolved,), "unblock"), ((TaskRelease, TaskFail), "free"),
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Fact:
    """What the scribe reads of one event, and all that git's reader keeps of it: a board of
    thousands of tasks holds as many events, and the whole event (its signature, its fields
    the scribe never reads) costs some 20 times this."""

    lamport: int
    source: str
    seq: int
    timestamp: datetime
    seed: bool  # from a seed session's STATUS (its claims count by other rules)
    effect: Effect
    task_id: str | None
    epoch: int | None


def fact_of(event: Envelope, names: dict[str, str] | None = None) -> Fact:
    """What the scribe reads of ``event``; with ``names``, its strings are the ones held there
    (a day's facts held a copy of the session's name and the task's id each)."""
    payload = event.payload
    effect = next((e for kind, e in _EFFECTS if isinstance(payload, kind)), None)
    task_id = getattr(payload, "task_id", None) if effect is not None else None
    epoch = getattr(payload, "epoch", None) if effect is not None else None
    source, task_id = event.source, task_id if isinstance(task_id, str) else None
    if names is not None:
        source = names.setdefault(source, source)
        task_id = names.setdefault(task_id, task_id) if task_id is not None else None
    return Fact(
        event.lamport, source, event.seq, event.timestamp,
        event.incarnation.startswith(INCARNATION_PREFIX), effect,
        task_id, epoch if isinstance(epoch, int) else None,
    )  # fmt: skip


class ScribeFacts:
    """What the scribe keeps of a log as it is read: each fact that changes a cell, and per
    session only the newest timestamp of the others (a progress report, a renewal: they only
    say that their author was alive then). A long day's log is mostly those, and every node
    keeps this, since any may become the scribe."""

    def __init__(self, events: Iterable[Envelope] = ()) -> None:
        self.changing: dict[tuple[str, str, int], Fact] = {}  # by (source, incarnation, seq)
        self.alive: dict[str, datetime] = {}
        # One str per session, incarnation and task, not one per fact (a Phase-0 day's facts
        # held some 150 bytes each of copies).
        self._names: dict[str, str] = {}
        self.extend(events)

    def extend(self, events: Iterable[Envelope]) -> None:
        names = self._names
        for event in events:
            fact = fact_of(event, names)
            if fact.effect is not None:
                incarnation = names.setdefault(event.incarnation, event.incarnation)
                self.changing[(fact.source, incarnation, event.seq)] = fact
            else:
                alive(self.alive, fact.source, fact.timestamp)

    def noting(self, events: Iterable[Envelope]) -> Iterator[Envelope]:
        """``events``, each kept as it passes (one pass reads a log and keeps its facts)."""
        for event in events:
            self.extend((event,))
            yield event


def alive(into: dict[str, datetime], source: str, at: datetime) -> None:
    """Records that ``source`` was alive ``at``, keeping the newest time."""
    seen = into.get(source)
    if seen is None or at > seen:
        into[source] = at


@dataclass
class _Cell:
    status: TaskStatus = TaskStatus.AVAILABLE
    owner: str | None = None
    epoch: int = 0


def confirmed_cells(
    events: Iterable[Envelope | Fact],
    ledger: ConfirmLedger,
    now: datetime,
    lease: timedelta,
    alive_at: Mapping[str, datetime] | None = None,
) -> dict[str, CellUpdate]:
    """The Status and Owner cells git confirms; ``alive_at``: sessions' newest timestamps
    of events not among ``events`` (:class:`ScribeFacts`)."""
    facts = [e if isinstance(e, Fact) else fact_of(e) for e in events]
    cells: dict[str, _Cell] = {}
    last_event: dict[str, datetime] = dict(alive_at or {})
    for fact in sorted(facts, key=lambda f: (f.lamport, f.source, f.seq)):
        source = fact.source
        alive(last_event, source, fact.timestamp)
        if fact.task_id is None:
            continue
        if fact.effect == "claim":
            assert fact.epoch is not None
            cell = cells.setdefault(fact.task_id, _Cell())
            record = ledger.winner(fact.task_id, fact.epoch)
            if fact.seed:  # a seed session's claim
                free = cell.status is TaskStatus.AVAILABLE or cell.owner == source
                counts = record is None and free
            else:
                counts = record is not None and record.session == source
            if counts and cell.status is not TaskStatus.COMPLETED and fact.epoch >= cell.epoch:
                cell.status, cell.owner, cell.epoch = TaskStatus.CLAIMED, source, fact.epoch
            continue
        found = cells.get(fact.task_id)
        if found is None or found.owner != source:
            continue
        epoch = found.epoch if fact.epoch is None else fact.epoch
        if epoch != found.epoch:
            continue  # fenced: an old epoch's owner
        if fact.effect == "complete":
            found.status = TaskStatus.COMPLETED
        elif fact.effect == "block" and found.status is TaskStatus.CLAIMED:
            found.status = TaskStatus.BLOCKED
        elif fact.effect == "unblock" and found.status is TaskStatus.BLOCKED:
            found.status = TaskStatus.CLAIMED
        elif fact.effect == "free" and found.status in (TaskStatus.CLAIMED, TaskStatus.BLOCKED):
            found.status, found.owner, found.epoch = TaskStatus.AVAILABLE, None, found.epoch + 1
    updates = {}
    for task_id, cell in cells.items():
        held = cell.owner is not None and cell.status in (TaskStatus.CLAIMED, TaskStatus.BLOCKED)
        seen = last_event.get(cell.owner) if cell.owner else None
        stale = held and (seen is None or now - seen >= lease)
        updates[task_id] = CellUpdate(cell.status, cell.owner, stale=stale)
    return updates


def render_board(text: str, updates: Mapping[str, CellUpdate]) -> str:
    """The board with only those cells rewritten. Rows the reader could not read stay as they
    are; BoardUnparseable when the file no longer holds any task table to render into."""
    return render_targets(targets(parse_task_board(text, BOARD_PATH)), updates).text


def render_targets(board: CellTargets, updates: Mapping[str, CellUpdate]) -> Rendered:
    """:func:`render_board` on a board already read (the scribe keeps what a render needs of
    the last one read: reading is the costly part), able to tell what a render needs of the
    board it returns without reading it (so the scribe's own commit is not read again)."""
    if updates and not board.has_rows:
        raise BoardUnparseable(
            f"{BOARD_PATH} has no task table any more; the scribe leaves the board as it is until"
            " someone restores it (only Status and Owner cells are ever rewritten)"
        )
    return render(board, updates)


STARTER_BOARD = """\
# Phase 0 Task Board

**Protocol:** claim by writing `claiming: <ID>` in your STATUS file (or `ifmesh claim <ID>`);
the Status and Owner cells below are re-rendered from git-confirmed state, edit everything else.

## Primary Tasks

| ID | Task | Status | Owner | Dependencies | Deliverable | Est | Model |
|----|------|--------|-------|--------------|-------------|-----|-------|
| P0.0.1 | Replace this row with real tasks | 🔵 AVAILABLE | - | None | `TASKS.md` | 30m | Haiku |

## Filler Tasks

| ID | Task | Description | Est |
|----|------|-------------|-----|
"""
