"""Anyone who can push can write lines into any session's log in git: such lines are refused
on every node, counted, and never folded (docs/security.md, "Git pushers")."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiohttp
import pytest

from ifmesh.node.cli.room import LocalRoom
from ifmesh.node.identity import seal
from ifmesh.node.identity.keys import SessionKey
from ifmesh.node.protocol import codec
from ifmesh.node.protocol import messages as m
from tests.conftest import require_tool
from tests.integration.identity.support import push_as_anyone, status, until

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]
VICTIM = "session-2-webrtc"
LOG = f".ifmesh/log/{VICTIM}/open"  # the victim's open segment (node.gitsync.segments)
TASK = "F2.3"  # available on the example board, held by nobody


def forged_lines(genuine: m.Envelope, now: Any) -> list[bytes]:
    """Three forgeries in the victim's name: unsigned, a genuine event altered, and one signed
    by a key nobody pinned."""
    claim = m.make_message(
        m.TaskClaim(task_id=TASK, epoch=0, swarm_id=VICTIM, timestamp=now),
        source=VICTIM,
        timestamp=now,
        seq=genuine.seq + 100,
        lamport=genuine.lamport + 100,
        incarnation="forged",  # "another process of the victim", were it not unsigned
    )
    altered = genuine.model_copy(update={"seq": genuine.seq + 101})
    mallory = seal.sign(claim.model_copy(update={"seq": genuine.seq + 102}), SessionKey.generate())
    return [codec.encode(e) + b"\n" for e in (claim, altered, mallory)]


async def test_an_event_forged_into_a_sessions_log_is_refused_on_every_node(
    tmp_path: Path,
) -> None:
    require_tool("git")
    async with LocalRoom(tmp_path / "room", sessions=3, fetch_interval_seconds=1) as room:
        await room.wait_mesh(timeout=120)
        assert room.remote is not None
        # The victim is stopped, or its bridge would put its log back before others read it.
        assert await room.stop_node(VICTIM) == 0
        others = [s for s in room.members if s != VICTIM]

        def forge(work: Path) -> None:
            log = sorted((work / LOG).iterdir())[-1]  # its latest file
            genuine = codec.decode(log.read_bytes().splitlines()[-1])
            with log.open("ab") as file:
                file.writelines(forged_lines(genuine, genuine.timestamp))

        push_as_anyone(room.remote, tmp_path / "mallory", forge)

        async def refused_by_the_others() -> bool:
            for session in others:
                counts = (await status(room, session))["identity"]["refused"]["by_code"]
                if counts.get("unsigned", 0) < 1 or counts.get("bad_signature", 0) < 1:
                    return False
            return True

        await until(refused_by_the_others, 60, "every node to refuse the forged lines")
        for session in others:
            document = await status(room, session)
            recent = document["identity"]["refused"]["recent"]
            assert {(r["source"], r["origin"]) for r in recent} == {(VICTIM, "git")}, recent
            url = room.endpoint(session).url + "/metrics"
            async with aiohttp.ClientSession() as http, http.get(url) as response:
                page = await response.text()
            assert 'ifmesh_signatures_refused_total{code="bad_signature"} 1.0' in page

        # The victim comes back: a forgery in its log is no second process of it (it goes on),
        # and it drops the lines from its log.
        room.start_node(VICTIM)
        await room.wait_control(VICTIM)

        async def dropped() -> bool:
            errors = (await status(room, VICTIM))["git"]["recent_errors"]
            return any("forgery" in e for e in errors)

        await until(dropped, 60, f"{VICTIM} to drop the forged lines of its log")
        for session in room.members:
            document = await status(room, session)
            assert document["fatal"] is None
            async with room.client(session) as node:
                board = await node.query("board")
            task = next(t for t in board["tasks"] if t["id"] == TASK)
            assert task["status"] == "AVAILABLE", task  # the forged claim was never folded
