"""The scribe does not read back the board it has just written: once its own commit lands, what
the next render needs of the file is derived from the render (cellrender.Rendered), so a board
of 20,000 rows is not parsed again after every commit (0.55 s and 50 MB at the peak)."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import partial
from pathlib import Path

import pytest

from ifmesh.node.board.formats.taskboard import TaskBoardDocument, parse_task_board
from ifmesh.node.board.replica import Replica
from ifmesh.node.board.seed import seed_board
from ifmesh.node.gitsync import scribing
from ifmesh.node.gitsync.bridge import GitSync
from tests.conftest import require_tool
from tests.integration.gitsync.support import (
    BRANCH,
    EXAMPLE_BOARD,
    config,
    git,
    make_remote,
    pump_delivering,
)

NODE = "session-2-webrtc"
TASKS = ("P0.1.4", "P0.5.3", "P0.4.4")


def test_the_scribe_reads_the_board_once_and_renders_every_claim_after(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    require_tool("git")
    reads: list[int] = []

    def counted(text: str, path: str = "PHASE-0-TASK-BOARD.md") -> TaskBoardDocument:
        reads.append(len(text))
        return parse_task_board(text, path)

    monkeypatch.setattr(scribing, "parse_task_board", counted)
    remote = make_remote(tmp_path)
    bridge = GitSync(config(tmp_path, NODE, remote, fetch_interval=0.2))
    replica = Replica(
        NODE,
        bridge.config.incarnation,
        initial=seed_board(parse_task_board(EXAMPLE_BOARD.read_text())),
    )
    bridge.start(datetime.now(UTC).timestamp())

    until = partial(pump_delivering, bridge, replica)

    def branch_row(task: str) -> str:
        board = git("--git-dir", str(remote), "show", f"{BRANCH}:PHASE-0-TASK-BOARD.md")
        return next(line for line in board.splitlines() if line.startswith(f"| {task} "))

    try:
        for task in TASKS:  # one at a time: each board commit lands before the next claim
            for event in replica.claim(task, datetime.now(UTC)):
                bridge.submit(event, event.timestamp.timestamp())
            until(lambda task=task: f"@{NODE}" in branch_row(task) or NODE in branch_row(task))
        assert all("CLAIMED" in branch_row(task) for task in TASKS)
        assert reads == [len(EXAMPLE_BOARD.read_text())], "the scribe read its own board back"
        assert not bridge.take_outputs().errors
    finally:
        bridge.close()
