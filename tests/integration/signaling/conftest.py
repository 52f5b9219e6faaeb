"""Real signaling servers (in-process and as processes), real redis-server, WebSocket clients."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import redis

from ifmesh.signaling.config import ServerConfig
from ifmesh.signaling.limits import ServerLimits
from ifmesh.signaling.server import SignalingServer
from tests.conftest import require_tool

REPO = Path(__file__).resolve().parents[3]
TIMEOUT = 10.0


class Closed(Exception):
    def __init__(self, code: int | None) -> None:
        self.code = code
        super().__init__(f"socket closed with {code}")


class Client:
    """A signaling client speaking raw JSON frames, as a browser would.

    A pump task reads the socket all the time, as a browser does, so the server's heartbeat
    pings are answered even while a test is busy elsewhere; frames wait in a queue.
    """

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self._frames: asyncio.Queue[dict[str, Any] | Closed] = asyncio.Queue()
        self.pump = asyncio.get_running_loop().create_task(self._read())

    async def _read(self) -> None:
        while True:
            message = await self.ws.receive()
            if message.type is aiohttp.WSMsgType.TEXT:
                self._frames.put_nowait(json.loads(message.data))
                continue
            if message.type is aiohttp.WSMsgType.CLOSE:
                self._frames.put_nowait(Closed(message.data))
            else:
                self._frames.put_nowait(Closed(self.ws.close_code))
            return

    async def send(self, **frame: Any) -> None:
        await self.ws.send_str(json.dumps(frame))

    async def _next(self, timeout: float) -> dict[str, Any] | Closed:
        item = await asyncio.wait_for(self._frames.get(), timeout)
        if isinstance(item, Closed):
            self._frames.put_nowait(item)  # closed stays closed for every later read
        return item

    async def recv(self, timeout: float = TIMEOUT) -> dict[str, Any]:
        item = await self._next(timeout)
        if isinstance(item, Closed):
            raise item
        return item

    async def expect(self, kind: str, timeout: float = TIMEOUT) -> dict[str, Any]:
        frame = await self.recv(timeout)
        assert frame["type"] == kind, frame
        return frame

    async def expect_error(self, code: str) -> dict[str, Any]:
        frame = await self.expect("error")
        assert frame["code"] == code, frame
        return frame

    async def expect_close(self, timeout: float = TIMEOUT) -> int | None:
        item = await self._next(timeout)
        assert isinstance(item, Closed), item
        return item.code

    async def join(self, room: str, session: str, **fields: Any) -> dict[str, Any]:
        await self.send(type="join", room=room, session=session, **fields)
        return await self.expect("joined")

    async def roundtrip_until_done(self, reader: asyncio.Task[None]) -> None:
        """Asks for a pong with nonce "fuzz-done" so a concurrent reader knows it has all."""
        with contextlib.suppress(ConnectionError, RuntimeError):
            await self.send(type="ping", nonce="fuzz-done")
        await asyncio.wait_for(asyncio.shield(reader), TIMEOUT)

    async def roundtrip(self) -> None:
        """Waits until the server has handled everything sent before (a ping answers)."""
        nonce = uuid.uuid4().hex
        await self.send(type="ping", nonce=nonce)
        while (frame := await self.recv())["type"] != "pong" or frame.get("nonce") != nonce:
            pass


Connect = Callable[[str], Awaitable[Client]]


@pytest.fixture
async def connect() -> AsyncIterator[Connect]:
    clients: list[Client] = []
    async with aiohttp.ClientSession() as http:

        async def open_client(url: str) -> Client:
            client = Client(await http.ws_connect(url, autoping=True))
            clients.append(client)
            return client

        yield open_client
        for client in clients:
            await client.ws.close()
    for client in clients:
        client.pump.cancel()
        with contextlib.suppress(asyncio.CancelledError, aiohttp.ClientError):
            await client.pump


StartServer = Callable[..., Awaitable[SignalingServer]]


def make_config(**overrides: Any) -> ServerConfig:
    limits = overrides.pop("limits", {})
    base = ServerConfig(port=0, heartbeat=5.0, shutdown_grace=2.0, limits=ServerLimits(**limits))
    return replace(base, **overrides)


@pytest.fixture
async def start_server() -> AsyncIterator[StartServer]:
    servers: list[SignalingServer] = []

    async def start(**overrides: Any) -> SignalingServer:
        server = SignalingServer(make_config(**overrides))
        await server.start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        await server.stop()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def start_redis(port: int, workdir: Path) -> subprocess.Popen[bytes]:
    """A real redis-server on 127.0.0.1:``port``, answering PING when this returns."""
    binary = require_tool("redis-server")
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(workdir)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    client = redis.Redis(host="127.0.0.1", port=port)
    deadline = time.monotonic() + TIMEOUT
    try:
        while True:
            with contextlib.suppress(redis.ConnectionError):
                if client.ping():
                    return process
            assert process.poll() is None, "redis-server exited at start-up"
            assert time.monotonic() < deadline, "redis-server did not answer PING"
            time.sleep(0.02)
    finally:
        client.close()


def stop_redis(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    process.wait(timeout=TIMEOUT)


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    process = start_redis(port, tmp_path_factory.mktemp("redis"))
    yield f"redis://127.0.0.1:{port}/0"
    stop_redis(process)


@pytest.fixture
def redis_prefix() -> str:
    """A key space per test, so tests sharing one redis-server never see each other."""
    return f"test-{uuid.uuid4().hex[:8]}:"


@dataclass
class ServerProcess:
    process: asyncio.subprocess.Process
    url: str
    log: Path

    @property
    def http(self) -> str:
        return self.url.removeprefix("ws://").removesuffix("/ws")

    def signal(self, sig: signal.Signals) -> None:
        self.process.send_signal(sig)


SpawnServer = Callable[..., Awaitable[ServerProcess]]


@pytest.fixture
async def spawn_server(tmp_path: Path) -> AsyncIterator[SpawnServer]:
    """Starts `python -m signaling --port 0 ARGS…` and waits for its `listening` line."""
    processes: list[ServerProcess] = []

    async def spawn(*args: str) -> ServerProcess:
        log = tmp_path / f"server-{len(processes)}.log"
        with log.open("wb") as stderr:
            process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "ifmesh.signaling", "--port", "0", *args,
                stdout=asyncio.subprocess.PIPE, stderr=stderr, cwd=REPO,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )  # fmt: skip
        assert process.stdout is not None
        try:
            line = await asyncio.wait_for(process.stdout.readline(), TIMEOUT)
        except TimeoutError:
            process.kill()
            raise
        assert line.startswith(b"listening "), (line, log.read_text())
        server = ServerProcess(process, line.split()[1].decode(), log)
        processes.append(server)
        return server

    yield spawn
    for server in processes:
        if server.process.returncode is None:
            server.process.kill()
            await server.process.wait()


async def join_room(room: str, clients: dict[str, Client]) -> None:
    """Joins every client in order and consumes the peer-joined frames that causes."""
    joined: list[Client] = []
    for session, client in clients.items():
        await client.join(room, session)
        for earlier in joined:
            assert (await earlier.expect("peer-joined"))["session"] == session
        joined.append(client)
