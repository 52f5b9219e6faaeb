"""This session's own commits: its event log and STATUS file, and nothing else.

Every commit of the chain carries the log's directory as committed so far (its segments:
:mod:`ifmesh.node.gitsync.segments`; a commit adds one file with its own lines) and the STATUS
after it, so a commit can be replayed anywhere. A "rebase" onto a freshly fetched branch tip is
a replay of the pending commits (those not yet on the remote) onto that tip, each keeping its
message: no textual merge is ever needed, because no one else writes these files. The same
replay recovers from a force-push: if the branch lacks lines of our log or holds a STATUS that
is not ours, one more commit puts them back. Lines in our log on the branch that we never wrote
mean a second writer: another incarnation of this session stops us (:class:`IncarnationConflict`).

The scribe's board commit is always the chain's last and is never replayed: the board is a
projection, re-rendered from whatever the branch holds.

Refs in the bridge's clone: ``refs/heads/<branch>`` is the chain's tip, ``refs/ifmesh/base``
the remote tip it was built on; ``base..tip`` are the pending commits.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime
from types import MappingProxyType

from ifmesh.node.board.formats.reserved import ReservedEntry
from ifmesh.node.board.formats.status import StatusFile
from ifmesh.node.gitsync import ownstatus
from ifmesh.node.gitsync.batch import CommitPlan
from ifmesh.node.gitsync.clone import Clone, CommitInfo
from ifmesh.node.gitsync.confirm import ALSO_CLAIMING, ConfirmRecord, records_in
from ifmesh.node.gitsync.errors import CorruptStatus, MalformedLogLine
from ifmesh.node.gitsync.eventlog import (
    ResumePoint,
    check_foreign,
    foreign_lines,
    parse_log,
    resume_point,
)
from ifmesh.node.gitsync.paths import BOARD_PATH, session_of_status, status_path
from ifmesh.node.gitsync.scribe import ScribeFacts
from ifmesh.node.gitsync.segments import OwnLog, files_in_order, log_files_of
from ifmesh.node.gitsync.statusfiles import read_status
from ifmesh.node.identity.keys import PublicKey
from ifmesh.node.protocol import codec
from ifmesh.node.protocol.messages import Envelope

BASE_REF = "refs/ifmesh/base"
_ALSO_CLAIMING_BLOCK = re.compile(rb"^also_claiming:\n(?:- .*\n)*", re.MULTILINE)
BOARD_MESSAGE = "chore: Update PHASE-0-TASK-BOARD.md from git-confirmed state"


class OwnChain:
    def __init__(self, clone: Clone, *, session: str, branch: str, incarnation: str) -> None:
        self._clone = clone
        self.session = session
        self._branch = branch
        self._incarnation = incarnation
        self._status_path = status_path(session)
        self.log = OwnLog(clone.objects, session)
        self.status: StatusFile = ownstatus.initial_status(session, branch)
        self.facts = ScribeFacts()  # what the scribe reads of every event of our log
        self._loaded: list[tuple[str, bytes]] = []  # what load() read (take_loaded decodes it)
        # The last seq committed in the state directory (read from the event loop: an int,
        # set only once its commit is written; node.runtime.journal keeps what lies beyond).
        self.saved_seq = 0
        self._pending = 0  # commits base..tip, kept here so status checks run no git
        # What the pending commits carry, kept in memory so a replay reads nothing back from
        # git: their confirm records and message parts, oldest first. None: not known yet
        # (commits left in the state directory by an earlier process), read once from git.
        self._queued: _Queued | None = _Queued()
        # Our log on the branch (old-layout file, segments' directory), as last found clean.
        self._checked: tuple[bytes | None, bytes | None] | None = None
        self._rendered: tuple[StatusFile, bytes] | None = None
        self.own_key: PublicKey | None = None  # signed events: only it speaks for our log

    @property
    def clone(self) -> Clone:
        return self._clone

    # --- refs --------------------------------------------------------------------------------

    @property
    def tip(self) -> str | None:
        return self._clone.ref(self._clone.local_ref)

    @property
    def base(self) -> str | None:
        return self._clone.ref(BASE_REF)

    def pending(self) -> int:
        return self._pending

    def _count_pending(self) -> int:
        tip = self.tip
        if tip is None:
            return 0
        return len(self._since_base(tip))

    def _since_base(self, tip: str) -> list[CommitInfo]:
        """Our commits on top of the base; none if the base is not below the tip."""
        return self._clone.first_parent_history(tip, self.base) or []

    def mark_pushed(self, sha: str) -> None:
        self._clone.set_ref(BASE_REF, sha)
        if sha == self.tip:
            self._pending = 0
            self._queued = _Queued()
        else:
            self._pending = self._count_pending()
            self._queued = None

    # --- start -------------------------------------------------------------------------------

    def load(self, remote_tip: str | None, now: datetime) -> ResumePoint:
        """Resumes from the local chain (state directory), else from the branch in git."""
        tip = self.tip
        source = tip or remote_tip
        if tip is None and remote_tip is not None:
            self._clone.set_ref(self._clone.local_ref, remote_tip)
            self._clone.set_ref(BASE_REF, remote_tip)
        contents = self.log.load(self._clone.root_tree(source) if source else None)
        self._status_path = self._own_status_path(source)
        data = self._clone.read(source, self._status_path) if source else None
        status = None
        if data is not None:
            try:
                status = read_status(data, self._status_path)
            except CorruptStatus:
                status = None  # our own file: rewritten at the next commit
        if status is not None and ALSO_CLAIMING in status.extra:
            extra = {k: v for k, v in status.extra.items() if k != ALSO_CLAIMING}
            status = replace(status, extra=MappingProxyType(extra))
        self.status = status or ownstatus.stamped(
            ownstatus.initial_status(self.session, self._branch), now
        )
        self.facts = ScribeFacts()
        resume = resume_point(self.facts.noting(self._messages(contents)))
        self._loaded = contents  # decoded again by take_loaded: a day's log decoded is 3x this
        self._pending = self._count_pending()
        self._queued = _Queued() if self._pending == 0 else None
        self.saved_seq = resume.seq
        return resume

    def take_loaded(self) -> Iterator[Envelope]:
        """The events load() read, once, decoded as taken; the chain keeps their facts (1/20)."""
        contents, self._loaded = self._loaded, []
        return self._messages(contents)

    def _messages(self, contents: list[tuple[str, bytes]]) -> Iterator[Envelope]:
        for path, data in contents:
            yield from parse_log(data.decode("utf-8", "replace"), path, self.session).messages

    def commit(self, plan: CommitPlan, now: datetime) -> str:
        lines = b"".join(codec.encode(event) + b"\n" for event in plan.events)
        status = self.status
        for event in plan.events:
            status = ownstatus.after_event(status, event)
        if plan.confirm is not None:
            status = ownstatus.with_confirm_record(status, plan.confirm.task, plan.confirm.epoch)
        if plan.reserved:  # path reservations' records (node.gitsync.reservation_ledger)
            status = ownstatus.with_reservation_records(status, plan.reserved)
        self.log.append(lines)
        self.facts.extend(plan.events)
        self.status = ownstatus.stamped(status, now)
        record = (plan.confirm.task, plan.confirm.epoch) if plan.confirm is not None else None
        sha = self._commit_own(plan.message(self.session), record)
        if plan.events:
            self.saved_seq = plan.events[-1].seq
        return sha

    def refresh_status(self, now: datetime) -> str:
        self.status = ownstatus.stamped(self.status, now)
        return self._commit_own(f"chore: Update {self.session} status")

    def reconfirm(self, records: list[ConfirmRecord], now: datetime) -> None:
        """Writes confirm records again that a force-push erased, one commit each; the STATUS
        goes back to what it was at the next commit."""
        current = self.status
        for record in records:
            self.status = ownstatus.stamped(
                ownstatus.with_confirm_record(current, record.task, record.epoch), now
            )
            self._commit_own(f"claim: {record.task}", (record.task, record.epoch))
        self.status = current

    def claim_lost(self, task: str) -> None:
        self.status = ownstatus.after_claim_lost(self.status, task)

    def reservations_lost(self, entries: list[ReservedEntry]) -> None:
        """Drops reservation records git judged lost from the STATUS (at the next commit)."""
        self.status = ownstatus.without_reservation_records(self.status, entries)

    def _commit_own(self, message: str, record: tuple[str, int] | None = None) -> str:
        files = {**self.log.changes(), self._status_path: self._render(self.status)}
        sha = self._clone.commit_files(self.tip, files, message)
        self._clone.set_ref(self._clone.local_ref, sha)
        self._pending += 1
        if self._queued is not None:
            self._queued.add(message, record)
        return sha

    def add_board(self, text: bytes) -> str:
        tip = self.tip
        sha = self._clone.commit_files(tip, {BOARD_PATH: text}, BOARD_MESSAGE)
        self._clone.set_ref(self._clone.local_ref, sha)
        self._pending += 1
        return sha

    # --- replay ------------------------------------------------------------------------------

    def check_branch(self, remote_tip: str | None) -> list[MalformedLogLine]:
        """Compares the branch's copy of our log with ours; raises IncarnationConflict when
        another process of this session appends to it. Only files of the log this node has not
        written or read before are looked into: the cost is what changed, not the log."""
        if remote_tip is None:
            return []
        objects = self._clone.objects
        theirs = log_files_of(objects, self._clone.root_tree(remote_tip), self.session)
        if self.log.written(theirs) or (theirs.legacy, theirs.tree) == self._checked:
            return []  # what we wrote (now or before), or checked before
        problems: list[MalformedLogLine] = []
        for path, sha in files_in_order(objects, theirs):
            if sha in self.log.known:
                continue
            foreign = foreign_lines(objects.blob(sha), self.log.holds)
            problems += check_foreign(foreign, path, self.session, self._incarnation, self.own_key)
            if not foreign:
                self.log.known.add(sha)
        if not problems:
            self._checked = (theirs.legacy, theirs.tree)
        return problems

    def needs_push(self, remote_tip: str | None) -> bool:
        """Whether the branch lacks pending commits of ours, or our files as we wrote them
        (lost to a force-push). With nothing to push, the chain moves up to ``remote_tip``."""
        if remote_tip is None:
            return self.tip is not None
        if self._pending > 0 or not self._holds_own_files(remote_tip):
            return True
        if self.tip != remote_tip:
            self._clone.set_ref(self._clone.local_ref, remote_tip)
            self._clone.set_ref(BASE_REF, remote_tip)
        return False

    def pending_records(self) -> list[ConfirmRecord]:
        """Confirm records in commits not yet on the remote, oldest first."""
        tip = self.tip
        if tip is None:
            return []
        records: list[ConfirmRecord] = []
        for commit in self._since_base(tip):
            if commit.message != BOARD_MESSAGE:
                records.extend(self._records_at(commit.sha))
        return records

    def replay(self, onto: str | None) -> bool:
        """Rebuilds the chain on ``onto``; True when a recovery commit had to be added.

        All pending commits become one, built from memory (the log and STATUS as they are
        now): a replay then costs one commit and reads nothing back from git, however long
        the queue grew behind lost races, which keeps the time between fetch and push — and so
        the chance of losing again — small, and lets each landed push carry every event the
        node has. The STATUS keeps every confirm record of the commits it replaces
        (``claiming:`` plus ``also_claiming:``)."""
        tip = self.tip
        if tip is not None and onto is not None and self.base == onto:
            # Already built on it: only our files may need a refresh (a lost claim dropped).
            if self._holds_own_files(tip):
                return False
            self._commit_own(f"chore: Update {self.session} status")
            return True
        queued = self._queued if self._queued is not None else self._queued_from_git(tip)
        if queued.subjects:
            new_tip = self._clone.commit_files(
                onto,
                {**self.log.changes(), self._status_path: self._squashed(queued.records)},
                _joined(queued.subjects),
            )
            recovered = False
        elif onto is None or not self._holds_own_files(onto):
            message = f"chore: Update {self.session} status"
            files = {**self.log.changes(), self._status_path: self._render(self.status)}
            new_tip = self._clone.commit_files(onto, files, message)
            queued = _Queued()
            queued.add(message, None)
            recovered = True
        else:
            new_tip, recovered = onto, False
        self._clone.set_ref(self._clone.local_ref, new_tip)
        if onto is not None:
            self._clone.set_ref(BASE_REF, onto)
        elif self.base is not None:
            self._clone.set_ref(BASE_REF, None)
        self._pending = 0 if new_tip == onto else 1
        self._queued = queued if self._pending else _Queued()
        return recovered

    def _squashed(self, records: list[tuple[str, int]]) -> bytes:
        """The STATUS as it is now, naming every pending confirm record: ``claiming:`` holds
        one, ``also_claiming:`` the others."""
        status = self.status
        named = (status.claiming, status.epoch or 0) if status.claiming else None
        others = [f"{task}@{epoch}" for task, epoch in records if (task, epoch) != named]
        if not others:
            return self._render(status)
        extra = {k: v for k, v in status.extra.items() if k != ALSO_CLAIMING}
        extra[ALSO_CLAIMING] = others
        return ownstatus.render(replace(status, extra=MappingProxyType(extra)))

    def _queued_from_git(self, tip: str | None) -> _Queued:
        """What commits left by an earlier process carry, read from them once."""
        queued = _Queued()
        for commit in self._since_base(tip) if tip is not None else []:
            if commit.message == BOARD_MESSAGE:
                continue
            for part in commit.message.split("; "):
                queued.add(part, None)
            for record in self._records_at(commit.sha):
                queued.add("", (record.task, record.epoch))
        return queued

    def _render(self, status: StatusFile) -> bytes:
        cached = self._rendered
        if cached is None or cached[0] is not status:
            cached = (status, ownstatus.render(status))
            self._rendered = cached
        return cached[1]

    def _own_status_path(self, source: str | None) -> str:
        """This session's STATUS file: ``STATUS-<SESSION>.yaml``, unless a file on the branch
        already speaks for it under another name (``STATUS-SESSION-4.yaml`` saying
        ``session: session-4-sip``): that one is kept, never a second file for one session."""
        default = status_path(self.session)
        if source is None or self._clone.blob_sha(source, default) is not None:
            return default
        for name in sorted(self._clone.top_level_files(source)):
            if session_of_status(name) is None:
                continue
            data = self._clone.read(source, name)
            try:
                if data is not None and read_status(data, name).session == self.session:
                    return name
            except CorruptStatus:
                continue
        return default

    @property
    def status_file(self) -> str:
        return self._status_path

    def _status_at(self, commit: str) -> StatusFile | None:
        data = self._clone.read(commit, self._status_path)
        if data is None:
            return None
        try:
            return read_status(data, self._status_path)
        except CorruptStatus:
            return None

    def _records_at(self, commit: str) -> list[ConfirmRecord]:
        status = self._status_at(commit)
        return records_in(commit, [(self._status_path, status)]) if status else []

    def _holds_own_files(self, commit: str) -> bool:
        root = self._clone.root_tree(commit)
        if not self.log.matches(log_files_of(self._clone.objects, root, self.session)):
            return False
        status = self._clone.read(commit, self._status_path) or b""
        # A squashed commit's extra records are history, not a difference in the file.
        return _ALSO_CLAIMING_BLOCK.sub(b"", status) == self._render(self.status)


@dataclass
class _Queued:
    """Confirm records and message parts of the pending commits, oldest first."""

    records: list[tuple[str, int]] = field(default_factory=list)
    subjects: list[str] = field(default_factory=list)

    def add(self, message: str, record: tuple[str, int] | None) -> None:
        for part in message.split("; ") if message else []:
            if part not in self.subjects:
                self.subjects.append(part)
        if record is not None and record not in self.records:
            self.records.append(record)


def _joined(subjects: list[str], limit: int = 240) -> str:
    """One subject line for squashed commits: ``claim: T1; claim: T2; …``."""
    text = "; ".join(subjects)
    if len(text) <= limit:
        return text
    kept: list[str] = []
    for subject in subjects:
        if len("; ".join([*kept, subject])) > limit - 16:
            break
        kept.append(subject)
    return "; ".join(kept) + f"; … (+{len(subjects) - len(kept)} more)"
