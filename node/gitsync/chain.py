"""This session's own commits: its event log and STATUS file, and nothing else.

Every commit of the chain carries the whole log as committed so far and the STATUS after it,
so a commit can be replayed anywhere. A "rebase" onto a freshly fetched branch tip is a replay
of the pending commits (those not yet on the remote) onto that tip, each keeping its message:
no textual merge is ever needed, because no one else writes these files. The same replay
recovers from a force-push: if the branch lacks lines of our log or holds a STATUS that is not
ours, one more commit puts them back. Lines in our log on the branch that we never wrote mean a
second writer: another incarnation of this session stops us (:class:`IncarnationConflict`).

The scribe's board commit is always the chain's last and is never replayed: the board is a
projection, re-rendered from whatever the branch holds.

Refs in the bridge's clone: ``refs/heads/<branch>`` is the chain's tip, ``refs/ifmesh/base``
the remote tip it was built on; ``base..tip`` are the pending commits.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import datetime
from types import MappingProxyType

from node import codec
from node.board.formats.status import StatusFile
from node.gitsync import ownstatus
from node.gitsync.batch import CommitPlan
from node.gitsync.clone import Clone, CommitInfo
from node.gitsync.confirm import ALSO_CLAIMING, ConfirmRecord, records_in
from node.gitsync.errors import CorruptStatus, MalformedLogLine
from node.gitsync.eventlog import (
    ResumePoint,
    check_foreign,
    compare_own_log,
    parse_log,
    resume_point,
)
from node.gitsync.paths import BOARD_PATH, log_path, status_path
from node.gitsync.statusfiles import read_status
from node.messages import Envelope

BASE_REF = "refs/ifmesh/base"
_ALSO_CLAIMING_BLOCK = re.compile(rb"^also_claiming:\n(?:- .*\n)*", re.MULTILINE)
BOARD_MESSAGE = "chore: Update PHASE-0-TASK-BOARD.md from git-confirmed state"


class OwnChain:
    def __init__(self, clone: Clone, *, session: str, branch: str, incarnation: str) -> None:
        self._clone = clone
        self.session = session
        self._branch = branch
        self._incarnation = incarnation
        self._log_path = log_path(session)
        self._status_path = status_path(session)
        self.log = b""
        self.status: StatusFile = ownstatus.initial_status(session, branch)
        self.events: list[Envelope] = []  # every event of our log, in order
        self._pending = 0  # commits base..tip, kept here so status checks run no git

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
        self._pending = 0 if sha == self.tip else self._count_pending()

    # --- start -------------------------------------------------------------------------------

    def load(self, remote_tip: str | None, now: datetime) -> ResumePoint:
        """Resumes from the local chain (state directory), else from the branch in git."""
        tip = self.tip
        source = tip or remote_tip
        if tip is None and remote_tip is not None:
            self._clone.set_ref(self._clone.local_ref, remote_tip)
            self._clone.set_ref(BASE_REF, remote_tip)
        self.log = (self._clone.read(source, self._log_path) if source else None) or b""
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
        read = parse_log(self.log.decode("utf-8", "replace"), self._log_path, self.session)
        self.events = list(read.messages)
        self._pending = self._count_pending()
        return resume_point(read.messages)

    # --- writing -----------------------------------------------------------------------------

    def commit(self, plan: CommitPlan, now: datetime) -> str:
        lines = b"".join(codec.encode(event) + b"\n" for event in plan.events)
        status = self.status
        for event in plan.events:
            status = ownstatus.after_event(status, event)
        if plan.confirm is not None:
            status = ownstatus.with_confirm_record(status, plan.confirm.task, plan.confirm.epoch)
        self.log += lines
        self.events.extend(plan.events)
        self.status = ownstatus.stamped(status, now)
        return self._commit_own(plan.message(self.session))

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
            self._commit_own(f"claim: {record.task}")
        self.status = current

    def claim_lost(self, task: str) -> None:
        self.status = ownstatus.after_claim_lost(self.status, task)

    def _commit_own(self, message: str, parent: str | None = None) -> str:
        files = {self._log_path: self.log, self._status_path: ownstatus.render(self.status)}
        sha = self._clone.commit_files(parent or self.tip, files, message)
        self._clone.set_ref(self._clone.local_ref, sha)
        self._pending += 1
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
        another process of this session appends to it."""
        if remote_tip is None:
            return []
        theirs = self._clone.read(remote_tip, self._log_path) or b""
        comparison = compare_own_log(
            theirs.decode("utf-8", "replace"), self.log.decode("utf-8", "replace")
        )
        return check_foreign(comparison.foreign, self._log_path, self.session, self._incarnation)

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

        Several pending commits are squashed into one: a replay then costs one commit however
        long the queue grew behind lost races, which keeps the time between fetch and push —
        and so the chance of losing again — small. The squashed STATUS keeps every confirm
        record of the commits it replaces (``claiming:`` plus ``also_claiming:``)."""
        tip = self.tip
        if tip is not None and onto is not None and self.base == onto:
            # Already built on it: only our files may need a refresh (a lost claim dropped).
            if self._holds_own_files(tip):
                return False
            self._commit_own(f"chore: Update {self.session} status")
            return True
        pending = self._since_base(tip) if tip is not None else []
        pending = [commit for commit in pending if commit.message != BOARD_MESSAGE]
        new_tip = onto
        replayed = 0
        if len(pending) == 1:
            new_tip = self._clone.commit_files(
                new_tip, self._files_at(pending[0].sha), pending[0].message
            )
            replayed = 1
        elif pending:
            new_tip = self._squash(onto, pending)
            replayed = 1
        recovered = False
        if new_tip is None or not self._holds_own_files(new_tip):
            new_tip = self._clone.commit_files(
                new_tip,
                {self._log_path: self.log, self._status_path: ownstatus.render(self.status)},
                f"chore: Update {self.session} status",
            )
            recovered = True
            replayed += 1
        self._clone.set_ref(self._clone.local_ref, new_tip)
        if onto is not None:
            self._clone.set_ref(BASE_REF, onto)
        elif self.base is not None:
            self._clone.set_ref(BASE_REF, None)
        self._pending = replayed
        return recovered

    def _files_at(self, commit: str) -> dict[str, bytes]:
        return {
            path: data
            for path in (self._log_path, self._status_path)
            if (data := self._clone.read(commit, path)) is not None
        }

    def _squash(self, onto: str | None, pending: list[CommitInfo]) -> str:
        records: list[tuple[str, int]] = []
        for commit in pending:
            for record in self._records_at(commit.sha):
                if (record.task, record.epoch) not in records:
                    records.append((record.task, record.epoch))
        files = self._files_at(pending[-1].sha)
        last = self._status_at(pending[-1].sha) or self.status
        named = (last.claiming, last.epoch or 0) if last.claiming else None
        others = [f"{task}@{epoch}" for task, epoch in records if (task, epoch) != named]
        extra = {k: v for k, v in last.extra.items() if k != ALSO_CLAIMING}
        if others:
            extra[ALSO_CLAIMING] = others
        squashed = replace(last, extra=MappingProxyType(extra))
        files[self._status_path] = ownstatus.render(squashed)
        subjects: list[str] = []
        for commit in pending:
            for part in commit.message.split("; "):
                if part not in subjects:
                    subjects.append(part)
        return self._clone.commit_files(onto, files, _joined(subjects))

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
        if self._clone.read(commit, self._log_path) != self.log:
            return False
        status = self._clone.read(commit, self._status_path) or b""
        # A squashed commit's extra records are history, not a difference in the file.
        return _ALSO_CLAIMING_BLOCK.sub(b"", status) == ownstatus.render(self.status)


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
