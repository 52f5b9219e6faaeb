"""A SIGTERM while a node is still starting. On a day's history the start-up read takes tens of
seconds; the node cancels its start, emits nothing (it has not yet resumed its own seq, so a
leave would reuse one) and exits 0 on its own, where it used to be ended by its exit backstop
(status 1). A real node process on a bare remote holding two other sessions' signed logs."""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

import pytest

from benchmarks._pregrown import day_files
from benchmarks.longlog import BRANCH, make_remote
from tests.conftest import require_tool
from tests.integration.test_cli_failures import Node, env, running

pytestmark = pytest.mark.integration
__all__ = ["env"]  # the fixture, shared with the CLI's failure tests

# Long enough that the read is still going when the test's SIGTERM lands (about 2 s of
# verifying and folding on 2 cores), short enough to build in a second.
EVENTS_PER_SESSION = 5000
SESSION = "session-3-h323"


def logged(remote: Path) -> list[str]:
    """The session's files on the branch but its public key (published as the clone opens)."""
    listed = subprocess.run(
        ["git", "-C", str(remote), "ls-tree", "-r", "--name-only", BRANCH],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return [f for f in listed.stdout.split() if SESSION in f and "/keys/" not in f]


async def test_a_sigterm_during_the_start_up_read_stops_the_node_cleanly(
    tmp_path: Path, env: dict[str, str]
) -> None:
    require_tool("git")
    files, _ = day_files(EVENTS_PER_SESSION, ["session-1-ndi", "session-2-webrtc"])
    remote = make_remote(tmp_path, files)
    argv = ("--session", SESSION, "--state-dir", str(tmp_path / "state"), "--remote", str(remote))
    node = await Node.start(env, *argv)
    await node.seen("gitsync.started")  # the clone is open: the read of 10,000 events begins
    node.process.send_signal(signal.SIGTERM)
    assert await node.exited() == 0, "".join(node.lines)  # the backstop would say 1
    output = "".join(node.lines)
    assert "node.stopped_while_starting" in output, output
    assert "node.started" not in output and "Timeout (" not in output
    assert not logged(remote), "it emitted nothing"

    async with running(env, *argv):  # the next start reads the day and runs
        pass
    assert logged(remote), "then it registers and leaves"
