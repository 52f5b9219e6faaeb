"""Signaling server figures: join storm, relay throughput, relay latency, server RSS.

Targets (issue 5), on one server process started here as a separate process
(``python -m signaling``) on 127.0.0.1; the clients run in this process:
  - join storm: 500 clients in 50 rooms, time until every roster is complete  < 5 s
  - relay throughput                                                          >= 5,000 frames/s
  - p99 relay latency at 1,000 frames/s (client send → client receive)        < 5 ms
  - server RSS (peak, VmHWM)                                                  < 150 MB
The server's per-connection rate limit (200 frames/s by default) is raised for the run: the
throughput figure is the server's, not its limiter's. Latency is measured end to end by the
clients (so it includes client overhead: an upper bound); the server's own histogram
(signaling_relay_latency_seconds) is reported alongside.
Run: .venv/bin/python benchmarks/signaling.py
"""

from __future__ import annotations

import asyncio
import json
import re
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parent.parent

STORM_CLIENTS = 500
STORM_ROOMS = 50
THROUGHPUT_PAIRS = 8
THROUGHPUT_FRAMES = 40_000
WINDOW = 256  # frames in flight per pair, so receivers are never flooded
LATENCY_RATE = 1000
LATENCY_SECONDS = 5.0


# Baseline: the least any WebSocket relay does (parse, look up the target, send), in aiohttp,
# as a separate process like the real server. Measured in the same run, it tells how much of
# the latency is this machine's load rather than the signaling server.
BARE_RELAY = """
import json, sys
from aiohttp import web

rooms = {}

async def ws_handler(request):
    ws = web.WebSocketResponse()
    await ws.prepare(request)
    room = None
    async for message in ws:
        frame = json.loads(message.data)
        if frame["type"] == "join":
            room = rooms.setdefault(frame["room"], {})
            for other in room.values():
                await other.send_str(json.dumps({"type": "peer-joined"}))
            room[frame["session"]] = ws
            await ws.send_str(json.dumps({"type": "joined"}))
        elif room is not None and frame.get("to") in room:
            await room[frame["to"]].send_str(message.data)
    return ws

app = web.Application()
app.router.add_get("/ws", ws_handler)
runner = web.AppRunner(app)

async def main():
    import asyncio
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    print("listening ws://127.0.0.1:%d/ws" % site._server.sockets[0].getsockname()[1], flush=True)
    await asyncio.Event().wait()

import asyncio
asyncio.run(main())
"""


async def start_server(*command: str) -> tuple[asyncio.subprocess.Process, str]:
    command = command or (
        "-m", "ifmesh.signaling", "--port", "0", "--log-level", "WARNING",
        "--rate", "1000000", "--burst", "1000000",
    )  # fmt: skip
    process = await asyncio.create_subprocess_exec(
        sys.executable, *command,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL, cwd=ROOT,
    )  # fmt: skip
    assert process.stdout is not None
    line = await asyncio.wait_for(process.stdout.readline(), 30)
    if not line.startswith(b"listening "):
        raise SystemExit(f"server did not start: {line!r}")
    return process, line.split()[1].decode()


def rss_mb(pid: int) -> dict[str, float]:
    status = Path(f"/proc/{pid}/status").read_text()
    values = {k: int(v) / 1024 for k, v in re.findall(r"^(VmRSS|VmHWM):\s+(\d+) kB", status, re.M)}
    return {"rss_mb": round(values["VmRSS"], 1), "peak_rss_mb": round(values["VmHWM"], 1)}


async def join_storm(http: aiohttp.ClientSession, url: str) -> tuple[float, list[Any]]:
    """Every client connects and joins at once; done when every roster holds its whole room."""
    per_room = STORM_CLIENTS // STORM_ROOMS

    async def member(index: int) -> aiohttp.ClientWebSocketResponse:
        ws = await http.ws_connect(url)
        room, session = f"room-{index % STORM_ROOMS}", f"s-{index}"
        await ws.send_str(json.dumps({"type": "join", "room": room, "session": session}))
        known: set[str] = set()
        while len(known) < per_room:
            frame = json.loads((await ws.receive(timeout=60)).data)
            if frame["type"] == "joined":
                known.update(m["session"] for m in frame["roster"])
            elif frame["type"] == "peer-joined":
                known.add(frame["session"])
        return ws

    start = time.perf_counter()
    sockets = await asyncio.gather(*(member(i) for i in range(STORM_CLIENTS)))
    return time.perf_counter() - start, list(sockets)


async def pair(http: aiohttp.ClientSession, url: str, room: str) -> tuple[Any, Any]:
    a, b = await http.ws_connect(url), await http.ws_connect(url)
    await a.send_str(json.dumps({"type": "join", "room": room, "session": "a"}))
    await a.receive()
    await b.send_str(json.dumps({"type": "join", "room": room, "session": "b"}))
    await b.receive()
    await a.receive()  # peer-joined b
    return a, b


async def throughput(http: aiohttp.ClientSession, url: str) -> float:
    pairs = [await pair(http, url, f"tp-{i}") for i in range(THROUGHPUT_PAIRS)]
    per_pair = THROUGHPUT_FRAMES // THROUGHPUT_PAIRS
    frame = json.dumps(
        {"type": "candidate", "to": "b", "epoch": 1, "sdpMid": "0", "sdpMLineIndex": 0,
         "candidate": "candidate:1 1 udp 2130706431 127.0.0.1 50000 typ host"}
    )  # fmt: skip

    async def run(a: Any, b: Any) -> None:
        received = 0
        window = asyncio.Semaphore(WINDOW)

        async def receive() -> None:
            nonlocal received
            while received < per_pair:
                await b.receive(timeout=60)
                received += 1
                window.release()

        receiver = asyncio.create_task(receive())
        for _ in range(per_pair):
            await window.acquire()
            await a.send_str(frame)
        await receiver

    start = time.perf_counter()
    await asyncio.gather(*(run(a, b) for a, b in pairs))
    elapsed = time.perf_counter() - start
    for a, b in pairs:
        await a.close()
        await b.close()
    return THROUGHPUT_FRAMES / elapsed


async def latency(http: aiohttp.ClientSession, url: str) -> list[float]:
    """One frame every 1 ms, each stamped with its send time; latencies in ms."""
    a, b = await pair(http, url, "latency")
    total = int(LATENCY_RATE * LATENCY_SECONDS)
    samples: list[float] = []

    async def receive() -> None:
        while len(samples) < total:
            message = await b.receive(timeout=30)
            sent = float(json.loads(message.data)["sdp"].split()[-1])
            samples.append((time.perf_counter() - sent) * 1000)

    receiver = asyncio.create_task(receive())
    start = time.perf_counter()
    for index in range(total):
        delay = start + index / LATENCY_RATE - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)  # pacing the offered load, not waiting for a result
        sdp = f"v=0 {time.perf_counter()!r}"
        await a.send_str(json.dumps({"type": "offer", "to": "b", "epoch": 0, "sdp": sdp}))
    await receiver
    await a.close()
    await b.close()
    warm = samples[len(samples) // 10 :]  # the first 10% warm caches and the loop
    return warm


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def histogram(metrics: str) -> dict[float, int]:
    """Cumulative bucket counts of the server's relay latency histogram, by upper bound (s)."""
    buckets = re.findall(
        r'^signaling_relay_latency_seconds_bucket\{le="([^"]+)"\} (\S+)$', metrics, re.M
    )
    # prometheus-client writes counts as floats ("2.0").
    return {float(bound): int(float(count)) for bound, count in buckets}


def bucket_percentile(before: dict[float, int], after: dict[float, int], fraction: float) -> float:
    """Upper bound (ms) of the bucket holding the percentile of what happened in between."""
    total = after[float("inf")] - before.get(float("inf"), 0)
    for bound in sorted(after):
        if after[bound] - before.get(bound, 0) >= fraction * total:
            return bound * 1000
    return float("inf")


async def scrape(http: aiohttp.ClientSession, url: str) -> dict[float, int]:
    async with http.get(url.removesuffix("/ws").replace("ws://", "http://") + "/metrics") as r:
        return histogram(await r.text())


async def main() -> None:
    process, url = await start_server()
    figures: dict[str, float] = {}
    try:
        connector = aiohttp.TCPConnector(limit=0)
        async with aiohttp.ClientSession(connector=connector) as http:
            storm_s, sockets = await join_storm(http, url)
            figures["join_storm_s"] = round(storm_s, 3)
            figures["join_storm_clients"] = STORM_CLIENTS
            figures["join_storm_rooms"] = STORM_ROOMS
            figures.update({f"after_storm_{k}": v for k, v in rss_mb(process.pid).items()})
            for ws in sockets:
                await ws.close()
            figures["relay_frames_per_s"] = round(await throughput(http, url))
            before = await scrape(http, url)
            samples = await latency(http, url)
            after = await scrape(http, url)
            figures["server_relay_p50_ms_at_most"] = bucket_percentile(before, after, 0.5)
            figures["server_relay_p99_ms_at_most"] = bucket_percentile(before, after, 0.99)
            figures["latency_rate_frames_per_s"] = LATENCY_RATE
            figures["relay_latency_p50_ms"] = round(statistics.median(samples), 3)
            figures["relay_latency_p99_ms"] = round(percentile(samples, 0.99), 3)
            figures["relay_latency_max_ms"] = round(max(samples), 3)
            figures.update(rss_mb(process.pid))
    finally:
        process.terminate()
        await process.wait()
    bare, bare_url = await start_server("-c", BARE_RELAY)
    try:
        async with aiohttp.ClientSession() as http:
            baseline = await latency(http, bare_url)
    finally:
        bare.terminate()
        await bare.wait()
    figures["baseline_bare_relay_p50_ms"] = round(statistics.median(baseline), 3)
    figures["baseline_bare_relay_p99_ms"] = round(percentile(baseline, 0.99), 3)
    figures["p99_ratio_to_bare_relay"] = round(
        figures["relay_latency_p99_ms"] / figures["baseline_bare_relay_p99_ms"], 2
    )
    checks = [
        check("join storm 500 clients / 50 rooms", figures["join_storm_s"], "s", "<=", 5.0),
        check("relay throughput", figures["relay_frames_per_s"], "frames/s", ">=", 5000),
        check("p99 relay latency at 1,000 frames/s", figures["relay_latency_p99_ms"], "ms",
              "<=", 5.0),
        check("server peak RSS", figures["peak_rss_mb"], "MB", "<=", 150.0),
    ]  # fmt: skip
    print(json.dumps({"benchmark": "signaling", "figures": figures, "checks": checks}))


def check(name: str, value: float, unit: str, op: str, target: float) -> dict[str, Any]:
    met = value <= target if op == "<=" else value >= target
    return {"name": name, "value": value, "unit": unit, "op": op, "target": target, "met": met}


if __name__ == "__main__":
    asyncio.run(main())
