"""A mesh closes without waiting on a signaling server that accepts connections and never
answers (overloaded, or stopped with SIGSTOP). Its close waited for the signaling client's
task, which waited for the server: a node's SIGTERM took 8 s, its stop bounded only by the
node's own timeout (issue 22, benchmarks/exit_stress.py, ``signaling-frozen``)."""

from __future__ import annotations

import asyncio
import signal
import socket
import subprocess
import sys

import pytest

from ifmesh.node.mesh.config import LOOPBACK, MeshConfig
from ifmesh.node.mesh.mesh import Mesh
from tests.integration.mesh.conftest import ROOM, TIMEOUT

pytestmark = pytest.mark.integration

# A node has 5 s from SIGTERM to exit, all its parts included; a close that waits on the server
# takes 10 s (aiohttp's close handshake) or forever (a connection attempt).
CLOSE_BOUND = 5.0


async def test_close_while_connecting_to_a_server_that_never_answers() -> None:
    accepted = asyncio.Event()

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.set()
        await reader.read()  # the handshake request, never answered; until the client goes
        writer.close()

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    mesh = Mesh(
        MeshConfig(
            f"ws://127.0.0.1:{port}/ws", ROOM, "alpha", host_addresses=LOOPBACK, join_timeout=None
        )
    )
    try:
        await mesh.__aenter__()
        await asyncio.wait_for(accepted.wait(), TIMEOUT)
        await _closes(mesh)
        assert not mesh.signaling.is_joined
    finally:
        server.close()
        await server.wait_closed()


async def _closes(mesh: Mesh) -> None:
    """``mesh.close()`` ends within CLOSE_BOUND. Not wait_for: a close that swallows the
    cancellation wait_for sends goes on, and wait_for then returns as if it had finished."""
    closing = asyncio.create_task(mesh.close())
    done, _ = await asyncio.wait([closing], timeout=CLOSE_BOUND)
    if not done:
        closing.cancel()
        await asyncio.wait([closing])
    assert done, f"the mesh did not close within {CLOSE_BOUND} s"
    closing.result()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


async def test_close_after_the_joined_server_froze() -> None:
    port = _free_port()
    server = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "ifmesh", "signaling", "--host", "127.0.0.1", "--port", str(port),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    mesh = Mesh(MeshConfig(f"ws://127.0.0.1:{port}/ws", ROOM, "alpha", host_addresses=LOOPBACK))
    try:
        for _ in range(300):  # a process coming up has no event to wait on: 30 s at most
            if _listening(port):
                break
            await asyncio.sleep(0.1)
        await mesh.__aenter__()  # joined (MeshConfig.join_timeout)
        server.send_signal(signal.SIGSTOP)
        await _closes(mesh)
    finally:
        server.send_signal(signal.SIGCONT)
        server.terminate()
        await asyncio.wait_for(server.wait(), TIMEOUT)
