"""The signaling server goes away and comes back: the mesh keeps working and grows again."""

from __future__ import annotations

import pytest

from ifmesh.node.mesh.events import MessageReceived, SignalingChanged
from ifmesh.signaling.config import ServerConfig
from ifmesh.signaling.server import SignalingServer
from tests.integration.mesh.conftest import TIMEOUT, MeshFactory, full_mesh, next_event, progress

pytestmark = pytest.mark.integration


async def test_outage_keeps_channels_and_a_new_node_joins_after_restart(
    signaling: SignalingServer, make_mesh: MeshFactory
) -> None:
    sessions = ["alpha", "bravo", "charlie"]
    meshes = await full_mesh(make_mesh, sessions)
    streams = [mesh.events() for mesh in meshes]
    port = signaling.port

    await signaling.stop()
    for stream in streams:
        await next_event(stream, SignalingChanged, lambda e: not e.joined)
    await meshes[0].broadcast(progress("alpha", "during the outage"))
    for stream in streams[1:]:
        received = await next_event(stream, MessageReceived)
        assert received.message.payload.milestone == "during the outage"
    assert all(mesh.peers_up == set(sessions) - {mesh.session} for mesh in meshes)

    restarted = SignalingServer(ServerConfig(port=port))
    await restarted.start()
    try:
        for stream in streams:
            await next_event(stream, SignalingChanged, lambda e: e.joined)
        newcomer = await make_mesh("delta")
        await newcomer.wait_ready(TIMEOUT, set(sessions))
        for mesh in meshes:
            await mesh.wait_ready(TIMEOUT, {*sessions, "delta"} - {mesh.session})
        acked = await newcomer.broadcast(progress("delta", "hello"), ack=True, timeout=TIMEOUT)
        assert acked == set(sessions)
        for mesh in meshes:
            old_pairs = {p: m for p, m in mesh.metrics().items() if p != "delta"}
            assert all(m.reconnects == 0 for m in old_pairs.values()), "no pair was rebuilt"
    finally:
        for mesh in [*meshes]:
            await mesh.close()
        await restarted.stop()
