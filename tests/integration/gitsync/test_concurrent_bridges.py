"""Eight bridges in eight processes claim, progress and complete against one bare remote.

Each driver process is a node without a mesh (see driver.py): two sessions race for every
task, so only git's first confirm record can settle who holds it.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO, Any

import pytest

from ifmesh.node.board.formats.taskboard import parse_task_board
from ifmesh.node.board.state import TaskStatus
from tests.conftest import require_tool
from tests.integration.gitsync.support import (
    BRANCH,
    EXAMPLE_BOARD,
    GIT_ENV,
    REPO,
    log_text,
    make_remote,
    show,
)

pytestmark = pytest.mark.integration

TASKS = ["P0.1.4", "P0.2.4", "P0.3.4", "P0.4.4", "P0.5.3", "F2.1", "F2.2", "F2.3"]
SESSIONS = [f"session-{n}-node" for n in range(1, 9)]


class Driver:
    def __init__(self, session: str, tasks: list[str], remote: Path, root: Path) -> None:
        self.session = session
        self.lines: queue.Queue[dict[str, Any]] = queue.Queue()
        self.stderr = (root / f"{session}.log").open("w")
        self.proc = subprocess.Popen(
            [
                sys.executable, "-m", "tests.integration.gitsync.driver",
                "--session", session, "--remote", str(remote), "--branch", BRANCH,
                "--state-dir", str(root / "state" / session), "--board", str(EXAMPLE_BOARD),
                "--tasks", ",".join(tasks), "--fetch-interval", "1.0",
            ],
            cwd=REPO,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.stderr,
            text=True,
            env={**os.environ, **GIT_ENV},
        )  # fmt: skip
        assert self.proc.stdout is not None
        threading.Thread(target=self._read, args=(self.proc.stdout,), daemon=True).start()

    def _read(self, stream: IO[str]) -> None:
        for line in stream:
            self.lines.put(json.loads(line))

    def expect(self, kind: str, deadline: float) -> dict[str, Any]:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or self.proc.poll() not in (None, 0):
                raise AssertionError(f"{self.session}: no {kind!r} (exit {self.proc.poll()})")
            try:
                message = self.lines.get(timeout=remaining)
            except queue.Empty:
                continue
            if kind in message:
                return dict(message[kind])

    def send(self, command: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()

    def stop(self) -> None:
        if self.proc.poll() is None:
            try:
                self.send("quit")
                self.proc.wait(timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout, self.stderr):
            if stream is not None:
                stream.close()


def test_eight_bridges_converge_on_one_board(tmp_path: Path) -> None:
    require_tool("git")
    remote = make_remote(tmp_path)
    # Session i wants tasks i and i+1: every task has exactly two claimants.
    wants = {s: [TASKS[i], TASKS[(i + 1) % len(TASKS)]] for i, s in enumerate(SESSIONS)}
    drivers = [Driver(s, wants[s], remote, tmp_path) for s in SESSIONS]
    try:
        deadline = time.monotonic() + 90
        for driver in drivers:
            driver.expect("ready", deadline)
        for driver in drivers:
            try:
                driver.expect("done", deadline)
            except AssertionError:
                driver.send("final")
                state = driver.expect("final", time.monotonic() + 10)
                raise AssertionError(f"{driver.session} never settled: {state}") from None
        finals: list[dict[str, Any]] = []
        for _round in range(20):  # until every clone has read the same branch tip
            for driver in drivers:
                driver.send("final")
            finals = [driver.expect("final", deadline) for driver in drivers]
            if len({f["head"] for f in finals}) == 1 and len({f["board"] for f in finals}) == 1:
                break
        heads = {f["head"] for f in finals}
        assert len(heads) == 1, f"clones disagree on the branch tip: {heads}"
        assert len({f["board"] for f in finals}) == 1, "clones folded different boards"
        assert all(f["pending"] == 0 for f in finals), "a push never landed"

        # One confirmed owner per (task, epoch), the same in every clone, and it did the work.
        winners = finals[0]["winners"]
        assert all(f["winners"] == winners for f in finals)
        assert sorted(winners) == sorted(f"{t}@0" for t in TASKS)
        owners = finals[0]["owners"]
        for task in TASKS:
            winner = winners[f"{task}@0"]
            assert task in wants[winner]
            assert owners[task] == [winner, "COMPLETED", 0, True]
        for final, session in zip(finals, SESSIONS, strict=True):
            for verdict in final["verdicts"]:
                assert verdict["winner"] == winners[f"{verdict['task']}@{verdict['epoch']}"]
            assert not [e for e in final["errors"] if not e.startswith("history_rewritten")], (
                session,
                final["errors"],
            )

        # No event lost: every event a session emitted is in its log on the remote.
        for final, session in zip(finals, SESSIONS, strict=True):
            log = log_text(remote, session)
            ids = {json.loads(line)["id"] for line in log.splitlines()}
            assert set(final["own_ids"]) <= ids, f"{session} lost events"
            assert len(log.splitlines()) == len(ids), f"{session} has duplicated lines"

        # The scribe renders the branch's board from git-confirmed state.
        deadline = time.monotonic() + 20
        while True:
            document = parse_task_board(show(remote, "PHASE-0-TASK-BOARD.md"))
            rows = {row.task_id: row for row in document.rows}
            rendered = all(
                rows[t].status is TaskStatus.COMPLETED and rows[t].owner == winners[f"{t}@0"]
                for t in TASKS
                if t in rows
            )
            if rendered or time.monotonic() > deadline:
                break
            for driver in drivers:
                driver.send("final")
            for driver in drivers:
                driver.expect("final", deadline + 5)
        assert rendered, "the scribe did not render the confirmed owners"
    finally:
        for driver in drivers:
            driver.stop()
