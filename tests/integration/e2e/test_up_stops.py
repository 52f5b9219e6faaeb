"""`ifmesh up` stopped by a signal stops its room: a supervisor's SIGTERM (or a closed
terminal's SIGHUP) must not leave the room's nodes and signaling server running, orphans."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import require_tool


def _running_under(directory: Path) -> list[int]:
    """Processes whose command line names ``directory``: the room's nodes and `up` itself (the
    signaling server names none, so it is found as `up`'s child instead)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if str(directory).encode() in command:
            found.append(int(entry.name))
    return found


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(child) for child in text.split()]


class _Up:
    """`ifmesh up` in a session of its own, once its mesh is full, with the room's processes."""

    def __init__(self, directory: Path, nohup: bool = False, after: str = "full mesh") -> None:
        self.after = after  # the line of its output after which it is stopped
        self.room = directory / "room"
        self.errors = (directory / "up.err").open("w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "ifmesh", "up", "--sessions", "2", "--no-live", "--dir",
             str(self.room)],
            stdout=subprocess.PIPE, stderr=self.errors, text=True, stdin=subprocess.DEVNULL,
            start_new_session=True, preexec_fn=_ignore_hangup if nohup else None,
        )  # fmt: skip
        self.children: set[int] = set()

    def __enter__(self) -> _Up:
        assert self.process.stdout is not None
        for line in self.process.stdout:  # the room is up once the mesh is full
            if self.after in line:
                break
        else:
            self.process.wait(timeout=60)
            raise AssertionError(f"`ifmesh up` ended before its mesh formed: {self.said()}")
        pid = self.process.pid
        self.children = (set(_children(pid)) | set(_running_under(self.room))) - {pid}
        assert len(self.children) >= 3, "two nodes and a signaling server"
        return self

    def said(self) -> str:
        return Path(self.errors.name).read_text()[-2000:]

    def wait_room_gone(self) -> None:
        deadline = time.monotonic() + 30
        while (left := [p for p in self.children if Path(f"/proc/{p}").exists()]) and (
            time.monotonic() < deadline
        ):
            time.sleep(0.1)  # polled: these are not our children, nothing to wait on
        assert not left, f"`ifmesh up` ended and left its room running: pids {left}"

    def __exit__(self, *_: object) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)
        for pid in self.children | set(_running_under(self.room)):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self.process.stdout.close()  # type: ignore[union-attr]
        self.errors.close()


@pytest.mark.integration
@pytest.mark.timeout(240)
@pytest.mark.parametrize(
    ("signals", "nohup"),
    [
        ((signal.SIGTERM,), False),
        ((signal.SIGHUP,), False),
        ((signal.SIGHUP, signal.SIGTERM), True),
    ],
    ids=["sigterm", "sighup", "nohup-then-sigterm"],
)
def test_a_signal_to_up_stops_its_whole_room(
    tmp_path: Path, signals: tuple[signal.Signals, ...], nohup: bool
) -> None:
    """Under ``nohup`` (SIGHUP ignored from the start) a hangup is not acted on: the SIGTERM
    after it is what stops the room."""
    require_tool("git")
    with _Up(tmp_path, nohup) as up:
        # Its handlers are in place once the mesh is full: the kernel drops a hangup for it.
        assert _ignores(up.process.pid, signal.SIGHUP) == nohup
        for signum in signals:
            up.process.send_signal(signum)
        assert up.process.wait(timeout=60) == 128 + signals[-1], up.said()
        up.wait_room_gone()


@pytest.mark.integration
@pytest.mark.timeout(240)
def test_up_killed_outright_takes_its_room_with_it(tmp_path: Path) -> None:
    """SIGKILL runs no handler: the room's processes asked the kernel to be stopped when
    their parent ends (node/cli/signals.py: stop_with_parent)."""
    require_tool("git")
    with _Up(tmp_path) as up:
        up.process.kill()
        assert up.process.wait(timeout=30) == -signal.SIGKILL
        up.wait_room_gone()


def _ignores(pid: int, signum: signal.Signals) -> bool:
    """Whether the kernel drops ``signum`` for ``pid`` (its SigIgn mask in /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("SigIgn:"):
            return bool(int(line.split()[1], 16) >> (signum - 1) & 1)
    raise AssertionError(f"no SigIgn line for pid {pid}")


def _ignore_hangup() -> None:
    signal.signal(signal.SIGHUP, signal.SIG_IGN)


@pytest.mark.integration
@pytest.mark.timeout(240)
def test_up_stopped_mid_scenario_says_only_that_it_stopped(tmp_path: Path) -> None:
    """A task of the scenario waits on a node when the room closes under it: its error is the
    closing, and `up` prints no traceback for it."""
    require_tool("git")
    with _Up(tmp_path, after="waits (no polling)") as up:
        up.process.send_signal(signal.SIGTERM)
        assert up.process.wait(timeout=60) == 128 + signal.SIGTERM
        up.wait_room_gone()
        assert up.said().strip() == "stopped (SIGTERM)"
