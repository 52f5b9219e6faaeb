"""Joining a server that requires tokens: a valid token joins, a missing one fails fast."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import pytest

from ifmesh.node.mesh.config import LOOPBACK, MeshConfig
from ifmesh.node.mesh.errors import SignalingRefused
from ifmesh.node.mesh.mesh import Mesh
from ifmesh.signaling import auth
from ifmesh.signaling.config import ServerConfig
from ifmesh.signaling.server import SignalingServer
from tests.integration.mesh.conftest import ROOM, TIMEOUT

pytestmark = pytest.mark.integration

SECRET = b"s" * 32


@pytest.fixture
async def secured() -> AsyncIterator[SignalingServer]:
    server = SignalingServer(ServerConfig(port=0, secret=SECRET))
    await server.start()
    yield server
    await server.stop()


async def test_token_joins_and_missing_token_is_refused_without_retrying(
    secured: SignalingServer,
) -> None:
    def token_for(session: str) -> str:
        return auth.mint(SECRET, ROOM, session, int(time.time()) + 3600)

    async with (
        Mesh(MeshConfig(secured.url, ROOM, "alpha", token=token_for("alpha"),
                        host_addresses=LOOPBACK)) as alpha,
        Mesh(MeshConfig(secured.url, ROOM, "bravo", token=lambda: token_for("bravo"),
                        host_addresses=LOOPBACK)) as bravo,
    ):  # fmt: skip
        await alpha.wait_ready(TIMEOUT, {"bravo"})
        assert bravo.peers_up == {"alpha"}

    started = time.monotonic()
    with pytest.raises(SignalingRefused, match="token") as refused:
        async with Mesh(MeshConfig(secured.url, ROOM, "charlie", host_addresses=LOOPBACK)):
            pass
    assert refused.value.server_code == "auth_required"
    assert time.monotonic() - started < TIMEOUT, "a refusal is not retried until the timeout"
