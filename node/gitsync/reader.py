"""Turning what was fetched into board events: the reading half of the bridge.

After every fetch and every push that lands, :meth:`BranchReader.read` looks at what is new:

* on the coordination branch, each commit's changed STATUS files, in first-parent order: their
  confirm records go to the :class:`ConfirmLedger`, and its ``reserved:`` records to the
  :class:`~ifmesh.node.gitsync.reservation_ledger.ReservationLedger`; a session that writes
  there without a node (no event log) gets events derived from its STATUS changes;
* the event logs at the branch's tip: lines not read before (:mod:`ifmesh.node.gitsync.logcursor`),
  decoded through the codec;
* branches matching the seed glob: STATUS changes of sessions that run only the seed's polling
  loop, derived into events in commit order.

With a :class:`~ifmesh.node.gitsync.verifying.LogVerifier` (``verifier``), the keys the new
commits publish are pinned first, and every other session's event is verified before it is
read: a forged or unsigned one is refused there (docs/security.md).

Bad input (a corrupt STATUS, a malformed log line) becomes a typed error in the result; the
rest is read. A force-pushed branch (its old tip no longer an ancestor) is read again from the
root: the ledger is rebuilt and events are delivered again (the board drops duplicates).
"""

from __future__ import annotations

import hashlib
import heapq
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from ifmesh.node.board.formats.problems import ReadProblem
from ifmesh.node.board.formats.status import StatusFile
from ifmesh.node.board.log import order_key
from ifmesh.node.gitsync.clone import Clone, CommitInfo
from ifmesh.node.gitsync.confirm import ConfirmLedger, ConfirmRecord, records_in
from ifmesh.node.gitsync.errors import CorruptStatus, GitSyncError, HistoryRewritten
from ifmesh.node.gitsync.eventlog import parse_log
from ifmesh.node.gitsync.logcursor import LogCursor, Piece
from ifmesh.node.gitsync.paths import STATUS_GLOB, session_of_status
from ifmesh.node.gitsync.reservation_ledger import ReservationLedger
from ifmesh.node.gitsync.scribe import ScribeFacts
from ifmesh.node.gitsync.seedstatus import StatusChange, derive_events
from ifmesh.node.gitsync.segments import log_files, log_files_of
from ifmesh.node.gitsync.statusfiles import read_status
from ifmesh.node.gitsync.verifying import LogVerifier
from ifmesh.node.protocol.messages import Envelope

Sink = Callable[[list[Envelope]], None]
SINK_CHUNK = 2048  # events per chunk handed to a sink: a start-up read's unit of work


@dataclass
class ReadResult:
    events: list[Envelope] = field(default_factory=list)  # other sessions' events
    won: list[ConfirmRecord] = field(default_factory=list)  # newly decided confirm records
    errors: list[GitSyncError] = field(default_factory=list)
    rewritten: bool = False
    # Winners the old history had and the rewritten one lacks: their owners write them again.
    dropped: list[ConfirmRecord] = field(default_factory=list)
    # Sessions whose STATUS the new commits changed, in commit order: who writes the branch.
    writers: list[str] = field(default_factory=list)


class BranchReader:
    def __init__(
        self,
        clone: Clone,
        *,
        session: str,
        branch: str,
        read_seed_branches: bool,
        renew_interval: float,
    ) -> None:
        self._clone = clone
        self._session = session
        self._branch = branch
        self._read_seeds = read_seed_branches
        self._renew_interval = renew_interval
        self._reset()
        self._seed_tips: dict[str, tuple[str, int]] = {}  # branch → (tip, its depth)
        self._reported: set[tuple[str, str]] = set()
        # What the latest version of each STATUS file read could not fully say, by where it
        # was read ("STATUS-….yaml", or "branch:STATUS-….yaml" for a session's own branch).
        self.problems: dict[str, tuple[ReadProblem, ...]] = {}
        self.verifier: LogVerifier | None = None  # set by the bridge when events are signed

    def _reset(self) -> None:
        self.ledger = ConfirmLedger()
        self.reservations = ReservationLedger()  # path reservations' records
        self.tip: str | None = None
        self._depth = 0  # first-parent depth of tip
        self._logs: dict[str, LogCursor] = {}  # by session
        # Latest readable STATUS of each session on the coordination branch (for the scribe).
        self.statuses: dict[str, StatusFile] = {}
        # What the scribe reads of every event found in git, own log included (the events
        # themselves go to the board and are not kept here).
        self.facts = ScribeFacts()
        self.log_sessions: set[str] = set()

    def read(self, tip: str | None, sink: Sink | None = None) -> ReadResult:
        """What is new up to ``tip``; other sessions' log events in ``result.events``, or,
        with a ``sink``, handed to it in chunks as they are read (a node's start-up read)."""
        result = ReadResult()
        if tip is not None and tip != self.tip:
            history = self._clone.first_parent_history(
                tip, self.tip, since_depth=self._depth, pattern=STATUS_GLOB
            )
            previous = self.ledger.winners()
            if history is None:
                result.rewritten = True
                result.errors.append(
                    HistoryRewritten(
                        f"{self._branch} was rewritten (force-pushed) from {self.tip or '?':.12} "
                        f"to {tip:.12}; re-read it from the root and re-appending this "
                        "session's events"
                    )
                )
                self._reset()
                history = self._clone.first_parent_history(tip, pattern=STATUS_GLOB) or []
            if self.verifier is not None:
                result.errors.extend(self.verifier.read_keys(tip))
            self._read_logs(tip, result, sink)
            self._read_coordination(history, result)
            self.tip = tip
            self._depth = history[-1].depth if history else self._depth
            if result.rewritten:
                now_known = self.ledger.winners()
                result.dropped = [r for key, r in previous.items() if key not in now_known]
        if self._read_seeds:
            self._read_seed_branches(result)
        return result

    # --- coordination branch -----------------------------------------------------------------

    def _read_coordination(self, history: list[CommitInfo], result: ReadResult) -> None:
        for commit in history:
            parsed: list[tuple[str, StatusFile]] = []
            for path in commit.paths:
                if session_of_status(path) is None:
                    continue
                status = self._status_at(commit.sha, path, result)
                if status is None:
                    continue
                self._note(path, status)
                session = status.session
                parsed.append((path, status))
                result.writers.append(session)
                self.statuses[session] = status
                root = self._clone.root_tree(commit.sha)
                found = log_files_of(self._clone.objects, root, session)
                has_log = found.legacy is not None or found.tree is not None
                # What a STATUS file said before its session had a log (this session's own
                # included): every node derives the same events from it, or boards diverge.
                if not has_log:
                    self._derive(commit, path, status, self._branch, result)
            won = self.ledger.apply(records_in(commit.sha, parsed))
            result.won.extend(won)
            self.reservations.apply(commit.sha, commit.committed_at, parsed, won)

    def _read_logs(self, tip: str, result: ReadResult, sink: Sink | None) -> None:
        """The new lines of every session's log, merged into the board's order (each log is
        in its own: a session's lamport rises with its seq), so the board appends them rather
        than inserting each among the others. With a ``sink``, other sessions' events go to it
        ``SINK_CHUNK`` at a time as they are parsed instead of into ``result``: a start on a
        day's logs holds a chunk and a segment per session decoded, not the whole day."""
        objects = self._clone.objects
        streams = []
        for session, files in sorted(log_files(objects, self._clone.root_tree(tip)).items()):
            self.log_sessions.add(session)
            cursor = self._logs.get(session)
            if cursor is None:
                cursor = self._logs[session] = LogCursor(session)
            verifier = self.verifier if session != self._session else None
            streams.append(self._admitted(cursor.pieces(objects, files, result.errors),
                                          session, verifier, result.errors))  # fmt: skip
        out = result.events if sink is None else []
        own = self._session
        for message in heapq.merge(*streams, key=order_key):
            self._keep(message)
            if message.source != own:
                out.append(message)
                if sink is not None and len(out) >= SINK_CHUNK:
                    sink(out)
                    out = []
        if self.verifier is not None:
            for message in self.verifier.released():
                self._keep(message)
                out.append(message)
        if sink is not None and out:
            sink(out)

    @staticmethod
    def _admitted(
        pieces: Iterator[Piece],
        session: str,
        verifier: LogVerifier | None,
        errors: list[GitSyncError],
    ) -> Iterator[Envelope]:
        """One session's messages, piece by piece, those its key verifies (``verifier``)."""
        for piece in pieces:
            read = parse_log(piece.text, piece.path, session, line_offset=piece.line_offset)
            errors.extend(read.errors)
            if verifier is None:
                yield from read.messages
            else:  # the others are refused (counted), or held until their key is pinned
                yield from verifier.admitted(session, read.messages, piece.sealed)

    def _keep(self, event: Envelope) -> None:
        self.facts.extend((event,))

    # --- seed sessions' own branches ---------------------------------------------------------

    def _read_seed_branches(self, result: ReadResult) -> None:
        tips = self._clone.seed_refs()
        for branch in list(self._seed_tips):
            if branch not in tips:
                del self._seed_tips[branch]
        for branch, tip in sorted(tips.items()):
            last, depth = self._seed_tips.get(branch, (None, 0))
            if last == tip:
                continue
            history = self._clone.first_parent_history(
                tip, last, since_depth=depth, pattern=STATUS_GLOB
            )
            if history is None:  # force-pushed: read it all again (the board drops repeats)
                history = self._clone.first_parent_history(tip, pattern=STATUS_GLOB) or []
            for commit in history:
                for path in commit.paths:
                    if session_of_status(path) is None:
                        continue
                    status = self._status_at(commit.sha, path, result)
                    if status is None or status.session in self.log_sessions:
                        continue  # a session with a node: its log is the authority
                    self._note(f"{branch}:{path}", status)
                    self._derive(commit, path, status, branch, result)
            self._seed_tips[branch] = (tip, history[-1].depth if history else depth)

    # --- helpers -----------------------------------------------------------------------------

    def _note(self, where: str, status: StatusFile) -> None:
        if status.problems:
            self.problems[where] = status.problems
        else:
            self.problems.pop(where, None)

    def _status_at(self, commit: str, path: str, result: ReadResult) -> StatusFile | None:
        data = self._clone.read(commit, path)
        if data is None:
            return None  # deleted
        try:
            return read_status(data, path, commit)
        except CorruptStatus as exc:
            key = (path, hashlib.sha256(data).hexdigest())
            if key not in self._reported:  # one report per bad version, not per read
                self._reported.add(key)
                result.errors.append(exc)
            return None

    def _derive(
        self, commit: CommitInfo, path: str, status: StatusFile, branch: str, result: ReadResult
    ) -> None:
        before = None
        if commit.parent is not None:
            data = self._clone.read(commit.parent, path)
            if data is not None:
                try:
                    before = read_status(data, path, commit.parent)
                except CorruptStatus:
                    before = None  # reported when that commit was read
        change = StatusChange(
            commit=commit.sha,
            path=path,
            committed_at=commit.committed_at,
            depth=commit.depth,
            branch=branch,
            before=before,
            after=status,
        )
        # Depths compare within the coordination branch only (where keys are pinned).
        verifier = self.verifier if branch == self._branch else None
        for event in derive_events(change, renew_interval=self._renew_interval):
            if verifier is not None and not verifier.may_derive(event.source, commit.depth):
                verifier.refuse_derived(event)
                continue
            self._keep(event)
            result.events.append(event)


def writers_since(clone: Clone, tip: str, since: str | None) -> list[str]:
    """Sessions whose STATUS the commits after ``since`` up to ``tip`` changed, oldest first:
    who landed lately (for taking turns). Only the tip's commit when ``since`` is unknown,
    not below the tip, or far behind."""
    history = clone.first_parent_history(tip, since, pattern=STATUS_GLOB) if since else None
    if history is None or len(history) > 64:
        parents = clone.objects.commit(bytes.fromhex(tip)).parents
        parent = parents[0].hex() if parents else None
        history = clone.first_parent_history(tip, parent, pattern=STATUS_GLOB) or []
    return [s for commit in history for path in commit.paths if (s := session_of_status(path))]
