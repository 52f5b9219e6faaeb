"""Several server instances sharing rooms through a real redis-server."""

from __future__ import annotations

import asyncio
import json
import signal
import time
from pathlib import Path

import aiohttp
import pytest

from ifmesh.signaling.server import SignalingServer
from tests.integration.signaling.conftest import (
    TIMEOUT,
    Connect,
    SpawnServer,
    StartServer,
    free_port,
    start_redis,
    stop_redis,
)

pytestmark = pytest.mark.integration


@pytest.fixture
async def pair(
    start_server: StartServer, redis_url: str, redis_prefix: str
) -> tuple[SignalingServer, SignalingServer]:
    # A long presence TTL: a loaded test host must never make these instances expire.
    options = {"redis_url": redis_url, "redis_prefix": redis_prefix, "presence_ttl": 10.0}
    first = await start_server(**options, limits={"max_peers": 3})
    second = await start_server(**options, limits={"max_peers": 3})
    return first, second


async def test_roster_and_relay_cross_instances(
    pair: tuple[SignalingServer, SignalingServer], connect: Connect
) -> None:
    first, second = pair
    a, b = await connect(first.url), await connect(second.url)
    await a.join("room", "a", capabilities=["git"])
    joined = await b.join("room", "b")
    assert joined["roster"] == [
        {"session": "a", "capabilities": ["git"]},
        {"session": "b", "capabilities": []},
    ]
    assert joined["roster_version"] == 2
    seen = await a.expect("peer-joined")
    assert (seen["session"], seen["roster_version"]) == ("b", 2)

    await a.send(type="offer", to="b", epoch=3, sdp="v=0", **{"from": "mallory"})
    assert await b.expect("offer") == {
        "type": "offer", "to": "b", "from": "a", "epoch": 3, "sdp": "v=0"
    }  # fmt: skip
    await b.send(type="candidate", to="a", epoch=3, candidate="", sdpMid="0", sdpMLineIndex=0)
    candidate = await a.expect("candidate")
    assert (candidate["from"], candidate["candidate"], candidate["sdpMid"]) == ("b", "", "0")

    await b.send(type="leave")
    left = await a.expect("peer-left")
    assert (left["session"], left["reason"], left["roster_version"]) == ("b", "left", 3)
    await b.join("room", "b")
    assert (await a.expect("peer-joined"))["roster_version"] == 4
    await b.ws.close()
    left = await a.expect("peer-left")
    assert (left["session"], left["reason"], left["roster_version"]) == ("b", "closed", 5)
    await a.send(type="offer", to="b", epoch=4, sdp="v=0")
    await a.expect_error("unknown_peer")


async def test_a_rejoin_on_another_instance_replaces_the_old_connection(
    pair: tuple[SignalingServer, SignalingServer], connect: Connect
) -> None:
    first, second = pair
    watcher, old, new = (
        await connect(first.url),
        await connect(first.url),
        await connect(second.url),
    )
    await watcher.join("room", "watcher")
    await old.join("room", "node")
    await watcher.expect("peer-joined")
    joined = await new.join("room", "node")
    assert [m["session"] for m in joined["roster"]] == ["node", "watcher"]
    await old.expect_error("session_replaced")
    assert await old.expect_close() == 4409
    assert (await watcher.expect("peer-left"))["reason"] == "replaced"
    assert (await watcher.expect("peer-joined"))["session"] == "node"
    await watcher.send(type="answer", to="node", epoch=1, sdp="v=0")
    assert (await new.expect("answer"))["from"] == "watcher"


async def test_room_size_is_enforced_across_instances(
    pair: tuple[SignalingServer, SignalingServer], connect: Connect
) -> None:
    first, second = pair
    clients = [await connect(server.url) for server in (first, second, first, second)]
    for index, client in enumerate(clients[:3]):
        await client.join("room", f"s{index}")
    await clients[3].send(type="join", room="room", session="s3")
    await clients[3].expect_error("room_full")
    assert await clients[3].expect_close() == 4403


async def test_a_crashed_instance_members_leave_within_the_presence_ttl(
    start_server: StartServer,
    spawn_server: SpawnServer,
    connect: Connect,
    redis_url: str,
    redis_prefix: str,
) -> None:
    # The survivor reaps every 3 s / 3; the doomed instance's presence lives 1 s.
    survivor = await start_server(redis_url=redis_url, redis_prefix=redis_prefix, presence_ttl=3.0)
    doomed = await spawn_server(
        "--redis", redis_url, "--redis-prefix", redis_prefix, "--presence-ttl", "1"
    )
    a, b = await connect(survivor.url), await connect(doomed.url)
    await a.join("room", "a")
    await b.join("room", "b")
    assert (await a.expect("peer-joined"))["session"] == "b"

    doomed.signal(signal.SIGKILL)  # no goodbye: only the expired presence tells
    await doomed.process.wait()
    loop = asyncio.get_running_loop()
    killed_at = loop.time()
    left = await a.expect("peer-left", timeout=TIMEOUT)
    assert (left["session"], left["reason"]) == ("b", "expired")
    # Bound: the doomed TTL (1 s) + one reaping period (1 s) + scheduling; generous for load.
    assert loop.time() - killed_at < 8.0
    await a.send(type="offer", to="b", epoch=0, sdp="v=0")
    await a.expect_error("unknown_peer")


async def test_a_stopping_instance_members_leave_at_once(
    start_server: StartServer,
    spawn_server: SpawnServer,
    connect: Connect,
    redis_url: str,
    redis_prefix: str,
) -> None:
    survivor = await start_server(redis_url=redis_url, redis_prefix=redis_prefix)
    leaving = await spawn_server("--redis", redis_url, "--redis-prefix", redis_prefix)
    a, b = await connect(survivor.url), await connect(leaving.url)
    await a.join("room", "a")
    await b.join("room", "b")
    await a.expect("peer-joined")
    leaving.signal(signal.SIGTERM)
    await b.expect("server-closing")
    left = await a.expect("peer-left")
    assert (left["session"], left["reason"]) == ("b", "closed")
    assert await asyncio.wait_for(leaving.process.wait(), TIMEOUT) == 0


async def test_healthz_names_the_backplane(
    pair: tuple[SignalingServer, SignalingServer], connect: Connect
) -> None:
    first, _ = pair
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"http://127.0.0.1:{first.port}/healthz") as response,
    ):
        health = json.loads(await response.text())
    assert response.status == 200
    assert (health["status"], health["backplane"]) == ("ok", "redis")


async def health(port: int) -> int:
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"http://127.0.0.1:{port}/healthz") as response,
    ):
        return response.status


async def test_a_redis_outage_is_survived_and_members_rejoin_after_it(
    start_server: StartServer, connect: Connect, tmp_path: Path
) -> None:
    port = free_port()
    redis_process = start_redis(port, tmp_path)
    try:
        server = await start_server(redis_url=f"redis://127.0.0.1:{port}/0", presence_ttl=1.5)
        member, newcomer = await connect(server.url), await connect(server.url)
        await member.join("room", "member")

        stop_redis(redis_process)
        await newcomer.send(type="join", room="room", session="newcomer")
        error = await newcomer.expect_error("backplane_unavailable")
        assert "Redis" in error["message"]
        assert await health(server.port) == 503
        await member.roundtrip()  # the server keeps serving what it can

        redis_process = start_redis(port, tmp_path)  # restarted empty: every roster is lost
        # The member's presence went with Redis's data: it is told to join again.
        await member.expect_error("presence_expired")
        assert await member.expect_close() == 4410
        deadline = time.monotonic() + TIMEOUT
        while await health(server.port) != 200:
            assert time.monotonic() < deadline, "server did not recover its Redis connection"
            await asyncio.sleep(0.05)
        joined = await newcomer.join("room", "newcomer")  # the same connection, retried
        assert [m["session"] for m in joined["roster"]] == ["newcomer"]
    finally:
        stop_redis(redis_process)
