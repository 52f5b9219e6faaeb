"""Limits and tokens: every violation gets its error code before any close."""

from __future__ import annotations

import asyncio
import json
import time

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from ifmesh.signaling import auth
from tests.integration.signaling.conftest import Connect, StartServer, join_room

pytestmark = pytest.mark.integration

SECRET = b"integration-test-secret-0123456789"


async def test_oversize_frame_gets_an_error_then_close_1009(
    start_server: StartServer, connect: Connect
) -> None:
    server = await start_server(limits={"max_frame_bytes": 4096})
    big, bystander = await connect(server.url), await connect(server.url)
    await join_room("room", {"big": big, "bystander": bystander})
    await big.send(type="offer", to="bystander", epoch=0, sdp="v" * 4000)  # just under: fine
    assert (await bystander.expect("offer"))["from"] == "big"
    await big.send(type="offer", to="bystander", epoch=0, sdp="v" * 5000)
    error = await big.expect_error("frame_too_large")
    assert "4096" in error["message"]
    assert await big.expect_close() == 1009
    assert (await bystander.expect("peer-left"))["session"] == "big"


async def test_too_fast_frames_are_dropped_with_rate_limited(
    start_server: StartServer, connect: Connect
) -> None:
    server = await start_server(limits={"rate": 2.0, "burst": 5})
    client = await connect(server.url)
    for index in range(12):
        await client.send(type="ping", nonce=str(index))
    replies = [await client.recv() for _ in range(12)]
    pongs = [r["nonce"] for r in replies if r["type"] == "pong"]
    limited = [r for r in replies if r["type"] == "error"]
    assert pongs[:5] == ["0", "1", "2", "3", "4"], "the burst passes"
    assert limited and all(r["code"] == "rate_limited" for r in limited)
    assert len(pongs) + len(limited) == 12
    # The bucket refills: the same connection is served again.
    deadline = time.monotonic() + 5
    while True:
        await client.send(type="ping", nonce="later")
        if (await client.recv())["type"] == "pong":
            break
        assert time.monotonic() < deadline


async def test_room_full_and_too_many_rooms_close_with_4403(
    start_server: StartServer, connect: Connect
) -> None:
    server = await start_server(limits={"max_peers": 2, "max_rooms": 1})
    a, b, c, d = [await connect(server.url) for _ in range(4)]
    await join_room("room", {"a": a, "b": b})
    await c.send(type="join", room="room", session="c")
    assert "2 members" in (await c.expect_error("room_full"))["message"]
    assert await c.expect_close() == 4403
    await d.send(type="join", room="another", session="d")
    await d.expect_error("too_many_rooms")
    assert await d.expect_close() == 4403
    await a.roundtrip()  # members saw no change
    await b.roundtrip()


async def test_a_client_that_never_joins_is_closed_at_the_deadline(
    start_server: StartServer, connect: Connect
) -> None:
    server = await start_server(limits={"join_deadline": 0.3})
    idle, prompt = await connect(server.url), await connect(server.url)
    await prompt.join("room", "prompt")
    await idle.expect_error("join_timeout")
    assert await idle.expect_close() == 4408
    await prompt.roundtrip()  # a joined client is not subject to the deadline


async def test_with_a_secret_joins_need_a_valid_token(
    start_server: StartServer, connect: Connect
) -> None:
    server = await start_server(secret=SECRET)
    now = int(time.time())
    cases = [
        (None, "auth_required"),
        ("garbage", "bad_token"),
        (auth.mint(b"some-other-secret-xyz", "room", "a", now + 60), "bad_token"),
        (auth.mint(SECRET, "room", "a", now - 1), "token_expired"),
        (auth.mint(SECRET, "other-room", "a", now + 60), "wrong_room"),
        (auth.mint(SECRET, "room", "b", now + 60), "wrong_session"),
    ]
    for token, code in cases:
        client = await connect(server.url)
        fields = {} if token is None else {"token": token}
        await client.send(type="join", room="room", session="a", **fields)
        await client.expect_error(code)
        assert await client.expect_close() == 4401, code
    client = await connect(server.url)
    joined = await client.join("room", "a", token=auth.mint(SECRET, "room", "a", now + 60))
    assert joined["roster_version"] == 1


async def test_healthz_and_metrics_describe_the_server(
    start_server: StartServer, connect: Connect
) -> None:
    server = await start_server()
    a, b = await connect(server.url), await connect(server.url)
    await join_room("room", {"a": a, "b": b})
    await a.send(type="offer", to="b", epoch=0, sdp="v=0")
    await a.send(type="candidate", to="b", epoch=0, candidate="")
    await b.expect("offer")
    await b.expect("candidate")
    await a.send(type="offer", to="nobody", epoch=0, sdp="v=0")
    await a.expect_error("unknown_peer")
    await a.ws.send_str("{")
    await a.expect_error("bad_json")

    base = f"http://127.0.0.1:{server.port}"
    # Prometheus asks for OpenMetrics first; the page stays text 0.0.4, where the counter
    # signaling_connections_total does not clash with the gauge signaling_connections.
    accept = "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5"
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{base}/healthz") as response:
            assert response.status == 200
            health = json.loads(await response.text())
        async with http.get(f"{base}/metrics", headers={"Accept": accept}) as response:
            assert response.status == 200
            assert response.content_type == "text/plain"
            assert "version=0.0.4" in response.headers["Content-Type"]
            page = await response.text()
    assert health["status"] == "ok" and health["auth"] == "open"
    assert (health["rooms"], health["peers"], health["connections"]) == (1, 2, 2)
    samples = {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(page)
        for sample in family.samples
    }
    for name, labels, value in [
        ("signaling_connections", (), 2),
        ("signaling_rooms", (), 1),
        ("signaling_peers", (), 2),
        ("signaling_joins_total", (), 2),
        ("signaling_relays_total", (("type", "offer"),), 1),
        ("signaling_relays_total", (("type", "candidate"),), 1),
        ("signaling_errors_total", (("code", "unknown_peer"),), 1),
        ("signaling_errors_total", (("code", "bad_json"),), 1),
        ("signaling_relay_latency_seconds_bucket", (("le", "+Inf"),), 2),
        ("signaling_relay_latency_seconds_count", (), 2),
    ]:
        assert samples.get((name, labels)) == value, (name, labels)


async def test_invalid_utf8_text_gets_bad_json_then_close_1007(
    start_server: StartServer, connect: Connect
) -> None:
    server = await start_server()
    client = await connect(server.url)
    await client.ws.send_frame(b'{"type": "ping", "nonce": "\xff"}', aiohttp.WSMsgType.TEXT)
    assert "UTF-8" in (await client.expect_error("bad_json"))["message"]
    assert await client.expect_close() == 1007


async def test_a_client_that_stops_reading_is_cut_off_as_a_slow_consumer(
    start_server: StartServer, connect: Connect
) -> None:
    # A long heartbeat: the sink does not answer pings either, and that must not be what
    # removes it.
    server = await start_server(limits={"send_queue": 16}, heartbeat=120.0)
    sender = await connect(server.url)
    await sender.join("room", "sender")
    async with aiohttp.ClientSession() as http:
        sink = await http.ws_connect(server.url)  # joins, then reads nothing at all
        await sink.send_str(json.dumps({"type": "join", "room": "room", "session": "sink"}))
        assert (await sender.expect("peer-joined"))["session"] == "sink"
        sdp, left, epoch = "v" * 50_000, False, 0
        # Bounded by time, not bytes: once the outbox overflows, the server gives the sink
        # a grace period (SLOW_CONSUMER_GRACE) to read its error before cutting it off.
        deadline = asyncio.get_running_loop().time() + 30
        while not left:  # the sink's socket buffers fill, then its outbox does
            assert asyncio.get_running_loop().time() < deadline, "sink still connected after 30 s"
            for _ in range(8):
                await sender.send(type="offer", to="sink", epoch=epoch, sdp=sdp)
                epoch += 1
            # A ping round trip between bursts: the server's writer keeps up, so only a
            # client that does not read can make its outbox grow.
            await sender.send(type="ping", nonce=str(epoch))
            while (frame := await sender.recv())["type"] != "pong":
                if frame["type"] == "peer-left":
                    assert frame["reason"] == "closed", frame
                    left = True
        # The sink never read its error frame, so the server cut it off; others carry on.
        last: dict[str, object] = {}
        async for message in sink:  # what reached the sink before the end
            last = json.loads(message.data)
        if sink.close_code == 1013:  # it was closed, not cut off: the error came first
            assert (last["type"], last["code"]) == ("error", "slow_consumer"), last
        await sink.close()
    await sender.roundtrip()
    assert server.metrics.errors.value(code="slow_consumer") == 1
