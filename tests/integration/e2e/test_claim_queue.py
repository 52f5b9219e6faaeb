"""End to end, with real node processes: a claim queue hands a task over. One session holds
the task; two others queue for it (`ifmesh claim TASK --queue`, one of them `--urgency high`);
the holder releases it, and the high-urgency waiter's own node claims it for it, through the
decided-claim path: its agent's `ifmesh wait TASK --until mine` returns, and the board shows it
the holder with the other waiter still queued (docs/claims.md, "Claim queues")."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from ifmesh.node.cli.room import LocalRoom
from tests.conftest import require_tool
from tests.integration.e2e.support import board, board_without_absent_owners, ifmesh, tasks, until

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

TASK = "P0.1.4"


async def test_the_head_of_the_queue_gets_the_released_task_and_is_woken(tmp_path: Path) -> None:
    require_tool("git")
    async with LocalRoom(
        tmp_path, sessions=3, fetch_interval_seconds=1, board=board_without_absent_owners(tmp_path)
    ) as room:
        await room.wait_mesh(timeout=150)
        holder, low, high = list(room.members)
        code, claimed = await ifmesh(room, holder, "claim", TASK)
        assert code == 0, claimed

        async def everyone_sees_the_holder() -> bool:
            views = [tasks(await board(room, s))[TASK]["owner"] for s in (low, high)]
            return views == [holder, holder]

        await until(room, everyone_sees_the_holder, 60, "the holder on every board", watch=low)
        code, queued = await ifmesh(room, low, "claim", TASK, "--queue")
        assert code == 0 and queued["queued"] and queued["position"] == 1, queued
        code, queued = await ifmesh(room, high, "claim", TASK, "--queue", "--urgency", "high")
        assert code == 0 and queued["queued"], queued
        # Not the head's turn while the task is held: a plain claim is refused at once.
        code, refused = await ifmesh(room, low, "claim", TASK)
        assert code == 1, refused

        woken = asyncio.create_task(
            ifmesh(room, high, "wait", TASK, "--until", "mine", "--timeout", "90")
        )

        async def queue_seen_by_holder() -> bool:
            return len(tasks(await board(room, holder))[TASK].get("queue") or []) == 2

        await until(
            room, queue_seen_by_holder, 60, "both waiters on the holder's board", watch=holder
        )
        code, released = await ifmesh(room, holder, "release", TASK)
        assert code == 0, released
        code, mine = await asyncio.wait_for(woken, 120)
        assert code == 0, mine
        assert mine["task"]["owner"] == high

        async def handed_over() -> bool:
            task = tasks(await board(room, low))[TASK]
            waiting = [w["session"] for w in task.get("queue") or []]
            return task["owner"] == high and waiting == [low]

        await until(room, handed_over, 60, f"{high} to hold {TASK}, {low} still queued", watch=low)
