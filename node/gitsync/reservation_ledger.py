"""Git-tier path reservations: which records stand, judged from the branch alone.

A reservation's record is an entry of its session's STATUS ``reserved:`` list
(:mod:`ifmesh.node.board.formats.reserved`); the first commit in first-parent history whose
version of the file lists it is where the record is, and a later version that no longer lists
it releases it. Walking the history from the root, a new record *stands* unless, at its own
``since``, an earlier standing record of another session conflicts with it by the fold's rule
(:func:`ifmesh.node.board.reservations.overlap`: exclusive on either side, and a pattern
without wildcards, or a tracked path either entry lists as a witness, that both match; a broad
entry by its directory). An earlier record counts while it is

* not released (its session's STATUS still lists it),
* not past its ``until`` at the new record's ``since``,
* not fenced: git names no other session as the winner of its (task, epoch), and no winner
  of a later epoch of its task (the confirm records of :mod:`ifmesh.node.gitsync.confirm`,
  fed in beside it, commit by commit).

A record that does not stand *lost*: it never counts against a later one, and its session's
node withdraws it. A changed entry (a renewal: new ``since`` and ``until``, or a new mode) is a
new record, judged again. Several STATUS files changed by one commit: releases first, then new
records by session id (as two confirm records in one commit, the lower id first). Every reader
of the branch gets the same answers; docs/agents.md gives the argument that they are the
mesh's, whenever the mesh decided.

Pure and thread-confined: the bridge's reader folds commits in its worker thread; the node's
loop reads :meth:`ReservationLedger.standing`, a tuple replaced (never changed) per commit.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from ifmesh.node.board.errors import InvalidPattern
from ifmesh.node.board.formats.reserved import RESERVED, ReservedEntry, read_entries
from ifmesh.node.board.formats.status import StatusFile
from ifmesh.node.board.reservations import compile_pattern, overlap
from ifmesh.node.gitsync.confirm import ConfirmRecord

RecordKey = tuple[str, str, int, str]  # (session, task, epoch, pattern)
VersionKey = tuple[str, str, int, str, datetime]  # … and its since


@dataclass(frozen=True, slots=True)
class ReservationRecord:
    session: str
    entry: ReservedEntry
    commit: str  # the first commit listing this version of the entry

    @property
    def key(self) -> RecordKey:
        return (self.session, *self.entry.key)

    @property
    def version(self) -> VersionKey:
        return (*self.key, self.entry.since)


@dataclass(frozen=True, slots=True)
class ReservationVerdict:
    """Git's answer on one record: it stands, or lost to ``against`` (over ``witness``), or
    lost because git gave its task at that epoch to another session (``why``)."""

    record: ReservationRecord
    stands: bool
    against: ReservationRecord | None = None
    witness: str | None = None
    why: str = ""


def conflicting(entry: ReservedEntry, session: str, earlier: ReservationRecord) -> str | None:
    """The witness over which ``earlier`` (standing) keeps ``session``'s ``entry`` out."""
    if earlier.session == session or not (earlier.entry.exclusive or entry.exclusive):
        return None
    if earlier.entry.until <= entry.since:
        return None
    return overlap(entry, earlier.entry)


class ReservationLedger:
    def __init__(self) -> None:
        # Each session's entries as its latest STATUS version lists them.
        self._listed: dict[str, dict[tuple[str, int, str], ReservedEntry]] = {}
        self._standing: dict[RecordKey, ReservationRecord] = {}
        self._verdicts: dict[VersionKey, ReservationVerdict] = {}
        self._winners: dict[tuple[str, int], str] = {}  # confirm records: (task, epoch) → session
        self._top: dict[str, int] = {}  # the highest epoch of each task git confirmed
        self._view: tuple[ReservationRecord, ...] = ()
        # What the latest STATUS version of each session could not say of its reservations.
        self.problems: dict[str, list[str]] = {}

    # --- folding -------------------------------------------------------------------------

    def apply(
        self,
        commit: str,
        committed_at: datetime,
        files: Iterable[tuple[str, StatusFile]],
        confirmed: Iterable[ConfirmRecord] = (),
    ) -> list[ReservationVerdict]:
        """Folds the next commit: the STATUS files it changed (path, parsed) and the confirm
        records that won in it. Returns a verdict for each new record."""
        for record in confirmed:
            self._winners[(record.task, record.epoch)] = record.session
            self._top[record.task] = max(self._top.get(record.task, 0), record.epoch)
        versions: list[tuple[str, dict[tuple[str, int, str], ReservedEntry]]] = []
        for _path, status in sorted(files, key=lambda pair: pair[1].session):
            versions.append((status.session, self._entries(status, committed_at)))
        for session, now in versions:  # releases (and replaced versions) first
            for key, entry in self._listed.get(session, {}).items():
                if now.get(key) != entry:
                    self._standing.pop((session, *key), None)
        verdicts: list[ReservationVerdict] = []
        for session, now in versions:
            before = self._listed.get(session, {})
            for key, entry in now.items():
                if before.get(key) != entry:
                    verdicts.append(self._judge(ReservationRecord(session, entry, commit)))
            self._listed[session] = now
        if versions:
            self._view = tuple(record for _, record in sorted(self._standing.items()))
        return verdicts

    def _entries(
        self, status: StatusFile, committed_at: datetime
    ) -> dict[tuple[str, int, str], ReservedEntry]:
        entries, problems = read_entries(status.extra.get(RESERVED), committed_at)
        found: dict[tuple[str, int, str], ReservedEntry] = {}
        for entry in entries:
            try:
                compile_pattern(entry.pattern)
            except InvalidPattern as exc:  # it reserves nothing: never a record
                problems.append(f"{RESERVED}: {exc}; skipped")
                continue
            found[entry.key] = entry  # listed twice: the later line, as YAML keeps it
        if problems:
            self.problems[status.session] = problems
        else:
            self.problems.pop(status.session, None)
        return found

    def _judge(self, record: ReservationRecord) -> ReservationVerdict:
        verdict = self._verdict_for(record)
        self._verdicts[record.version] = verdict
        if verdict.stands:
            self._standing[record.key] = record
        return verdict

    def _verdict_for(self, record: ReservationRecord) -> ReservationVerdict:
        if why := self.fenced(record):
            return ReservationVerdict(record, False, why=why)
        for _, earlier in sorted(self._standing.items()):
            if self.fenced(earlier):
                continue
            witness = conflicting(record.entry, record.session, earlier)
            if witness is not None:
                return ReservationVerdict(record, False, earlier, witness)
        return ReservationVerdict(record, True)

    def fenced(self, record: ReservationRecord) -> str:
        """Why git says ``record``'s tenure is over ("" while it is not)."""
        task, epoch = record.entry.task, record.entry.epoch
        top = self._top.get(task)
        if top is not None and top > epoch:
            return f"git confirmed {task} at epoch {top}, past the reservation's {epoch}"
        winner = self._winners.get((task, epoch))
        if winner is not None and winner != record.session:
            return f"git gave {task} epoch {epoch} to {winner}"
        return ""

    # --- reading -------------------------------------------------------------------------

    def verdict(self, session: str, entry: ReservedEntry) -> ReservationVerdict | None:
        """Git's verdict on ``session``'s ``entry`` (this version of it), once it landed."""
        return self._verdicts.get((session, *entry.key, entry.since))

    def standing(self) -> tuple[ReservationRecord, ...]:
        """The records standing now (a snapshot; some may be past their ``until``)."""
        return self._view

    def against(self, session: str, entry: ReservedEntry) -> list[tuple[str, ReservationRecord]]:
        """The standing records that would beat ``session``'s ``entry`` if it landed now."""
        found = []
        for earlier in self._view:
            if self.fenced(earlier):
                continue
            witness = conflicting(entry, session, earlier)
            if witness is not None:
                found.append((witness, earlier))
        return found


class AwaitedRecords:
    """This node's records waiting for git's verdict (the bridge's, under its lock)."""

    def __init__(self) -> None:
        self._entries: set[ReservedEntry] = set()

    def add(self, entries: Iterable[ReservedEntry]) -> None:
        self._entries.update(entries)

    def take(
        self,
        ledger: ReservationLedger,
        session: str,
        now: datetime,
        settled: StatusFile | None = None,
    ) -> tuple[list[ReservationVerdict], list[ReservedEntry]]:
        """The verdicts git has given since (a record that never reached git: one with no
        ``commit``, ``stands`` false), and the records among them that lost. A record never
        reaches git when it was released before it was pushed (the pending commits are
        squashed): so one past its end, or missing from ``settled`` — this session's STATUS
        once every commit of it is on the branch as read — gets no verdict any more."""
        listed: set[ReservedEntry] = set()
        if settled is not None:
            listed = set(read_entries(settled.extra.get(RESERVED), now)[0])
        verdicts: list[ReservationVerdict] = []
        for entry in sorted(self._entries, key=lambda e: (e.since, e.key)):
            verdict = ledger.verdict(session, entry)
            if verdict is None and (entry.until < now or (settled and entry not in listed)):
                verdict = ReservationVerdict(ReservationRecord(session, entry, ""), False)
            if verdict is not None:
                verdicts.append(verdict)
                self._entries.discard(entry)
        return verdicts, [v.record.entry for v in verdicts if not v.stands and v.record.commit]
