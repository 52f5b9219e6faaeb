"""Mesh figures for N = 2, 4, 8 node processes, next to a bare aiortc baseline of the same run.

For each N, a room of bare aiortc processes (benchmarks/_bare_aiortc_node.py: plain
RTCPeerConnections and data channels, no ifmesh code) and a room of ifmesh processes
(``python -m ifmesh.node.mesh.probe``) run side by side against one in-process signaling server, all
on 127.0.0.1. The machines this runs on are shared and noisy, so the two are measured
interleaved (a bare round, then a mesh round, ...) so both see the same load. Both send
messages of the same size: the bare twin pads plain JSON documents to the length of the mesh's
frame (a canonical IFMessage), because aiortc's congestion window counts bytes.

* formation: from telling every process to join until every process has an open channel to
  every other (imports and process start-up are excluded);
* broadcast latency to the last receiver, p50 and p99 over LATENCY_ROUNDS broadcasts from one
  node (rounds alternate which kind goes first), from just before ``broadcast`` until the last
  receiver's library has accepted the message: the mesh's ``MessageReceived.received_at``
  (after parsing, validation and dedupe), the bare twin's channel callback once it has parsed
  the JSON document (orjson) — each holds the message in hand. Both are before aiortc
  sends its SACK and before an application task gets its turn, which would add the same for
  both (``time.monotonic`` is one clock for every process of a Linux host);
* flood rate: one node broadcasts FLOOD messages as fast as it may, messages per second until
  the slowest receiver has all of them (best of FLOOD_REPEATS, alternating);
* RSS of each node process after the flood (max over processes);
* kill -9 detection: one process is killed; the time until every other reports it down. For
  the bare baseline this is measured once (N = 2, capped at BARE_KILL_CAP s): aiortc alone
  takes about 30 s.

Targets (issue 6): formation <= 2x bare; broadcast p50 and p99 <= 1.25x bare; flood >= 0.8x
bare; RSS <= 100 MB per mesh process; kill -9 detected by every peer in <= 6.5 s.
Run: .venv/bin/python benchmarks/mesh.py  (the last stdout line is the JSON result)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks._figures import check, percentile, progress  # noqa: E402
from benchmarks._probe_room import WAIT, ProbeRoom, bare_aiortc, mesh_probe  # noqa: E402
from ifmesh.signaling.config import ServerConfig  # noqa: E402
from ifmesh.signaling.server import SignalingServer  # noqa: E402

SIZES = (2, 4, 8)
KINDS = ("bare", "mesh")
LATENCY_ROUNDS = 1000  # p99 is then the 11th slowest of each: one load spike moves it little
FLOOD = 1000
FLOOD_REPEATS = 3
BARE_KILL_CAP = 45.0
MESH_KILL_CAP = 15.0
START = 120.0


class Room(ProbeRoom):
    """A probe room of one kind, with what this benchmark adds: memory and kill -9."""

    def __init__(self, kind: str, url: str, size: int) -> None:
        super().__init__(kind, size, mesh_probe(url) if kind == "mesh" else bare_aiortc(url))

    async def rss_mb(self) -> float:
        for probe in self.probes:
            await probe.command("metrics")
        metrics = await asyncio.gather(
            *(p.expect(lambda e: e["event"] == "metrics", WAIT) for p in self.probes)
        )
        return max(e["rss_kb"] for e in metrics) / 1024

    async def kill_detection(self, cap: float) -> float:
        victim, others = self.probes[-1], self.probes[:-1]
        marks = [len(p.events) for p in others]
        killed = time.monotonic()
        victim.kill()
        try:
            downs = await asyncio.gather(
                *(p.expect(lambda e: e["event"] == "down" and e["peer"] == victim.session,
                           cap, mark)
                  for p, mark in zip(others, marks, strict=True))
            )  # fmt: skip
        except TimeoutError:
            return cap  # not detected within the cap: reported as the cap
        return float(max(e["t"] for e in downs) - killed)


async def measure(url: str, size: int) -> dict[str, dict[str, float]]:
    rooms = {kind: Room(kind, url, size) for kind in KINDS}
    figures: dict[str, dict[str, float]] = {kind: {} for kind in KINDS}
    try:
        for room in rooms.values():
            await room.start(START)
        for kind, room in rooms.items():
            figures[kind]["formation_s"] = await room.form()
        latencies: dict[str, list[float]] = {kind: [] for kind in KINDS}
        for round_ in range(LATENCY_ROUNDS):
            # Who goes first alternates, so neither kind always follows the other's traffic.
            order = KINDS if round_ % 2 == 0 else KINDS[::-1]
            for kind in order:
                began, arrived = await rooms[kind].broadcast(f"lat{round_}", 1)
                latencies[kind].append(max(arrived) - began)
        floods: dict[str, list[float]] = {kind: [] for kind in KINDS}
        for repeat in range(FLOOD_REPEATS):
            for kind, room in rooms.items():
                began, arrived = await room.broadcast(f"flood{repeat}", FLOOD)
                floods[kind].append(FLOOD / (max(arrived) - began))
        for kind, room in rooms.items():
            figures[kind]["latency_p50_ms"] = percentile(latencies[kind], 0.5) * 1000
            figures[kind]["latency_p99_ms"] = percentile(latencies[kind], 0.99) * 1000
            figures[kind]["flood_msgs_per_s"] = max(floods[kind])
            figures[kind]["rss_mb_max"] = await room.rss_mb()
        figures["mesh"]["kill_detect_s"] = await rooms["mesh"].kill_detection(MESH_KILL_CAP)
        if size == 2:
            figures["bare"]["kill_detect_s"] = await rooms["bare"].kill_detection(BARE_KILL_CAP)
    finally:
        for room in rooms.values():
            await room.stop()
    return {k: {n: round(v, 4) for n, v in f.items()} for k, f in figures.items()}


def checks_for(size: int, bare: dict[str, float], mesh: dict[str, float]) -> tuple[
    dict[str, float], list[dict[str, Any]]
]:  # fmt: skip
    ratios = {
        "formation": mesh["formation_s"] / bare["formation_s"],
        "latency_p50": mesh["latency_p50_ms"] / bare["latency_p50_ms"],
        "latency_p99": mesh["latency_p99_ms"] / bare["latency_p99_ms"],
        "flood": mesh["flood_msgs_per_s"] / bare["flood_msgs_per_s"],
    }
    return {k: round(v, 3) for k, v in ratios.items()}, [
        check(f"N={size} formation vs bare", ratios["formation"], "x", "<=", 2.0),
        check(f"N={size} broadcast p50 vs bare", ratios["latency_p50"], "x", "<=", 1.25),
        check(f"N={size} broadcast p99 vs bare", ratios["latency_p99"], "x", "<=", 1.25),
        check(f"N={size} flood rate vs bare", ratios["flood"], "x", ">=", 0.8),
        check(f"N={size} RSS per mesh process", mesh["rss_mb_max"], "MB", "<=", 100.0),
        check(f"N={size} kill -9 detected by every peer", mesh["kill_detect_s"], "s", "<=", 6.5),
    ]


async def main() -> None:
    global SIZES, LATENCY_ROUNDS, FLOOD_REPEATS
    parser = argparse.ArgumentParser(description="mesh vs bare aiortc (see module docstring)")
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)), help="e.g. 2 or 2,4")
    parser.add_argument("--rounds", type=int, default=LATENCY_ROUNDS, help="latency rounds")
    parser.add_argument("--floods", type=int, default=FLOOD_REPEATS, help="flood repeats")
    args = parser.parse_args()
    SIZES = tuple(int(s) for s in args.sizes.split(","))
    LATENCY_ROUNDS, FLOOD_REPEATS = args.rounds, args.floods
    logging.basicConfig(stream=sys.stderr, level=logging.ERROR)
    server = SignalingServer(ServerConfig(port=0))
    await server.start()
    figures: dict[str, Any] = {}
    checks: list[dict[str, Any]] = []
    try:
        for size in SIZES:
            try:
                result = await measure(server.url, size)
            except (TimeoutError, EOFError) as exc:  # a missed measurement is information
                figures[f"n{size}.error"] = f"{type(exc).__name__}: {exc}"
                progress(f"N={size} failed: {exc!r}")
                # Still one (missed) check per target: no measurement is no pass.
                failed = {
                    "formation_s": 1e9,
                    "latency_p50_ms": 1e9,
                    "latency_p99_ms": 1e9,
                    "flood_msgs_per_s": 0.0,
                    "rss_mb_max": 1e9,
                    "kill_detect_s": 1e9,
                }
                unit = dict.fromkeys(failed, 1.0)
                checks += checks_for(size, unit, failed)[1]
                continue
            ratios, size_checks = checks_for(size, result["bare"], result["mesh"])
            figures.update({f"n{size}.bare": result["bare"], f"n{size}.mesh": result["mesh"],
                            f"n{size}.ratio": ratios})  # fmt: skip
            checks += size_checks
            progress(f"N={size} {result} ratios={ratios}")
    finally:
        await server.stop()
    print(json.dumps({"benchmark": "mesh", "figures": figures, "checks": checks}))


if __name__ == "__main__":
    asyncio.run(main())
