"""End to end: three node processes, a signaling server and a bare git remote, driven through
the `ifmesh` CLI exactly as sessions drive them."""

from __future__ import annotations

import asyncio
import json
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from ifmesh.node.cli.room import BRANCH, LocalRoom
from tests.conftest import require_tool
from tests.integration.e2e.support import board, board_without_absent_owners, ifmesh, tasks, until

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]


@pytest.fixture
async def room(tmp_path: Path) -> AsyncIterator[LocalRoom]:
    require_tool("git")
    async with LocalRoom(
        tmp_path, sessions=3, lease_seconds=4, fetch_interval_seconds=1,
        board=board_without_absent_owners(tmp_path),
    ) as r:  # fmt: skip
        await r.wait_mesh(timeout=150)
        yield r


async def test_session_two_flow_converges_on_every_node_and_in_git(room: LocalRoom) -> None:
    webrtc, h323, cli = "session-2-webrtc", "session-3-h323", "session-5-cli"
    # A claim race on one filler task: exactly one owner, the same on every node.
    (a, _), (b, _) = await asyncio.gather(
        ifmesh(room, webrtc, "claim", "F2.1"), ifmesh(room, cli, "claim", "F2.1")
    )
    assert 0 in (a, b)

    async def one_owner() -> bool:
        owners = {tasks(await board(room, s))["F2.1"]["owner"] for s in room.members}
        return len(owners) == 1 and None not in owners

    await until(room, one_owner, 90, "one owner of F2.1 on every node", watch=h323)

    # P0.5.2 waits for P0.2.6: refused, then the session blocks and waits without polling.
    code, refusal = await ifmesh(room, webrtc, "claim", "P0.5.2")
    assert code == 1 and refusal["error"]["code"] == "dependencies_not_completed"
    code, _ = await ifmesh(room, webrtc, "block", "P0.5.2", "--on", "P0.2.6")
    assert code == 0
    waiter = asyncio.create_task(
        ifmesh(room, webrtc, "wait", "P0.5.2", "--until", "unblocked", "--timeout", "90")
    )

    # An H.323 session asks for documentation help; the governor routes it to session-2.
    code, asked = await ifmesh(
        room, h323, "help", "P0.3.6", "--need", "docs:technical-writing",
        "--description", "MCU cascade configuration is undocumented",
    )  # fmt: skip
    assert webrtc in asked["helpers"]
    code, _ = await ifmesh(room, webrtc, "offer", asked["request_id"], "--message", "on it")
    assert code == 0

    # session-5 delivers P0.2.6; the waiting session wakes on its own node's fold.
    assert (await ifmesh(room, cli, "claim", "P0.2.6", "--force"))[0] == 0
    for percent in ("50", "100"):
        assert (await ifmesh(room, cli, "progress", "P0.2.6", percent, "tests"))[0] == 0
    assert (await ifmesh(room, cli, "complete", "P0.2.6", "--tests-pass"))[0] == 0
    code, woke = await asyncio.wait_for(waiter, 60)
    assert code == 0 and woke["until"] == "unblocked"
    code, claimed = await ifmesh(room, webrtc, "claim", "P0.5.2", "--confirmed")
    assert code == 0 and claimed["confirmed"] is True
    assert (await ifmesh(room, webrtc, "complete", "P0.5.2", "--tests-pass",
                         "--deliverable", "docs/components/IF.GOVERNOR.md"))[0] == 0  # fmt: skip

    async def converged() -> bool:
        documents = [await board(room, s) for s in room.members]
        # Folded facts only: STALE and last-event times are judged at each query's own time.
        fields = ("id", "owner", "epoch", "percent", "confirmed", "milestone")
        views = [json.dumps([[t[f] for f in fields] for t in d["tasks"]]) for d in documents]
        done = tasks(documents[0])["P0.5.2"]["status"] == "COMPLETED"
        return (
            done
            and len(set(views)) == 1
            and all(tasks(d)["P0.5.2"]["confirmed"] for d in documents)
        )

    await until(room, converged, 120, "identical boards on every node", watch=h323)

    # Git is the durable record: the branch carries the sessions' own commit messages.
    await room.close()
    log = (
        await asyncio.to_thread(
            subprocess.run,
            ["git", "--git-dir", str(room.remote), "log", "--format=%s", BRANCH],
            capture_output=True, text=True, check=True,
        )
    ).stdout  # fmt: skip
    for subject in ("claim: P0.2.6", "complete: P0.2.6", "claim: P0.5.2", "complete: P0.5.2",
                    "block: P0.5.2 on P0.2.6"):  # fmt: skip
        assert subject in log, log


async def test_a_killed_node_goes_stale_is_taken_over_by_claim_and_is_fenced_on_return(
    room: LocalRoom,
) -> None:
    """The default policy (``takeover: offer``): no node steals by itself; the stale task of
    the absent session heads `ifmesh next`, and the session that claims it takes it over."""
    owner, taker = "session-3-h323", "session-2-webrtc"
    assert (await ifmesh(room, owner, "claim", "P0.1.4", "--confirmed"))[0] == 0
    room.kill_node(owner)

    async def offered() -> bool:
        code, proposed = await ifmesh(room, taker, "next")
        return code == 0 and proposed["tasks"][0].get("take_over_from") == owner

    await until(room, offered, 60, "`ifmesh next` to offer P0.1.4 to take over", watch=taker)
    code, proposed = await ifmesh(room, taker, "next")
    assert proposed["tasks"][0]["id"] == "P0.1.4" and proposed["tasks"][0]["status"] == "STALE"
    # Two idle nodes have seen the lease run out: had either stolen it, this claim would lose.
    code, took = await ifmesh(room, taker, "claim", "P0.1.4")
    assert code == 0, took
    assert (took["won"], took["decided_by"], took["epoch"]) == (True, "git", 1)
    assert took["taken_over_from"] == owner
    code, status = await ifmesh(room, taker, "status")
    assert {"task": "P0.1.4", "epoch": 1, "from": owner, "confirmed": True} in status["taken_over"]

    room.start_node(owner)
    await room.wait_control(owner)

    async def caught_up() -> bool:
        return tasks(await board(room, owner))["P0.1.4"]["epoch"] == 1

    await until(room, caught_up, 60, "the old owner to learn of the takeover", watch=owner)
    code, refusal = await ifmesh(room, owner, "progress", "P0.1.4", "50")
    assert code == 1
    assert refusal["error"]["code"] in {"not_owner", "stale_epoch"}


async def test_signaling_outage_falls_back_to_git_and_rejoins(room: LocalRoom) -> None:
    await room.stop_signaling()
    assert (await ifmesh(room, "session-2-webrtc", "claim", "P0.2.4"))[0] == 0

    async def seen_through_git() -> bool:
        return tasks(await board(room, "session-5-cli"))["P0.2.4"]["owner"] == "session-2-webrtc"

    await until(
        room,
        seen_through_git,
        60,
        "the claim to reach session-5 through git",
        watch="session-5-cli",
    )
    await room.start_signaling()
    await room.wait_mesh(timeout=150)
