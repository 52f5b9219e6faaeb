"""The control API over real sockets (TCP on 127.0.0.1 and a unix socket)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from ifmesh.node import errors
from ifmesh.node.board.state import TaskStatus
from ifmesh.node.control.client import ControlClient
from ifmesh.node.control.endpoint import ControlEndpoint, write_token
from ifmesh.node.control.server import ControlServer, EventFeed


async def claim(body: dict[str, Any]) -> dict[str, Any]:
    if body["task"] == "P0.2.6":
        raise errors.ClaimConflict("P0.2.6 is already claimed by session-3-h323 (epoch 0)")
    return {"task": body["task"], "provisional": True}


async def board(query: dict[str, Any]) -> dict[str, Any]:
    return {"tasks": [], "filter": query.get("status", "")}


@pytest.fixture(params=["tcp", "unix"])
async def node(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[ControlClient]:
    token_file = write_token(tmp_path)
    server = ControlServer(
        session="session-2-webrtc",
        token=token_file.read_text().strip(),
        commands={"claim": claim},
        queries={"board": board},
        feed=EventFeed(limit=8),
    )
    if request.param == "unix":
        url = await server.start(unix=str(tmp_path / "control.sock"))
    else:
        url = await server.start()
    point = ControlEndpoint("session-2-webrtc", os.getpid(), url, token_file)
    async with ControlClient(point) as client:
        client.server = server  # type: ignore[attr-defined]
        yield client
    await server.close()


async def test_command_and_query(node: ControlClient) -> None:
    assert await node.call("claim", {"task": "P0.5.2"}) == {"task": "P0.5.2", "provisional": True}
    assert (await node.query("board", status="CLAIMED"))["filter"] == "CLAIMED"


async def test_typed_errors_keep_their_code(node: ControlClient) -> None:
    with pytest.raises(errors.RemoteError) as caught:
        await node.call("claim", {"task": "P0.2.6"})
    assert caught.value.code == "claim_conflict"
    assert caught.value.status == 409
    assert "session-3-h323" in str(caught.value)
    with pytest.raises(errors.RemoteError) as unknown:
        await node.call("clam", {})
    assert unknown.value.code == "unknown_command"
    assert "claim" in str(unknown.value)
    with pytest.raises(errors.RemoteError) as bad:
        await node.call("claim", {})
    assert bad.value.code == "bad_request"


async def test_wrong_token_is_refused(node: ControlClient, tmp_path: Path) -> None:
    wrong = tmp_path / "wrong.token"
    wrong.write_text("not-the-token\n")
    point = ControlEndpoint(node.endpoint.session, 0, node.endpoint.url, wrong)
    async with ControlClient(point) as intruder:
        with pytest.raises(errors.Unauthorized):
            await intruder.call("claim", {"task": "P0.5.2"})


async def test_event_stream_delivers_in_order(node: ControlClient) -> None:
    feed: EventFeed = node.server.feed  # type: ignore[attr-defined]
    stream = node.events()
    assert (await anext(stream))["type"] == "subscribed"
    for n in range(5):
        feed.publish({"type": "board.changed", "n": n})
    received = [await asyncio.wait_for(anext(stream), 10) for _ in range(5)]
    assert [event["n"] for event in received] == list(range(5))
    await stream.aclose()


async def test_events_published_together_come_as_one_batch(node: ControlClient) -> None:
    feed: EventFeed = node.server.feed  # type: ignore[attr-defined]
    batches = feed.subscribe_batches()
    for n in range(3):  # one fold: an event and its effects, in one turn of the loop
        feed.publish({"type": "board.changed", "n": n})
    first = await asyncio.wait_for(anext(batches), 10)
    assert [event["n"] for event in first] == [0, 1, 2]
    feed.publish({"type": "board.changed", "n": 3})
    assert [e["n"] for e in await asyncio.wait_for(anext(batches), 10)] == [3]
    await batches.aclose()
    assert feed.subscribers == 0


async def test_stream_lines_carry_datetimes_and_enums_as_text(node: ControlClient) -> None:
    feed: EventFeed = node.server.feed  # type: ignore[attr-defined]
    stream = node.events()
    assert (await anext(stream))["type"] == "subscribed"
    when = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
    feed.publish({"type": "effect", "at": when, "status": TaskStatus.CLAIMED, "to": {"s"}})
    line = await asyncio.wait_for(anext(stream), 10)
    assert line["at"] == "2026-11-26T12:00:00+00:00"
    assert line["status"] == TaskStatus.CLAIMED.value
    assert "s" in line["to"]
    await stream.aclose()


async def test_slow_subscriber_is_cut_off_not_buffered_forever(node: ControlClient) -> None:
    feed: EventFeed = node.server.feed  # type: ignore[attr-defined]
    local = feed.subscribe()
    for n in range(20):
        feed.publish({"type": "tick", "n": n})
    seen = [event async for event in local]
    assert seen[-1]["type"] == "overflow"
    assert len(seen) <= 8
    assert feed.subscribers == 0


async def test_healthz_needs_no_token(node: ControlClient) -> None:
    if node.endpoint.unix_path:
        connector: aiohttp.BaseConnector = aiohttp.UnixConnector(path=node.endpoint.unix_path)
        base = "http://localhost"
    else:
        connector, base = aiohttp.TCPConnector(), node.endpoint.url
    async with (
        aiohttp.ClientSession(connector=connector) as plain,
        plain.get(f"{base}/healthz") as response,
    ):
        assert (await response.json())["session"] == "session-2-webrtc"


async def test_node_gone_is_a_typed_error(tmp_path: Path) -> None:
    token_file = write_token(tmp_path)
    point = ControlEndpoint("session-9-gone", 0, "http://127.0.0.1:9", token_file)
    async with ControlClient(point) as client:
        with pytest.raises(errors.NodeNotRunning, match="does not answer"):
            await client.call("claim", {"task": "P0.5.2"})
