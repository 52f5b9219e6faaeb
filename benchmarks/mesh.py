"""Mesh figures for N = 2, 4, 8 node processes, next to a bare aiortc baseline of the same run.

For each N, the bare baseline (benchmarks/_bare_aiortc_node.py: plain RTCPeerConnections and
data channels, no ifmesh code) and the ifmesh mesh (``python -m node.mesh.probe``) are run in
turn against one in-process signaling server, all on 127.0.0.1, and measured alike:

* formation: from telling every process to join until every process has an open channel to
  every other (imports and process start-up are excluded);
* broadcast latency to the last receiver, p50 and p99, over sequential broadcasts from one
  node (``time.monotonic`` is one clock for every process of the host);
* flood rate: one node broadcasts FLOOD messages as fast as it may; messages per second until
  the slowest receiver has all of them;
* RSS of each node process after the flood (max over processes);
* kill -9 detection: one process is killed; the time until every other reports it down.
  For the bare baseline this is measured once (N = 2, capped at BARE_KILL_CAP s), since
  aiortc alone takes about 30 s.

Targets (issue 6): formation <= 2x bare; broadcast p50 and p99 <= 1.25x bare; flood >= 0.8x
bare; RSS <= 100 MB per mesh process; kill -9 detected by every peer in <= 6.5 s.
Run: .venv/bin/python benchmarks/mesh.py  (last stdout line: the JSON result)
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from node.mesh.probe import ProbeProcess  # noqa: E402
from signaling.config import ServerConfig  # noqa: E402
from signaling.server import SignalingServer  # noqa: E402

SIZES = (2, 4, 8)
LATENCY_ROUNDS = 150
FLOOD = 2000
BARE_KILL_CAP = 45.0
MESH_KILL_CAP = 15.0
START = 120.0
WAIT = 30.0


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def spawn(kind: str, url: str, room: str, session: str) -> ProbeProcess:
    if kind == "mesh":
        return ProbeProcess.mesh(url, room, session)
    script = str(ROOT / "benchmarks" / "_bare_aiortc_node.py")
    return ProbeProcess(session, [sys.executable, script, url, room, session])


async def run_variant(
    kind: str, url: str, size: int, *, measure_kill: bool, kill_cap: float
) -> dict[str, float]:
    room = f"{kind}-{size}-{time.monotonic_ns()}"
    sessions = [f"n{i}" for i in range(size)]
    probes = [spawn(kind, url, room, s) for s in sessions]
    figures: dict[str, float] = {}
    try:
        await asyncio.gather(*(p.start(cwd=str(ROOT)) for p in probes))
        await asyncio.gather(*(p.expect(lambda e: e["event"] == "started", START) for p in probes))
        go = time.monotonic()
        for probe in probes:
            await probe.command("join")
        ups = await asyncio.gather(
            *(p.expect(lambda e, o=o: e["event"] == "up" and e["peer"] == o, WAIT)
              for p in probes for o in sessions if o != p.session)
        )  # fmt: skip
        figures["formation_s"] = max(e["t"] for e in ups) - go

        sender, receivers = probes[0], probes[1:]
        latencies = []
        for round_ in range(LATENCY_ROUNDS):
            label = f"lat{round_}"
            await sender.command("broadcast", label=label, count=1)
            sent = await sender.expect(lambda e, x=label: e["event"] == "sent" and e["label"] == x,
                                       WAIT)  # fmt: skip
            got = await asyncio.gather(
                *(r.expect(lambda e, x=label: e["event"] == "message" and e["label"] == x, WAIT)
                  for r in receivers)
            )  # fmt: skip
            latencies.append(max(e["t"] for e in got) - sent["t_first"])
        figures["latency_p50_ms"] = percentile(latencies, 0.5) * 1000
        figures["latency_p99_ms"] = percentile(latencies, 0.99) * 1000

        await sender.command("broadcast", label="flood", count=FLOOD)
        sent = await sender.expect(lambda e: e["event"] == "sent" and e["label"] == "flood", WAIT)
        floods = await asyncio.gather(
            *(r.expect(lambda e: e["event"] == "flood", WAIT * 4) for r in receivers)
        )
        figures["flood_msgs_per_s"] = FLOOD / (max(e["t"] for e in floods) - sent["t_first"])

        for probe in probes:
            await probe.command("metrics")
        metrics = await asyncio.gather(
            *(p.expect(lambda e: e["event"] == "metrics", WAIT) for p in probes)
        )
        figures["rss_mb_max"] = max(e["rss_kb"] for e in metrics) / 1024

        if measure_kill:
            victim = probes[-1]
            marks = [len(p.events) for p in probes[:-1]]
            killed = time.monotonic()
            victim.kill()
            try:
                downs = await asyncio.gather(
                    *(p.expect(lambda e, v=victim.session: e["event"] == "down"
                               and e["peer"] == v, kill_cap, m)
                      for p, m in zip(probes[:-1], marks, strict=True))
                )  # fmt: skip
                figures["kill_detect_s"] = max(e["t"] for e in downs) - killed
            except TimeoutError:
                figures["kill_detect_s"] = kill_cap  # not detected within the cap
                figures["kill_detect_capped"] = 1
    finally:
        await asyncio.gather(*(p.stop() for p in probes), return_exceptions=True)
    return {key: round(value, 4) for key, value in figures.items()}


def check(name: str, value: float, unit: str, op: str, target: float) -> dict[str, Any]:
    met = value <= target if op == "<=" else value >= target
    return {"name": name, "value": round(value, 4), "unit": unit, "op": op, "target": target,
            "met": met}  # fmt: skip


async def main() -> None:
    logging.basicConfig(stream=sys.stderr, level=logging.ERROR)
    server = SignalingServer(ServerConfig(port=0))
    await server.start()
    figures: dict[str, Any] = {}
    checks = []
    try:
        for size in SIZES:
            bare = await run_variant(
                "bare", server.url, size, measure_kill=size == 2, kill_cap=BARE_KILL_CAP
            )
            mesh = await run_variant(
                "mesh", server.url, size, measure_kill=True, kill_cap=MESH_KILL_CAP
            )
            figures[f"n{size}.bare"] = bare
            figures[f"n{size}.mesh"] = mesh
            ratios = {
                "formation": mesh["formation_s"] / bare["formation_s"],
                "latency_p50": mesh["latency_p50_ms"] / bare["latency_p50_ms"],
                "latency_p99": mesh["latency_p99_ms"] / bare["latency_p99_ms"],
                "flood": mesh["flood_msgs_per_s"] / bare["flood_msgs_per_s"],
            }
            figures[f"n{size}.ratio"] = {k: round(v, 3) for k, v in ratios.items()}
            checks += [
                check(f"N={size} formation vs bare", ratios["formation"], "x", "<=", 2.0),
                check(f"N={size} broadcast p50 vs bare", ratios["latency_p50"], "x", "<=", 1.25),
                check(f"N={size} broadcast p99 vs bare", ratios["latency_p99"], "x", "<=", 1.25),
                check(f"N={size} flood rate vs bare", ratios["flood"], "x", ">=", 0.8),
                check(f"N={size} RSS per mesh process", mesh["rss_mb_max"], "MB", "<=", 100.0),
                check(f"N={size} kill -9 detected by every peer", mesh["kill_detect_s"], "s",
                      "<=", 6.5),
            ]  # fmt: skip
            print(f"N={size} bare={bare} mesh={mesh}", file=sys.stderr, flush=True)
    finally:
        await server.stop()
    print(json.dumps({"benchmark": "mesh", "figures": figures, "checks": checks}))


if __name__ == "__main__":
    asyncio.run(main())
