"""A misbehaving member of the room cannot break a node's pairs with bad negotiation frames."""

from __future__ import annotations

import aiohttp
import orjson
import pytest

from ifmesh.node.mesh.events import MessageReceived
from ifmesh.signaling.server import SignalingServer
from tests.integration.mesh.conftest import (
    ROOM,
    TIMEOUT,
    MeshFactory,
    full_mesh,
    next_event,
    progress,
)

pytestmark = pytest.mark.integration


async def test_garbage_offers_answers_and_candidates_are_refused_quietly(
    signaling: SignalingServer, make_mesh: MeshFactory
) -> None:
    alpha, bravo = await full_mesh(make_mesh, ["alpha", "bravo"])
    async with aiohttp.ClientSession() as http, http.ws_connect(signaling.url) as rogue:
        # "0-rogue" sorts before "alpha": alpha expects offers from it and will answer.
        await rogue.send_str(
            orjson.dumps({"type": "join", "room": ROOM, "session": "0-rogue"}).decode()
        )
        joined = orjson.loads((await rogue.receive(timeout=TIMEOUT)).data)
        assert joined["type"] == "joined"
        for frame in [
            {"type": "offer", "to": "alpha", "epoch": 5, "sdp": "v=0\r\nthis is not sdp\r\n"},
            {"type": "offer", "to": "alpha", "epoch": 6, "sdp": "v=0\r\n"},
            {"type": "candidate", "to": "alpha", "epoch": 6, "candidate": "candidate:garbled"},
            {"type": "answer", "to": "bravo", "epoch": 1, "sdp": "v=0\r\n"},
            {"type": "answer", "to": "alpha", "epoch": 99, "sdp": "v=0\r\n"},
        ]:
            await rogue.send_str(orjson.dumps(frame).decode())
        # The node still negotiates (a new member joins) and its pairs still carry messages.
        charlie = await make_mesh("charlie")
        await charlie.wait_ready(TIMEOUT, {"alpha", "bravo"})
    events = bravo.events()
    await alpha.broadcast(progress("alpha", "still here"))
    received = await next_event(events, MessageReceived)
    assert received.message.payload.milestone == "still here"
    assert alpha.pairs["bravo"].metrics.reconnects == 0
    assert "0-rogue" not in alpha.peers_up
