"""Real git for the bridge's tests: bare remotes in temp dirs, plain-git clones, a pump.

Everything here runs the real ``git`` binary; nothing is mocked.
"""

from __future__ import annotations

import os
import subprocess
import time
import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path

from ifmesh.node.board.replica import Replica
from ifmesh.node.gitsync.bridge import GitSync
from ifmesh.node.gitsync.config import BridgeConfig
from ifmesh.node.protocol.messages import Envelope, Payload, make_message

REPO = Path(__file__).resolve().parents[3]
EXAMPLE_BOARD = REPO / "examples/phase0/PHASE-0-TASK-BOARD.md"
BRANCH = "claude/debug-session-freezing-011CV2mM1FVCwsC8GoBR2aQy"
GIT_ENV = {
    "GIT_AUTHOR_NAME": "ifmesh test",
    "GIT_AUTHOR_EMAIL": "test@ifmesh.invalid",
    "GIT_COMMITTER_NAME": "ifmesh test",
    "GIT_COMMITTER_EMAIL": "test@ifmesh.invalid",
    "GIT_CONFIG_NOSYSTEM": "1",
}


def git(*args: str, cwd: Path | None = None, check: bool = True) -> str:
    result = subprocess.run(
        ["git", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, **GIT_ENV},
    )
    if check and result.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed: {result.stderr}")
    return result.stdout


def make_remote(root: Path, board: Path = EXAMPLE_BOARD, branch: str = BRANCH) -> Path:
    """A bare remote whose coordination branch holds ``board``."""
    remote = root / "remote.git"
    git("init", "--quiet", "--bare", str(remote))
    work = root / "seed-work"
    git("init", "--quiet", str(work))
    (work / "PHASE-0-TASK-BOARD.md").write_text(board.read_text())
    git("add", "PHASE-0-TASK-BOARD.md", cwd=work)
    git("commit", "--quiet", "-m", "Phase 0 task board", cwd=work)
    git("push", "--quiet", str(remote), f"HEAD:refs/heads/{branch}", cwd=work)
    return remote


def show(remote: Path, path: str, ref: str = BRANCH) -> str:
    return git("--git-dir", str(remote), "show", f"{ref}:{path}", check=False)


def log_text(remote: Path, session: str, ref: str = BRANCH) -> str:
    """A session's whole event log on the branch, read with plain git: the old layout's one
    file, then the sealed segments, then the open segment's files (node.gitsync.segments)."""
    listed = git(
        "--git-dir", str(remote), "ls-tree", "-r", "--name-only", ref, "--",
        f".ifmesh/log/{session}.jsonl", f".ifmesh/log/{session}/",
    ).split()  # fmt: skip

    def order(path: str) -> tuple[int, str]:
        part = path.removeprefix(f".ifmesh/log/{session}/").split("/", 1)[0]
        return {"sealed": 1, "open": 2}.get(part, 0), path

    return "".join(show(remote, path, ref) for path in sorted(listed, key=order))


def config(root: Path, session: str, remote: Path, **overrides: object) -> BridgeConfig:
    values: dict[str, object] = {
        "session": session,
        "remote_url": str(remote),
        "branch": BRANCH,
        "state_dir": root / "state" / session,
        "incarnation": uuid.uuid4().hex,
        "fetch_interval": 0.5,
        "push_backoff_base": 0.02,
        "push_backoff_cap": 0.5,
    }
    values.update(overrides)
    return BridgeConfig.model_validate(values)


class Stamper:
    """Gives one session's events increasing seq and lamport, as the board's Author does."""

    def __init__(self, session: str, seq: int = 0, lamport: int = 0) -> None:
        self.session = session
        self.seq = seq
        self.lamport = lamport
        self.incarnation = uuid.uuid4().hex

    def __call__(self, payload: Payload) -> Envelope:
        self.seq += 1
        self.lamport += 1
        return make_message(
            payload,
            source=self.session,
            timestamp=datetime.now(UTC),
            seq=self.seq,
            lamport=self.lamport,
            incarnation=self.incarnation,
        )


def pump(bridges: Iterable[GitSync], until: Callable[[], bool], timeout: float = 20.0) -> None:
    """Runs the bridges' timers until ``until()`` holds; fails after ``timeout`` seconds."""
    bridges = list(bridges)
    deadline = time.monotonic() + timeout
    while not until():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not reached within {timeout}s")
        soonest = deadline
        for bridge in bridges:
            timer = bridge.get_timer()
            if timer is None:
                continue
            if timer <= time.time():
                bridge.handle_timer(time.time())
                timer = bridge.get_timer() or timer
            soonest = min(soonest, time.monotonic() + max(0.0, timer - time.time()))
        # Wake at the next timer, never later than 20 ms: the condition may turn on its own.
        time.sleep(min(0.02, max(0.0, soonest - time.monotonic())))


# Bridges a test opened, closed after it by the autouse fixture in conftest.py.
_OPEN: list[GitSync] = []


def opened(bridge: GitSync) -> GitSync:
    _OPEN.append(bridge)
    return bridge


def close_opened() -> None:
    while _OPEN:
        _OPEN.pop().close()


def started(root: Path, session: str, remote: Path, **overrides: object) -> GitSync:
    bridge = opened(GitSync(config(root, session, remote, **overrides)))
    bridge.start(datetime.now(UTC).timestamp())
    return bridge


def deliver(bridge: GitSync, replica: Replica) -> None:
    """What the runtime does with the bridge's outputs and the replica's confirmations."""
    outputs = bridge.take_outputs()
    for event in outputs.events:
        replica.receive(event)
    now = datetime.now(UTC)
    for verdict in outputs.verdicts:
        for event in replica.git_verdict(verdict.task, verdict.epoch, verdict.winner, now):
            bridge.submit(event, now.timestamp())
    for task, epoch in replica.take_confirmations(now):
        bridge.write_confirm_record(task, epoch, now.timestamp())


def pump_delivering(
    bridge: GitSync, replica: Replica, until: Callable[[], bool], timeout: float = 30.0
) -> None:
    """:func:`pump` one bridge, its outputs delivered to ``replica`` (:func:`deliver`)."""

    def check() -> bool:
        deliver(bridge, replica)
        return until()

    pump([bridge], check, timeout=timeout)
