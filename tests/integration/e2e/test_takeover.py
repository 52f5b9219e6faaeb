"""End to end: a room whose policy says ``takeover: auto``. When a session's node is killed, an
idle node takes its stale task by itself, and the agent of that node is told: an ``assigned``
effect on its node's event stream, `ifmesh wait --until assigned`, and `ifmesh status`.

(The default policy, ``takeover: offer``, is in test_room.py: there the takeover is a claim.)
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from ifmesh.node.cli.room import LocalRoom
from tests.conftest import require_tool
from tests.integration.e2e.support import board_without_absent_owners, ifmesh

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

OWNER, IDLE = "session-3-h323", ("session-2-webrtc", "session-5-cli")
AUTO = b"resource_policy:\n  takeover: auto\n"


@pytest.fixture
async def room(tmp_path: Path) -> AsyncIterator[LocalRoom]:
    require_tool("git")
    async with LocalRoom(
        tmp_path, sessions=3, lease_seconds=4, fetch_interval_seconds=1,
        board=board_without_absent_owners(tmp_path), files={".ifmesh/policy.yaml": AUTO},
    ) as r:  # fmt: skip
        await r.wait_mesh(timeout=150)
        yield r


async def assigned_effect(room: LocalRoom, session: str, subscribed: asyncio.Event) -> Any:
    """The first ``assigned`` effect for ``session`` on its own node's event stream."""
    async with room.client(session) as node:
        async for line in node.events():
            subscribed.set()
            if line.get("effect") == "assigned" and line.get("session") == session:
                return line
    return None


async def test_an_idle_node_takes_over_by_itself_and_tells_its_agent(room: LocalRoom) -> None:
    code, claimed = await ifmesh(room, OWNER, "claim", "P0.1.4", "--confirmed")
    assert code == 0, claimed
    ready = {session: asyncio.Event() for session in IDLE}
    streams = {asyncio.create_task(assigned_effect(room, s, ready[s]), name=s): s for s in IDLE}
    try:
        async with asyncio.timeout(30):
            await asyncio.gather(*(event.wait() for event in ready.values()))
        room.kill_node(OWNER)
        done, _ = await asyncio.wait(streams, timeout=90, return_when=asyncio.FIRST_COMPLETED)
        assert done, "no idle node told its agent it took P0.1.4 over"
    finally:
        for stream in streams:
            stream.cancel()
        await asyncio.gather(*streams, return_exceptions=True)
    first = next(iter(done))
    taker, told = streams[first], first.result()
    assert (told["task_id"], told["epoch"], told["previous_owner"]) == ("P0.1.4", 1, OWNER)

    # The agent asks its node: the task is its own, decided by git, and whose it was.
    code, waited = await ifmesh(room, taker, "wait", "P0.1.4", "--until", "assigned",
                                "--timeout", "30")  # fmt: skip
    assert code == 0, waited
    assert (waited["task"]["owner"], waited["task"]["confirmed"]) == (taker, True)
    assert waited["taken_over_from"] == OWNER
    code, any_task = await ifmesh(room, taker, "wait", "--until", "assigned", "--timeout", "30")
    assert code == 0 and any_task["task"]["id"] == "P0.1.4"
    code, status = await ifmesh(room, taker, "status")
    assert status["policy"]["source"] == ".ifmesh/policy.yaml"  # the room's, on the branch
    assert status["taken_over"] == [
        {"task": "P0.1.4", "epoch": 1, "from": OWNER, "confirmed": True}
    ]
    code, mine = await ifmesh(room, taker, "progress", "P0.1.4", "50")
    assert code == 0, mine
