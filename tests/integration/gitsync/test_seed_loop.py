"""A session that runs only the seed's bash polling loop, next to a node's bridge.

The loop below is the seed's Session 2 script verbatim, except ``sleep 30`` → ``sleep 0.3`` so
the test does not wait minutes. It pushes its STATUS file to its own branch
(``claude/webrtc-agent-mesh-test``), never to the coordination branch.
"""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

import pytest

from ifmesh.node.board.formats.taskboard import parse_task_board
from ifmesh.node.board.replica import Replica
from ifmesh.node.board.seed import seed_board
from ifmesh.node.board.state import TaskStatus
from ifmesh.node.gitsync.bridge import GitSync
from tests.conftest import require_tool
from tests.integration.gitsync.support import (
    BRANCH,
    EXAMPLE_BOARD,
    GIT_ENV,
    config,
    git,
    make_remote,
    pump_delivering,
)

pytestmark = pytest.mark.integration

SEED_LOOP = r"""#!/bin/bash
# Session 2 (WebRTC) - Phase 0 Coordination Polling Loop

SESSION_ID="session-2-webrtc"
MY_BRANCH=$(git branch --show-current)
COORD_BRANCH="claude/debug-session-freezing-011CV2mM1FVCwsC8GoBR2aQy"

echo "üöÄ Session 2 (WebRTC): Documentation & Test Support"
echo "üìç My branch: $MY_BRANCH"
echo "üì° Polling: $COORD_BRANCH every 30 seconds"

while true; do
  # 1. Fetch latest coordination state
  git fetch origin $COORD_BRANCH --quiet 2>/dev/null

  # 2. Check task board for available tasks
  TASK_BOARD=$(git show origin/$COORD_BRANCH:PHASE-0-TASK-BOARD.md 2>/dev/null)

  # 3. Look for P0.5.2 (IF.governor docs) or P0.5.5 (production runbook)
  # 4. If blocked, pick filler task

  # 5. Update STATUS file
  cat > STATUS-SESSION-2-WEBRTC.yaml <<EOF
session: session-2-webrtc
status: polling
last_poll: $(date -Iseconds)
branch: $MY_BRANCH
current_task: ${CURRENT_TASK:-none}
EOF

  git add STATUS-SESSION-2-WEBRTC.yaml
  git commit -m "chore: Update session-2-webrtc status" --quiet 2>/dev/null || true
  git push origin $MY_BRANCH --quiet 2>/dev/null || true

  # 6. Wait 30 seconds before next poll
  sleep 0.3
done
"""
SEED_BRANCH = "claude/webrtc-agent-mesh-test"
SEED = "session-2-webrtc"
NODE = "session-1-ndi"


class SeedSession:
    """The seed session's checkout and its polling loop (a real bash process)."""

    def __init__(self, root: Path, remote: Path) -> None:
        self.work = root / "seed-session"
        git("clone", "--quiet", "--branch", BRANCH, str(remote), str(self.work))
        git("checkout", "--quiet", "-b", SEED_BRANCH, cwd=self.work)
        self.script = root / "poll.sh"
        self.script.write_text(SEED_LOOP)
        self.proc: subprocess.Popen[bytes] | None = None

    def start_loop(self, current_task: str) -> None:
        env = {**os.environ, **GIT_ENV, "CURRENT_TASK": current_task}
        self.proc = subprocess.Popen(
            ["bash", str(self.script)],
            cwd=self.work,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # its own process group, so its git children stop too
        )

    def stop_loop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=10)
        self.proc = None

    def complete(self, task: str) -> None:
        """Step 4 of the seed's Task Claiming Process, by hand as a session would."""
        stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        (self.work / "STATUS-SESSION-2-WEBRTC.yaml").write_text(
            f'session: {SEED}\ncompleted: {task}\nmilestone: "100% - Complete"\n'
            f"deliverable: docs/components/IF.CHASSIS.md\ntests_pass: true\n"
            f"timestamp: {stamp}\n"
        )
        git("add", "STATUS-SESSION-2-WEBRTC.yaml", cwd=self.work)
        git("commit", "--quiet", "-m", f"complete: {task}", cwd=self.work)
        git("push", "--quiet", "origin", SEED_BRANCH, cwd=self.work)

    def reads_board(self) -> str:
        """What the loop's step 2 reads: the board as of its last fetch."""
        return git("show", f"origin/{BRANCH}:PHASE-0-TASK-BOARD.md", cwd=self.work)


def row(board: str, task: str) -> str:
    return next((line for line in board.splitlines() if line.startswith(f"| {task} |")), "")


@pytest.fixture
def seed(tmp_path: Path) -> Iterator[tuple[SeedSession, Path]]:
    require_tool("git")
    require_tool("bash")
    remote = make_remote(tmp_path)
    session = SeedSession(tmp_path, remote)
    yield session, remote
    session.stop_loop()


def test_seed_polling_loop_and_a_node_see_each_other(
    tmp_path: Path, seed: tuple[SeedSession, Path]
) -> None:
    session, remote = seed
    bridge = GitSync(config(tmp_path, NODE, remote, fetch_interval=0.3))
    initial = seed_board(parse_task_board(EXAMPLE_BOARD.read_text()))
    replica = Replica(NODE, bridge.config.incarnation, initial=initial)
    bridge.start(datetime.now(UTC).timestamp())

    until = partial(pump_delivering, bridge, replica)

    def owner(task_id: str) -> tuple[str | None, TaskStatus | None, bool]:
        task = replica.board.task(task_id)
        return (task.owner, task.status, task.confirmed) if task else (None, None, False)

    try:
        # The seed session takes P0.5.3 by naming it in current_task.
        session.start_loop(current_task="P0.5.3")
        until(lambda: owner("P0.5.3")[:2] == (SEED, TaskStatus.CLAIMED))

        # The node claims P0.1.4; git confirms it, the scribe renders it, the loop reads it.
        for event in replica.claim("P0.1.4", datetime.now(UTC)):
            bridge.submit(event, event.timestamp.timestamp())
        until(lambda: owner("P0.1.4") == (NODE, TaskStatus.CLAIMED, True))
        until(lambda: "🟡 CLAIMED" in row(session.reads_board(), "P0.1.4"))
        assert f"| {NODE} |" in row(session.reads_board(), "P0.1.4")
        until(lambda: "🟡 CLAIMED" in row(session.reads_board(), "P0.5.3"))
        assert f"| {SEED} |" in row(session.reads_board(), "P0.5.3")

        # The seed session completes P0.5.3 the seed's way; the node's board follows.
        session.stop_loop()
        session.complete("P0.5.3")
        until(lambda: owner("P0.5.3")[:2] == (SEED, TaskStatus.COMPLETED))

        def branch_board() -> str:
            return git("--git-dir", str(remote), "show", f"{BRANCH}:PHASE-0-TASK-BOARD.md")

        until(lambda: "🟢 COMPLETED" in row(branch_board(), "P0.5.3"))
        assert parse_task_board(branch_board()).rows, "the board still parses"
        assert not bridge.take_outputs().errors
    finally:
        bridge.close()
