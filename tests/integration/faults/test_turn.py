"""TURN (issue 22 §2): two nodes in namespaces that cannot route to each other meet only
through coturn, started here in a third namespace with long-term credentials. The proof is
read from the nodes themselves: the candidate pair ICE nominated on each side is relay to
relay (``ice_pair`` in `GET /v1/status`'s peers), and claims are decided on the mesh over it.
docs/PHASE-0-PRODUCTION-RUNBOOK.md (TURN) names this test as its proof.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import require_tool
from tests.integration.faults.links import relayed_room
from tests.integration.faults.partition import partition_board

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]


async def test_two_nodes_that_cannot_route_to_each_other_meet_through_turn(
    tmp_path: Path,
) -> None:
    for tool in ("ip", "ss", "git", "turnserver"):
        require_tool(tool)
    async with relayed_room(tmp_path, partition_board(tmp_path)) as room:
        one, other = list(room.members)
        await room.wait_mesh(timeout=180)
        assert room.services is not None
        for session in (one, other):
            async with room.client(session) as node:
                status = await node.query("status")
            (peer,) = status["mesh"]["peers"]
            local, _, remote = peer["ice_pair"].partition(" -> ")
            assert local.startswith("relay ") and remote.startswith("relay "), peer
            # Both relayed addresses are the TURN server's, which neither node routes to.
            assert f" {room.services.address}:" in f" {local} {remote}", peer

        async with room.client(one) as node:
            won = await node.call("claim", {"task": "C.1"}, timeout=120)
        assert won["won"] and won["decided_by"] == "mesh", won
        async with room.client(other) as node:
            won = await node.call("claim", {"task": "C.2"}, timeout=120)
            assert won["won"] and won["decided_by"] == "mesh", won
            board = {t["id"]: t for t in (await node.query("board"))["tasks"]}
        assert board["C.1"]["owner"] == one and board["C.2"]["owner"] == other
