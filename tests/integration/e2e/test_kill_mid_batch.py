"""A node killed -9 after it sent an event on the mesh and before its git bridge committed it
(inside the batch window): the peers that folded the event and git must end up agreeing.

The batch window is made ten minutes long so the kill lands inside it every time (no race
with a 200 ms window); the restarted node runs with the default window."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from ifmesh.node.cli.room import BRANCH, LocalRoom
from tests.conftest import require_tool
from tests.integration.e2e.support import board, board_without_absent_owners, ifmesh, tasks, until

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

OWNER, PEER, TASK = "session-3-h323", "session-2-webrtc", "P0.1.4"


@pytest.fixture
async def room(tmp_path: Path) -> AsyncIterator[LocalRoom]:
    require_tool("git")
    async with LocalRoom(
        tmp_path, sessions=2, board=board_without_absent_owners(tmp_path),
        extra_args=("--batch-window-ms", "600000"),
    ) as r:  # fmt: skip
        await r.wait_mesh(timeout=150)
        yield r


def subjects(room: LocalRoom) -> str:
    return subprocess.run(
        ["git", "--git-dir", str(room.remote), "log", "--format=%s", BRANCH],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip


async def test_an_event_sent_but_not_committed_reaches_git_after_a_kill(room: LocalRoom) -> None:
    code, claimed = await ifmesh(room, OWNER, "claim", TASK, "--confirmed")  # commits at once
    assert code == 0, claimed
    code, reported = await ifmesh(room, OWNER, "progress", TASK, "50")  # waits for the window
    assert code == 0, reported

    async def peer_has_it() -> bool:
        return tasks(await board(room, PEER))[TASK]["percent"] == 50

    await until(room, peer_has_it, 60, "the peer to fold the milestone", watch=PEER)
    assert f"progress: {TASK} 50%" not in await asyncio.to_thread(subjects, room)
    room.kill_node(OWNER)

    room.extra_args = ()  # the default batch window from now on
    room.start_node(OWNER)
    await room.wait_control(OWNER)
    code, own = await ifmesh(room, OWNER, "board")
    assert code == 0 and tasks(own)[TASK]["percent"] == 50, "the restarted node forgot it"

    async def in_git() -> bool:
        return f"progress: {TASK} 50%" in await asyncio.to_thread(subjects, room)

    await until(room, in_git, 60, "the milestone to reach git", watch=OWNER)
    # And the session goes on above it: its next event is the one after, not a second 50 %.
    code, done = await ifmesh(room, OWNER, "complete", TASK)
    assert code == 0, done

    async def both_completed() -> bool:
        views = [tasks(await board(room, s))[TASK] for s in (OWNER, PEER)]
        return all(v["status"] == "COMPLETED" and v["percent"] == 100 for v in views)

    await until(room, both_completed, 60, "both boards to show the task done", watch=PEER)
