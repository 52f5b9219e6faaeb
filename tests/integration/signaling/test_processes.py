"""Real processes: graceful SIGTERM, a frozen client found by the heartbeat, the CLI."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from ifmesh.signaling import auth
from tests.integration.signaling.conftest import (
    REPO,
    TIMEOUT,
    Connect,
    SpawnServer,
    StartServer,
    join_room,
)

pytestmark = pytest.mark.integration

# A client in its own process: joins, says so, then just keeps its socket (answering pings).
FROZEN_CLIENT = textwrap.dedent(
    """
    import asyncio, json, sys, aiohttp

    async def main():
        async with aiohttp.ClientSession() as http:
            ws = await http.ws_connect(sys.argv[1])
            await ws.send_str(json.dumps({"type": "join", "room": "room", "session": "frozen"}))
            assert json.loads((await ws.receive()).data)["type"] == "joined"
            print("joined", flush=True)
            async for _ in ws:
                pass

    asyncio.run(main())
    """
)


@pytest.fixture
async def frozen_client() -> AsyncIterator[list[asyncio.subprocess.Process]]:
    processes: list[asyncio.subprocess.Process] = []
    yield processes
    for process in processes:
        process.send_signal(signal.SIGCONT)
        process.kill()
        await process.wait()


async def test_a_frozen_peer_leaves_the_roster_by_heartbeat(
    start_server: StartServer,
    connect: Connect,
    frozen_client: list[asyncio.subprocess.Process],
) -> None:
    server = await start_server(heartbeat=1.0)
    watcher = await connect(server.url)
    await watcher.join("room", "watcher")
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", FROZEN_CLIENT, server.url, stdout=asyncio.subprocess.PIPE
    )
    frozen_client.append(process)
    assert process.stdout is not None
    assert await asyncio.wait_for(process.stdout.readline(), TIMEOUT) == b"joined\n"
    assert (await watcher.expect("peer-joined"))["session"] == "frozen"

    # SIGSTOP: the kernel keeps the TCP connection open, but nothing answers pings any more,
    # exactly like a host that vanished without closing its connections.
    process.send_signal(signal.SIGSTOP)
    left = await watcher.expect("peer-left", timeout=TIMEOUT)
    assert (left["session"], left["reason"]) == ("frozen", "timeout")
    await watcher.roundtrip()  # the watcher itself answers pings and stays


async def test_sigterm_sends_server_closing_then_1001_and_exits_cleanly(
    spawn_server: SpawnServer, connect: Connect
) -> None:
    server = await spawn_server()
    a, b = await connect(server.url), await connect(server.url)
    await join_room("room", {"a": a, "b": b})
    server.signal(signal.SIGTERM)
    for client in (a, b):
        closing = await client.expect("server-closing")
        assert closing["reason"] == "shutdown" and closing["retry_after"] > 0
        assert await client.expect_close() == 1001
    assert await asyncio.wait_for(server.process.wait(), TIMEOUT) == 0
    log = server.log.read_text()
    assert "shutting_down connections=2" in log and "stopped" in log


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ifmesh.node.cli.main", *args],  # `ifmesh …`
        capture_output=True, text=True, cwd=REPO, timeout=TIMEOUT, check=False,
    )  # fmt: skip


def test_token_command_mints_a_token_the_server_accepts(tmp_path: Path) -> None:
    secret_file = tmp_path / "secret"
    secret_file.write_text("0123456789abcdef0123\n")
    done = run_cli("token", "--room", "phase-0", "--session", "session-2", "--ttl", "1h",
                   "--secret-file", str(secret_file))  # fmt: skip
    assert done.returncode == 0, done.stderr
    token = done.stdout.strip()
    claims = auth.verify(
        b"0123456789abcdef0123", token, room="phase-0", session="session-2", now=time.time()
    )
    assert 3590 <= claims.expires_at - time.time() <= 3600
    refused = run_cli("token", "--room", "r", "--session", "s", "--secret-file", "/nonexistent")
    assert refused.returncode == 2 and "cannot read secret file" in refused.stderr
    refused = run_cli("token", "--room", "no spaces", "--session", "s",
                      "--secret-file", str(secret_file))  # fmt: skip
    assert refused.returncode == 2 and "invalid --room" in refused.stderr


def test_an_open_server_refuses_to_bind_beyond_loopback() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "ifmesh.signaling", "--host", "0.0.0.0", "--port", "0"],
        capture_output=True, text=True, cwd=REPO, timeout=TIMEOUT, check=False,
        env={**os.environ},
    )  # fmt: skip
    assert done.returncode == 2
    assert "--insecure-bind-all" in done.stderr and "--secret-file" in done.stderr


async def test_an_open_server_says_so_at_start_up(spawn_server: SpawnServer) -> None:
    server = await spawn_server()
    server.signal(signal.SIGTERM)
    assert await asyncio.wait_for(server.process.wait(), TIMEOUT) == 0
    assert "open_server auth=none" in server.log.read_text()
