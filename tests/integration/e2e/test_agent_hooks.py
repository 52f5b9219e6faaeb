"""End to end, with real node processes: the Claude Code hooks of
examples/agents/claude-code/, fed the recorded hook inputs of ./hook_inputs/, and the git
pre-commit guard.

One session holds a task and reserves `src/db/**` (exclusive) and `docs/*.md` (shared); the
other session's hooks refuse its edits under `src/db/` (exit 2, naming holder, task and
pattern), let every other edit through (exit 0), and its commit of a reserved file fails until
overridden. SessionEnd under `agent_session_end: release` gives the task back, and the
reservation ends with it. A second room shows SessionStart starting a node and SessionEnd
stopping it, and the closed guard refusing what it can no longer check.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import select
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from ifmesh.node.cli.room import BRANCH, LocalRoom
from ifmesh.node.gitsync.paths import status_path
from ifmesh.node.runtime.statedir import is_locked
from tests.conftest import require_tool
from tests.integration.e2e.support import board, board_without_absent_owners, ifmesh, tasks, until

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

REPO_ROOT = Path(__file__).resolve().parents[3]
HOOKS = REPO_ROOT / "examples" / "agents" / "claude-code" / ".claude" / "hooks"
INPUTS = Path(__file__).resolve().parent / "hook_inputs"
HOLDER, EDITOR, TASK = "session-2-webrtc", "session-3-h323", "P0.1.4"
SCRIPTS = {
    "SessionStart": "ifmesh-session-start.sh",
    "PreToolUse": "ifmesh-pre-edit.sh",
    "Stop": "ifmesh-stop.sh",
    "SessionEnd": "ifmesh-session-end.sh",
}


def working_tree(directory: Path) -> Path:
    repo = directory / "work"
    (repo / "src" / "db").mkdir(parents=True)
    (repo / "docs").mkdir()
    for name in ("src/db/models.py", "src/app.py", "docs/guide.md"):
        (repo / name).write_text("x\n", encoding="utf-8")
    git(repo, "init", "-q")
    git(repo, "add", ".")
    git(repo, "-c", "user.name=t", "-c", "user.email=t@localhost", "commit", "-qm", "start")
    return repo


def git(
    repo: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", "-C", str(repo), *args], env=env, capture_output=True, text=True, timeout=120
    )


def status_in_git(room: LocalRoom, session: str) -> str:
    """The session's STATUS file as the coordination branch holds it now."""
    assert room.remote is not None
    shown = subprocess.run(
        ["git", "--git-dir", str(room.remote), "show", f"{BRANCH}:{status_path(session)}"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    return shown.stdout


def hook_env(room: LocalRoom, session: str, **more: str) -> dict[str, str]:
    """The environment Claude Code gives a hook: the session's, with ifmesh on the PATH."""
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    return room.env | {"IFMESH_SESSION": session, "PATH": path} | more


async def hook(
    event: str, repo: Path, env: dict[str, str], recorded: str | None = None
) -> tuple[int, str, str]:
    """Runs the example's hook script for ``event`` as Claude Code does: the recorded input on
    standard input, the project as the working directory."""
    data = (INPUTS / f"{recorded or event}.json").read_text(encoding="utf-8")
    process = await asyncio.create_subprocess_exec(
        "sh", str(HOOKS / SCRIPTS[event]), cwd=repo, env=env,
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(
        process.communicate(data.replace("/REPO", str(repo)).encode()), 150
    )
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def command(repo: Path, env: dict[str, str], *args: str) -> tuple[int, str, str]:
    """`ifmesh ARGS` in the working tree, as a person or git runs it."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "ifmesh", *args, cwd=repo, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


@pytest.fixture
async def room(tmp_path: Path) -> AsyncIterator[LocalRoom]:
    require_tool("git")
    policy = b"resource_policy:\n  agent_session_end: release\n"
    async with LocalRoom(
        tmp_path, sessions=2, lease_seconds=300,
        board=board_without_absent_owners(tmp_path), files={".ifmesh/policy.yaml": policy},
    ) as r:  # fmt: skip
        await r.wait_mesh(timeout=150)
        yield r


async def test_the_hooks_refuse_edits_under_another_sessions_reservation(
    room: LocalRoom, tmp_path: Path
) -> None:
    repo = working_tree(tmp_path)
    code, claimed = await ifmesh(room, HOLDER, "claim", TASK)
    assert code == 0, claimed
    code, reserved = await ifmesh(room, HOLDER, "reserve", "src/db/**", "--for", TASK)
    assert code == 0 and [r["pattern"] for r in reserved["reserved"]] == ["src/db/**"], reserved
    code, shared = await ifmesh(room, HOLDER, "reserve", "docs/*.md", "--for", TASK, "--shared")
    assert code == 0, shared

    async def seen() -> bool:
        return len((await board(room, EDITOR))["reservations"]) == 2

    await until(room, seen, 60, f"{EDITOR} to see {HOLDER}'s reservations", watch=EDITOR)

    async def in_status() -> bool:  # sessions without a node read them there
        return "pattern: src/db/**" in status_in_git(room, HOLDER)

    await until(room, in_status, 60, f"{HOLDER}'s STATUS in git to list it", watch=HOLDER)
    editor = hook_env(room, EDITOR)

    code, out, err = await hook("SessionStart", repo, editor)
    assert code == 0, err
    assert f"you are session {EDITOR}" in out and "attached to its running node" in out
    assert f"do not edit src/db/**: reserved by {HOLDER} for {TASK}" in out

    code, out, err = await hook("PreToolUse", repo, editor, "PreToolUse-Edit")
    assert code == 2, (out, err)
    assert f"src/db/models.py is reserved exclusively by {HOLDER} for task {TASK}" in err
    assert "pattern src/db/**" in err and f"ifmesh ask-release {TASK}" in err
    code, _, err = await hook("PreToolUse", repo, editor, "PreToolUse-Write")  # a new file
    assert code == 2 and "src/db/migrations/0001_initial.py" in err
    code, _, err = await hook("PreToolUse", repo, editor, "PreToolUse-MultiEdit")  # shared
    assert (code, err) == (0, "")
    holder = hook_env(room, HOLDER)
    code, _, err = await hook("PreToolUse", repo, holder, "PreToolUse-Edit")  # its own
    assert (code, err) == (0, "")

    # The pre-commit guard: the same check on what is staged.
    code, _, err = await command(repo, editor, "git-hook", "install")
    assert code == 0, err
    (repo / "src/db/models.py").write_text("y\n", encoding="utf-8")
    git(repo, "add", "src/db/models.py")
    committed = git(repo, "-c", "user.name=t", "-c", "user.email=t@l", "commit", "-m", "m",
                    env=editor)  # fmt: skip
    assert committed.returncode == 1, committed
    assert f"src/db/models.py: reserved by {HOLDER} for {TASK} (src/db/**" in committed.stderr
    overridden = git(repo, "-c", "user.name=t", "-c", "user.email=t@l", "commit", "-qm", "m",
                     env=editor | {"IFMESH_GUARD": "off"})  # fmt: skip
    assert overridden.returncode == 0, overridden.stderr

    code, out, _ = await hook("Stop", repo, holder)
    assert code == 0 and f"{HOLDER} holds {TASK} (CLAIMED, 0%)" in out
    assert f"src/db/** for {TASK} (exclusive" in out and f"docs/*.md for {TASK} (shared" in out
    code, out, _ = await hook("SessionEnd", repo, holder)
    assert code == 0, out
    assert "policy: release" in out and f"released: {TASK}" in out
    assert "its node keeps running (not started by SessionStart)" in out

    async def ended() -> bool:
        document = await board(room, EDITOR)
        return not document["reservations"] and tasks(document)[TASK]["owner"] is None

    await until(room, ended, 60, f"{EDITOR} to see {TASK} released", watch=EDITOR)

    async def status_written() -> bool:
        return "reserved:" not in status_in_git(room, HOLDER)

    await until(room, status_written, 60, f"{HOLDER}'s STATUS to drop it", watch=HOLDER)
    code, _, err = await hook("PreToolUse", repo, editor, "PreToolUse-Edit")
    assert (code, err) == (0, "")


@pytest.fixture
async def lone_room(tmp_path: Path) -> AsyncIterator[LocalRoom]:
    require_tool("git")
    policy = b"resource_policy:\n  guard: closed\n"
    async with LocalRoom(
        tmp_path, sessions=1, lease_seconds=300,
        board=board_without_absent_owners(tmp_path), files={".ifmesh/policy.yaml": policy},
    ) as r:  # fmt: skip
        yield r


async def test_session_start_starts_the_node_and_session_end_stops_it(
    lone_room: LocalRoom, tmp_path: Path
) -> None:
    room, repo = lone_room, working_tree(tmp_path)
    assert room.remote is not None
    editor = hook_env(
        room, EDITOR, IFMESH_REMOTE=str(room.remote), IFMESH_BRANCH=BRANCH, IFMESH_ROOM="demo",
        IFMESH_SIGNALING=room.signaling_url, IFMESH_CAPABILITIES="lang:python",
    )  # fmt: skip
    state = room.state_root / EDITOR
    started: int | None = None
    try:
        code, out, err = await hook("SessionStart", repo, editor)
        assert code == 0, (out, err, (state / "node.log").read_text(errors="replace"))
        assert f"you are session {EDITOR}" in out and "started its node" in out
        started = int(json.loads((state / "control.json").read_bytes())["pid"])
        assert (state / "guard-closed").exists()  # the room's policy, remembered
        code, _, err = await hook("PreToolUse", repo, editor, "PreToolUse-Edit")
        assert (code, err) == (0, "")  # nothing reserved: the edit goes through

        code, out, _ = await hook("SessionEnd", repo, editor)
        assert code == 0 and "policy: keep" in out
        assert "its node stopped and pushed its STATUS" in out, out
        assert not is_locked(state)  # the node's process is over (a zombie at most)
        started = None
        # No node now, and the room's guard is closed: what cannot be checked is refused.
        code, _, err = await hook("PreToolUse", repo, editor, "PreToolUse-Edit")
        assert code == 2 and "the path guard could not check" in err
        code, _, err = await hook("PreToolUse", repo, editor | {"IFMESH_GUARD": "off"},
                                  "PreToolUse-Edit")  # fmt: skip
        assert (code, err) == (0, "")
        code, _, err = await command(repo, editor, "check-paths", "--staged", "--hook")
        assert code == 1 and "guard policy is closed" in err
    finally:
        if started is not None:  # the node this test's SessionStart started, if still up
            with contextlib.suppress(ProcessLookupError):
                os.kill(started, signal.SIGTERM)
                await asyncio.to_thread(gone, started)


def gone(pid: int) -> None:
    """Waits (30 s at most) for a process that is not our child to exit, on its pidfd."""
    fd = os.pidfd_open(pid)
    try:
        select.select([fd], [], [], 30)
    finally:
        os.close(fd)
