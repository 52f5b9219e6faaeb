"""End to end, with real node processes: `ifmesh ask-release`. The holder's agent is told
(`ifmesh wait --until asked`, `ifmesh status`), answers with `ifmesh keep` (the asker's board
shows the ask gone), and when a second ask goes unanswered past the room's
`ask_release_grace`, the task is STALE and the asker's claim takes it over, decided by git.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from ifmesh.node.cli.room import LocalRoom
from tests.conftest import require_tool
from tests.integration.e2e.support import board, board_without_absent_owners, ifmesh, tasks, until

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

ASKER, HOLDER, TASK = "session-2-webrtc", "session-3-h323", "P0.1.4"
POLICY = b"resource_policy:\n  ask_release_grace: 5s\n"


@pytest.fixture
async def room(tmp_path: Path) -> AsyncIterator[LocalRoom]:
    require_tool("git")
    async with LocalRoom(
        tmp_path, sessions=2, lease_seconds=120, fetch_interval_seconds=1,
        board=board_without_absent_owners(tmp_path), files={".ifmesh/policy.yaml": POLICY},
    ) as r:  # fmt: skip
        await r.wait_mesh(timeout=150)
        yield r


async def test_the_holder_is_asked_keeps_and_then_loses_an_unanswered_ask(
    room: LocalRoom,
) -> None:
    code, claimed = await ifmesh(room, HOLDER, "claim", TASK, "--confirmed")
    assert code == 0, claimed
    asked = asyncio.create_task(ifmesh(room, HOLDER, "wait", "--until", "asked", "--timeout", "60"))
    await asyncio.sleep(0)

    async def seen() -> bool:
        return bool(tasks(await board(room, ASKER))[TASK]["owner"] == HOLDER)

    await until(room, seen, 60, f"{ASKER} to see {HOLDER} hold {TASK}", watch=ASKER)
    code, answer = await ifmesh(room, ASKER, "ask-release", TASK, "--reason", "demo at four")
    assert code == 0, answer
    assert answer["holder"] == HOLDER and answer["grace_until"]
    code, told = await asyncio.wait_for(asked, 90)
    assert code == 0, told
    assert told["task"]["id"] == TASK and told["task"]["ask"]["asker"] == ASKER
    code, status = await ifmesh(room, HOLDER, "status")
    assert [(a["task"], a["asker"], a["reason"]) for a in status["asked"]] == [
        (TASK, ASKER, "demo at four")
    ]

    code, kept = await ifmesh(room, HOLDER, "keep", TASK, "--reason", "two tests to go")
    assert code == 0 and kept["asked_by"] == ASKER, kept

    async def ask_gone() -> bool:
        return tasks(await board(room, ASKER))[TASK]["ask"] is None

    await until(room, ask_gone, 60, f"{HOLDER}'s keep to reach {ASKER}", watch=ASKER)

    # Asked again, and no answer this time: past the grace (5 s) the task is STALE for every
    # node, though its holder is alive, and the asker's claim takes it over.
    code, answer = await ifmesh(room, ASKER, "ask-release", TASK, "--reason", "really now")
    assert code == 0, answer

    async def stale() -> bool:
        return tasks(await board(room, ASKER))[TASK]["status"] == "STALE"

    await until(room, stale, 60, f"{TASK} to go STALE after the grace", watch=ASKER)
    code, taken = await ifmesh(room, ASKER, "claim", TASK, "--timeout", "60")
    assert code == 0, taken
    assert (taken["won"], taken["epoch"], taken["taken_over_from"]) == (True, 1, HOLDER)

    async def fenced() -> bool:
        task = tasks(await board(room, HOLDER))[TASK]
        return bool(task["owner"] == ASKER and task["confirmed"])

    await until(room, fenced, 60, f"{HOLDER} to see {ASKER} hold {TASK}", watch=HOLDER)
    code, late = await ifmesh(room, HOLDER, "progress", TASK, "50")
    assert code == 1, late  # its tenure is over: the old epoch is fenced
