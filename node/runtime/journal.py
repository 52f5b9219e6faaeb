"""This session's sent events, kept in its state directory from before they leave the process
until git's chain holds them.

The git bridge commits in batches (200 ms by default). A node killed inside a batch window
has already sent its newest events on the mesh: some peers folded them, git never got them,
and without this file the restarted node would go on above them (its seq reservation says they
were sent) while its own log in git has a hole that no peer ever fills, since catch-up carries
a session's own events only. So every event is appended here first, in one ``write`` (the
kernel finishes it even under ``kill -9``), and a restart hands the events beyond its chain to
the bridge and the fold again (:meth:`Node._start_git`).

It also keeps this session's confirm records (``{"confirm_record": [task, epoch]}`` lines),
written before a claim won on the mesh is answered: the record's commit follows a moment later
(gitsync/schedule.py: ANSWERED_DELAY), and a node killed in between must not withdraw at its
restart a claim its agent was told it won (ClaimDecider.settle_inherited), nor leave the record
unwritten once the task is done (ClaimDecider.rewrite_journaled). Soaks found one of each.

The file only ever needs the events git's chain does not hold yet, and the newest records:
once it passes :data:`COMPACT_BYTES` it is rewritten with those alone. Like the seq
reservation it does not survive a power loss before writeback; git's log is the record for
that.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import orjson
import structlog

from ifmesh.node import errors
from ifmesh.node.protocol import codec
from ifmesh.node.protocol.messages import Envelope

log = structlog.get_logger(__name__)

JOURNAL_FILE = "journal.jsonl"
COMPACT_BYTES = 1 << 20  # rewritten past this size: a few thousand events, a few ms
RECORDS_KEPT = 64  # a record is committed within a batch window: the newest few are enough
RECORD_KEY = "confirm_record"


@dataclass(frozen=True)
class JournalLine:
    """A line of the journal that is no IFMessage (a disk fault, a hand edit): skipped."""

    number: int
    reason: str


class Journal:
    def __init__(self, directory: Path) -> None:
        self.path = directory / JOURNAL_FILE
        # What an earlier process left, in the order it sent them, and what could not be read.
        self.at_open, self.records_at_open, self.problems = read_journal(self.path)
        self._unsaved: deque[tuple[int, bytes]] = deque(
            (event.seq, codec.encode(event) + b"\n") for event in self.at_open
        )
        self._records: deque[bytes] = deque(
            (_record_line(*key) for key in self.records_at_open), maxlen=RECORDS_KEPT
        )
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        self._size = os.fstat(self._fd).st_size
        self.failing = False  # the last write (events or a record) failed (logged once per outage)

    def unsaved(self, saved_seq: int) -> list[Envelope]:
        """The events an earlier process sent beyond ``saved_seq`` (the last in its chain).
        Those at or below it are forgotten: up to a megabyte of journal, decoded, would
        otherwise stay in memory for the life of the process."""
        self.at_open = [event for event in self.at_open if event.seq > saved_seq]
        return list(self.at_open)

    def append(self, events: Iterable[Envelope], saved_seq: int) -> None:
        """Appends ``events`` (this session's, just published) in one write; ``saved_seq`` is
        the last seq git's chain holds, below which nothing needs keeping."""
        lines = [(event.seq, codec.encode(event) + b"\n") for event in events]
        note = "events still go to git; a kill -9 before their commit may lose one"
        # Only what git's chain lacks is ever rewritten: the rest need not wait in memory for
        # the next compaction (a megabyte of lines, most of them saved long ago).
        unsaved = self._unsaved
        while unsaved and unsaved[0][0] <= saved_seq:
            unsaved.popleft()
        try:
            if self._size > COMPACT_BYTES:
                self._compact()
        except OSError as exc:
            self._failed(exc, note)
            return
        if self._write(b"".join(line for _, line in lines), note):
            unsaved.extend(lines)

    def record(self, task: str, epoch: int) -> None:
        """A confirm record of this session for (``task``, ``epoch``), in one write, before the
        claim's answer (see the module docstring)."""
        line = _record_line(task, epoch)
        if self._write(line, "a kill -9 before the record's commit may withdraw a claim told won"):
            self._records.append(line)

    def _write(self, data: bytes, note: str) -> bool:
        """One write; False if the disk refused it. A full or failing disk must not stop an
        event or a record on its way to git and the mesh: what it costs (``note``) is the
        protection against a kill before the commit, so that is said, once per outage."""
        try:
            os.write(self._fd, data)
        except OSError as exc:
            self._failed(exc, note)
            return False
        self.failing = False
        self._size += len(data)
        return True

    def _failed(self, exc: OSError, note: str) -> None:
        if not self.failing:
            log.error("node.journal_unwritable", path=str(self.path), error=str(exc), note=note)
        self.failing = True

    def _compact(self) -> None:
        """Rewrites the file with the events git's chain does not hold yet (write, rename)."""
        data = b"".join(line for _, line in self._unsaved) + b"".join(self._records)
        temporary = self.path.with_suffix(".tmp")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, data)
        finally:
            os.close(fd)
        temporary.replace(self.path)  # a kill before this leaves the old file, still whole
        os.close(self._fd)
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND, 0o600)
        self._size = len(data)

    def close(self) -> None:
        os.close(self._fd)


def _record_line(task: str, epoch: int) -> bytes:
    return orjson.dumps({RECORD_KEY: [task, epoch]}) + b"\n"


def _record_of(line: bytes) -> tuple[str, int] | None:
    """The (task, epoch) of a confirm record line; None for any other line."""
    if not line.startswith(b'{"' + RECORD_KEY.encode()):
        return None
    try:
        task, epoch = orjson.loads(line)[RECORD_KEY]
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
        return None
    if not isinstance(task, str) or type(epoch) is not int:
        return None
    return task, epoch


def read_journal(
    path: Path,
) -> tuple[list[Envelope], list[tuple[str, int]], list[JournalLine]]:
    """The journal's events in order, its confirm records, and its lines that are neither."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return [], [], []
    events: list[Envelope] = []
    records: list[tuple[str, int]] = []
    problems: list[JournalLine] = []
    for number, line in enumerate(data.splitlines(), start=1):
        if not line.strip():
            continue
        if (record := _record_of(line)) is not None:
            records.append(record)
            continue
        try:
            events.append(codec.decode(line))
        except errors.ProtocolError as exc:
            problems.append(JournalLine(number, str(exc)))
    for problem in problems:
        log.warning(
            "node.journal_line_skipped", path=str(path), line=problem.number, reason=problem.reason
        )
    return events, records, problems
