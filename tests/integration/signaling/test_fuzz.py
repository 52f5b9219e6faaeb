"""Seeded fuzz: 10,000+ hostile frames while a well-behaved pair keeps relaying, unharmed."""

from __future__ import annotations

import asyncio
import json
import random
import re
from typing import Any

import aiohttp
import pytest

from ifmesh.signaling.errors import error_classes
from tests.integration.signaling.conftest import (
    TIMEOUT,
    Client,
    Closed,
    Connect,
    SpawnServer,
    join_room,
)

pytestmark = pytest.mark.integration

SEED = 20_240_501
FRAMES = 10_000
MAX_FRAME = 8192
KNOWN_CODES = {cls.code for cls in error_classes()}
# Ends the connection (1009); the fuzzer then waits for the close and reconnects.
OVERSIZE = json.dumps({"type": "offer", "to": "f2", "epoch": 0, "sdp": "v" * MAX_FRAME})

TEMPLATES: list[dict[str, Any]] = [
    {"type": "join", "room": "fuzz", "session": "f1", "capabilities": ["git"], "token": "x"},
    {"type": "leave"},
    {"type": "ping", "nonce": "n"},
    {"type": "offer", "to": "f2", "epoch": 1, "sdp": "v=0\r\n"},
    {"type": "answer", "to": "f1", "epoch": 1, "sdp": "v=0\r\n"},
    {"type": "candidate", "to": "f2", "epoch": 0, "candidate": "", "sdpMid": "0",
     "sdpMLineIndex": 0},
    {"type": "offer", "to": "good-b", "epoch": 1, "sdp": "v=0"},  # a member of another room
    {"type": "joined", "room": "fuzz", "session": "f1", "roster": [], "roster_version": 1},
    {"type": "peer-left", "room": "good", "session": "good-a", "roster_version": 9},
    {"type": "error", "code": "x", "message": "y"},
]  # fmt: skip


def wild(rng: random.Random) -> Any:
    choices = [
        lambda: rng.randint(-(2**70), 2**70),
        lambda: -1,
        lambda: rng.random() * 1e308,
        lambda: "".join(chr(rng.randint(0, 0x2FFF)) for _ in range(rng.randint(0, 40))),
        lambda: "x" * rng.randint(60, 300),
        lambda: None,
        lambda: rng.choice([True, False]),
        lambda: [wild(rng) for _ in range(rng.randint(0, 3))],
        lambda: {"k": wild(rng)},
        lambda: rng.choice(["fuzz", "f1", "f2", "good", "good-a", "good-b", "", "a b", "é"]),
    ]
    return rng.choice(choices)()


def hostile_frame(rng: random.Random) -> str | bytes:
    roll = rng.random()
    if roll < 0.10:
        return bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 120)))
    if roll < 0.18:
        return rng.choice(["", "{", "}", "null", "[]", "42", '"join"', "[" * 3000 + "]" * 3000])
    if roll < 0.183:
        return OVERSIZE
    frame = dict(rng.choice(TEMPLATES))
    for _ in range(rng.randint(0, 3)):
        mutation = rng.random()
        if mutation < 0.3 and frame:
            frame.pop(rng.choice(list(frame)))
        elif mutation < 0.8:
            key = rng.choice([*frame, "type", "to", "from", "epoch", "room", "session"])
            frame[key] = wild(rng)
        else:
            frame[f"extra{rng.randint(0, 9)}"] = wild(rng)
    if frame.get("room") == "good" or frame.get("session") in ("good-a", "good-b"):
        frame["room"] = "fuzz"  # an open server lets anyone take a session: not the point here
    text = json.dumps(frame)
    return text.encode() if rng.random() < 0.05 else text


async def fuzz(url: str, connect: Connect, stats: dict[str, int]) -> None:
    rng = random.Random(SEED)
    sent = 0
    while sent < FRAMES:
        client = await connect(url)
        reader = asyncio.create_task(collect(client, stats))
        try:
            while sent < FRAMES and not client.ws.closed:
                frame = hostile_frame(rng)
                if isinstance(frame, bytes):
                    await client.ws.send_bytes(frame)
                else:
                    await client.ws.send_str(frame)
                sent += 1
                if frame is OVERSIZE:
                    break
                if sent % 200 == 0:
                    await asyncio.sleep(0)  # let the relaying pair interleave
        finally:
            await client.roundtrip_until_done(reader)
    stats["sent"] = sent


async def collect(client: Client, stats: dict[str, int]) -> None:
    with_codes = stats
    while True:
        try:
            frame = await client.recv(timeout=TIMEOUT)
        except (Closed, TimeoutError):
            return
        if frame.get("nonce") == "fuzz-done":
            return
        kind = frame["type"]
        with_codes[kind] = with_codes.get(kind, 0) + 1
        if kind == "error":
            code = frame["code"]
            assert code in KNOWN_CODES, frame
            assert code != "internal_error", frame
            with_codes[f"code:{code}"] = with_codes.get(f"code:{code}", 0) + 1


async def relay_pair(a: Client, b: Client, stop: asyncio.Event) -> int:
    """a offers to b, b answers to a, in lock step; every frame must come back intact."""
    epoch = 0
    while not stop.is_set() or epoch < 20:
        sdp = f"v=0\r\ns=round {epoch}\r\n"
        await a.send(type="offer", to="good-b", epoch=epoch, sdp=sdp)
        assert await b.recv() == {
            "type": "offer", "to": "good-b", "from": "good-a", "epoch": epoch, "sdp": sdp
        }  # fmt: skip
        await b.send(type="candidate", to="good-a", epoch=epoch, candidate="", sdpMid="0")
        assert await a.recv() == {
            "type": "candidate", "to": "good-a", "from": "good-b", "epoch": epoch,
            "candidate": "", "sdpMid": "0",
        }  # fmt: skip
        epoch += 1
    return epoch


async def test_hostile_frames_never_crash_the_server_or_disturb_others(
    spawn_server: SpawnServer, connect: Connect
) -> None:
    server = await spawn_server(
        "--rate", "1000000", "--burst", "1000000", "--max-frame-bytes", str(MAX_FRAME),
        "--log-level", "WARNING",
    )  # fmt: skip
    a, b = await connect(server.url), await connect(server.url)
    await join_room("good", {"good-a": a, "good-b": b})
    stop = asyncio.Event()
    pair = asyncio.create_task(relay_pair(a, b, stop))
    stats: dict[str, int] = {}
    await asyncio.wait_for(fuzz(server.url, connect, stats), 60)
    stop.set()
    rounds = await asyncio.wait_for(pair, TIMEOUT)

    assert stats["sent"] >= FRAMES
    assert rounds >= 20
    assert stats["error"] > FRAMES // 2, stats
    for code in ("bad_json", "unknown_type", "missing_field", "invalid_field", "unknown_peer",
                 "not_joined", "frame_too_large"):  # fmt: skip
        assert stats.get(f"code:{code}", 0) > 0, (code, stats)
    await a.roundtrip()  # nothing stray reached the pair
    await b.roundtrip()
    assert server.process.returncode is None, "the server survived"
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"http://{server.http}/metrics") as response,
    ):
        metrics = await response.text()
    assert 'code="internal_error"' not in metrics
    received = re.search(r"^signaling_frames_received_total (\S+)$", metrics, re.MULTILINE)
    assert received is not None and float(received.group(1)) >= FRAMES
