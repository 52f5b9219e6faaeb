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


@pytest.mark.integration
@pytest.mark.timeout(240)
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
def test_a_signal_to_up_stops_its_whole_room(tmp_path: Path, signum: signal.Signals) -> None:
    require_tool("git")
    room = tmp_path / "room"
    errors = (tmp_path / "up.err").open("w")
    up = subprocess.Popen(
        [sys.executable, "-m", "ifmesh", "up", "--sessions", "2", "--no-live", "--dir", str(room)],
        stdout=subprocess.PIPE, stderr=errors, text=True, stdin=subprocess.DEVNULL,
        start_new_session=True,
    )  # fmt: skip
    room_processes: set[int] = set()
    try:
        assert up.stdout is not None
        for line in up.stdout:  # the room is up once the mesh is full
            if "full mesh" in line:
                break
        else:
            up.wait(timeout=60)
            raise AssertionError(f"`ifmesh up` ended before its mesh formed: {_said(tmp_path)}")
        room_processes |= (set(_children(up.pid)) | set(_running_under(room))) - {up.pid}
        assert len(room_processes) >= 3, "two nodes and a signaling server"
        up.send_signal(signum)
        assert up.wait(timeout=60) == 128 + signum, _said(tmp_path)
        deadline = time.monotonic() + 30
        while (left := [p for p in room_processes if Path(f"/proc/{p}").exists()]) and (
            time.monotonic() < deadline
        ):
            time.sleep(0.1)  # a child may be reaped by init a moment after `up` exits
        assert not left, f"`ifmesh up` exited and left its room running: pids {left}"
    finally:
        if up.poll() is None:
            os.killpg(up.pid, signal.SIGKILL)
            up.wait(timeout=30)
        for pid in room_processes | set(_running_under(room)):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        up.stdout.close()  # type: ignore[union-attr]
        errors.close()


def _said(directory: Path) -> str:
    return (directory / "up.err").read_text()[-2000:]
