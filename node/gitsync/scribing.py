"""The scribe at work: when this node is the scribe, keep the branch's board file rendered.

Decides with :func:`ifmesh.node.gitsync.scribe.choose_scribe` from the STATUS files git holds (this
node's own, as it is about to push it), and renders with
:func:`ifmesh.node.gitsync.scribe.confirmed_cells` over everything git holds plus this node's
commits about to be pushed: a push is compare-and-swap, so what lands is exactly that history. The
board commit goes last in the chain and is rebuilt on every attempt. A board that no longer parses
is reported once per version and left alone.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from ifmesh.node.board.formats.cellrender import CellTargets, Rendered, targets
from ifmesh.node.board.formats.taskboard import parse_task_board
from ifmesh.node.gitsync.chain import OwnChain
from ifmesh.node.gitsync.config import BridgeConfig
from ifmesh.node.gitsync.errors import BoardUnparseable, GitSyncError
from ifmesh.node.gitsync.objects import blob_sha
from ifmesh.node.gitsync.paths import BOARD_PATH
from ifmesh.node.gitsync.reader import BranchReader
from ifmesh.node.gitsync.scribe import choose_scribe, confirmed_cells, render_targets


class BoardScribe:
    def __init__(self, config: BridgeConfig, reader: BranchReader, chain: OwnChain) -> None:
        self._config = config
        self._reader = reader
        self._chain = chain
        self._reported: set[str] = set()
        self._board: tuple[str, CellTargets] | None = None  # (blob sha, what renders need)
        self._written: tuple[str, Rendered, bytes] | None = None  # (blob sha, the last render)
        self.errors: list[GitSyncError] = []

    def current(self, now: datetime) -> str | None:
        session = self._config.session
        statuses = dict(self._reader.statuses)
        statuses[session] = self._chain.status
        nodes = self._reader.log_sessions | {session}
        return choose_scribe(statuses, nodes, now, timedelta(seconds=self._config.status_freshness))

    def board_outdated(self, now: float) -> bool:
        tip = self._reader.tip
        return tip is not None and self._render(tip, now, pending=False) is not None

    def add_board_commit(self, now: float) -> None:
        tip = self._chain.tip
        if tip is None:
            return
        board = self._render(tip, now, pending=True)
        if board is not None:
            self._chain.add_board(board)

    def _render(self, commit: str, now: float, *, pending: bool) -> bytes | None:
        wall = datetime.fromtimestamp(now, UTC)
        if self.current(wall) != self._config.session:
            self._board = self._written = None  # kept only while this node is the scribe
            return None
        clone = self._chain.clone
        blob = clone.blob_sha(commit, BOARD_PATH)
        if blob is None:
            return None
        board = self._read(blob, commit)
        ledger = self._reader.ledger
        session = self._config.session
        read = self._reader.facts
        own = self._chain.facts if pending else read  # pending: our commits about to land
        facts = [f for f in read.changing.values() if f.source != session]
        facts += [f for f in own.changing.values() if f.source == session]
        alive_at = {s: at for s, at in read.alive.items() if s != session}
        if session in own.alive:
            alive_at[session] = own.alive[session]
        if pending:
            ledger = ledger.copy()
            ledger.apply(self._chain.pending_records())
        lease = timedelta(seconds=self._config.lease)
        cells = confirmed_cells(facts, ledger, wall, lease, alive_at)
        try:
            rendered = render_targets(board, cells)
        except BoardUnparseable as exc:
            if blob not in self._reported:
                self._reported.add(blob)
                self.errors.append(exc)
            return None
        if not rendered.rewritten:
            return None
        data = rendered.text.encode()
        # The board this render writes, as the next fetch may find it on the branch.
        self._written = (blob_sha(data), rendered, data)
        return data

    def _read(self, blob: str, commit: str) -> CellTargets:
        """What a render needs of the board file ``blob``, kept until the file changes: the
        scribe renders on every fetch and push, and reading the file was most of a render
        (a 600-task board: 25 ms; the soak's 20,000 tasks: 0.9 s)."""
        if self._board is not None and self._board[0] == blob:
            return self._board[1]
        if self._written is not None and self._written[0] == blob:
            _, rendered, data = self._written  # our own render landed: nothing to read
            self._board = (blob, rendered.targets(data))
            self._written = None  # it holds the board before it: let that go
        else:
            data = self._chain.clone.read(commit, BOARD_PATH) or b""
            try:  # kept as the file's own bytes (shared with git's blob cache) when they decode
                text, kept = data.decode("utf-8"), data
            except UnicodeDecodeError:
                text, kept = data.decode("utf-8", "replace"), None
            self._board = (blob, targets(parse_task_board(text, BOARD_PATH), kept))
        return self._board[1]
