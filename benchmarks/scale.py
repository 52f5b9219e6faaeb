"""A 32-node room on this machine (issue 22 §3): 32 `ifmesh node` processes, three signaling
instances sharing the room through one real redis-server, nodes spread over them round-robin,
a bare git remote; everything on 127.0.0.1 (benchmarks/_redis_room.py).

Measured:

* mesh formation: from the first node's start until every control API answers, and from
  then until every node sees the 31 others up (a full mesh: 496 peer connections);
* claim seen by all, p50/p99: a claim through the control API of a node drawn at random
  (seeded), from the call until the last of the 32 nodes folded it (each node's event stream
  stamps ``folded_monotonic``, one clock for every process of this host). One claim at a
  time, each PACE seconds after the previous answer (the check's figure: a claim's latency in
  a room going about its work); then as many back to back, each made as soon as the previous
  one is answered (``..._back_to_back``, reported): that closed loop keeps both cores busy
  (``machine_busy_cores`` says how busy, per phase, from /proc/stat), so its tail is the
  machine's run queue more than the room's;
* RSS per node (MB, /proc VmRSS) after formation and at the end, and its anonymous and
  file-backed parts (smaps_rollup; the file pages are shared libraries, shared between nodes);
* CPU per node (% of one core, /proc utime + stime) over LOAD_SECONDS idle, then over
  LOAD_SECONDS with claims issued at 10 per second;
* git landing p99: from a claim's call until its node's ``confirmed`` effect (git's verdict
  read back from the branch, so the commit, the push and the fetch are all in it).

* the floor under "seen by all", in the same run once the nodes are stopped: a room of as
  many bare aiortc processes (benchmarks/_bare_aiortc_node.py: plain RTCPeerConnections, no
  ifmesh code, no pings, no git), one in-process signaling server, the same number of
  sequential rounds: one claim-sized message from one process until the last of the others
  has it (``bare_seen_by_all_ms``). What 32 processes sharing 2 cores cost aiortc alone.

Targets (issue 22): 32 nodes: claim seen by all p99 <= 250 ms (one at a time, paced), RSS per
node <= 120 MB.
Run: .venv/bin/python benchmarks/scale.py [--nodes 32] [--keep DIR]  (last line: JSON)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks._boards import available_board  # noqa: E402
from benchmarks._figures import percentile, progress, work_directory  # noqa: E402
from benchmarks._probe_room import ProbeRoom, bare_aiortc  # noqa: E402
from benchmarks._redis_room import (  # noqa: E402
    RedisRoom,
    cpu_seconds,
    machine_busy_seconds,
    rss_mb,
    start_redis,
)
from ifmesh.signaling.config import ServerConfig  # noqa: E402
from ifmesh.signaling.server import SignalingServer  # noqa: E402
from tests.integration.faults.observe import Streams  # noqa: E402

SEED = 22
SEEN_ROUNDS = 100  # claims timed until seen by all, per phase: a p99 of 100, not the max of 40
PACE = 0.5  # seconds from one claim's answer to the next claim, one at a time
LOAD_SECONDS = 20.0
RATE = 10.0  # claims per second under load


def summary(values: list[float], prefix: str) -> dict[str, Any]:
    if not values:
        return {f"{prefix}_samples": 0}
    return {f"{prefix}_p50": round(statistics.median(values), 1),
            f"{prefix}_p99": round(percentile(values, 0.99), 1),
            f"{prefix}_samples": len(values)}  # fmt: skip


def board(directory: Path, count: int) -> Path:
    return available_board(directory / "scale-board.md", "Scale board", "S", count)


class Scale:
    def __init__(self, room: RedisRoom, streams: Streams) -> None:
        self.room, self.streams = room, streams
        self.rng = random.Random(SEED)
        self.next_task = 0
        self.claimed: dict[str, tuple[str, float, str]] = {}  # task → (session, start, event id)
        self.failures: list[str] = []

    async def claim(self) -> None:
        self.next_task += 1
        task, actor = f"S.{self.next_task}", self.rng.choice(list(self.room.members))
        start = time.monotonic()
        try:
            async with self.room.client(actor) as node:
                result = await node.call("claim", {"task": task, "timeout": 60}, timeout=90)
            self.claimed[task] = (actor, start, result["events"][0]["id"])
        except Exception as exc:  # a failure is a figure, not a crash
            self.failures.append(f"{task} by {actor}: {exc}")

    def seen_by_all_ms(self, task: str) -> float | None:
        _, start, event = self.claimed[task]
        times = []
        for session in self.room.members:
            found = [float(line["folded_monotonic"]) for _, line in self.streams.lines[session]
                     if line.get("type") == "event" and line["event"]["id"] == event]  # fmt: skip
            if not found:
                return None
            times.append(found[0])
        return (max(times) - start) * 1000

    def landing_ms(self, task: str) -> float | None:
        actor, start, _ = self.claimed[task]
        found = [t for t, line in self.streams.effects(actor, "confirmed")
                 if line.get("task_id") == task]  # fmt: skip
        return (found[0] - start) * 1000 if found else None


def rss_parts(pids: list[int], suffix: str) -> dict[str, float]:
    """What the RSS is made of, mean per node (MB, /proc/PID/smaps_rollup): anonymous memory
    (the Python heap, malloc, the libraries' written pages) and pages of files (shared
    libraries and Python's own, shared with every other node on the host but counted in each
    one's RSS). The RSS itself is the target; these say where it goes (docs/scaling.md)."""
    anonymous, files = [], []
    for pid in pids:
        fields = {}
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
                name, value, *_ = line.split()
                fields[name.rstrip(":")] = int(value) / 1024
        if "Rss" in fields:
            anonymous.append(fields["Anonymous"])
            files.append(fields["Rss"] - fields["Anonymous"])
    if not anonymous:
        return {}
    return {f"rss_anonymous_mb_mean{suffix}": round(statistics.mean(anonymous), 1),
            f"rss_file_pages_mb_mean{suffix}": round(statistics.mean(files), 1)}  # fmt: skip


def cpu_percent(pids: list[int], seconds: float, before: list[float | None]) -> list[float]:
    after = [cpu_seconds(p) for p in pids]
    return [round((a - b) / seconds * 100, 2) for a, b in zip(after, before, strict=True)
            if a is not None and b is not None]  # fmt: skip


async def run(nodes: int, directory: Path) -> dict[str, Any]:
    figures: dict[str, Any] = {"nodes": nodes, "signaling_instances": 3}
    redis, port = start_redis(directory)
    tasks = 2 * SEEN_ROUNDS + int(RATE * LOAD_SECONDS) + 20
    try:
        room = RedisRoom(directory, sessions=nodes, fetch_interval_seconds=5,
                         board=board(directory, tasks), status_sessions=(),
                         redis_url=f"redis://127.0.0.1:{port}/0", start_timeout=600)  # fmt: skip
        start = time.monotonic()
        async with room:
            figures["control_apis_up_s"] = round(time.monotonic() - start, 1)
            progress(f"{nodes} control APIs up after {figures['control_apis_up_s']} s")
            formed = time.monotonic()
            await room.wait_mesh(timeout=900)
            figures["mesh_formation_s"] = round(time.monotonic() - formed, 1)
            figures["mesh_formation_from_start_s"] = round(time.monotonic() - start, 1)
            progress(f"full mesh after {figures['mesh_formation_s']} s more")
            pids = [m.process.pid for m in room.members.values() if m.process is not None]
            streams = Streams(room)
            await streams.start(room.members)
            rss = [r for r in map(rss_mb, pids) if r is not None]
            figures |= {"rss_mb_mean": round(statistics.mean(rss), 1),
                        "rss_mb_max": round(max(rss), 1)}  # fmt: skip
            figures |= rss_parts(pids, "")
            scale = Scale(room, streams)

            before = [cpu_seconds(p) for p in pids]
            await asyncio.sleep(LOAD_SECONDS)
            idle = cpu_percent(pids, LOAD_SECONDS, before)
            figures |= {"cpu_idle_percent_mean": round(statistics.mean(idle), 2),
                        "cpu_idle_percent_max": max(idle)}  # fmt: skip

            phases: dict[str, list[str]] = {}
            busy: dict[str, float] = {}
            for phase, pace in (("paced", PACE), ("back_to_back", 0.0)):
                made, busy_before = len(scale.claimed), machine_busy_seconds()
                began = time.monotonic()
                for _ in range(SEEN_ROUNDS):
                    await scale.claim()
                    await asyncio.sleep(pace)
                busy[phase] = (machine_busy_seconds() - busy_before) / (time.monotonic() - began)
                phases[phase] = list(scale.claimed)[made:]
                progress(f"{SEEN_ROUNDS} claims made, {phase}: {busy[phase]:.2f} cores busy")
                await asyncio.sleep(3)

            before = [cpu_seconds(p) for p in pids]
            began, running, busy_before = time.monotonic(), [], machine_busy_seconds()
            for n in range(int(RATE * LOAD_SECONDS)):
                await asyncio.sleep(max(0.0, began + n / RATE - time.monotonic()))
                running.append(asyncio.create_task(scale.claim()))
            loaded_for = time.monotonic() - began
            busy["under_load"] = (machine_busy_seconds() - busy_before) / loaded_for
            loaded = cpu_percent(pids, loaded_for, before)
            figures |= {"cpu_loaded_percent_mean": round(statistics.mean(loaded), 2),
                        "cpu_loaded_percent_max": max(loaded),
                        "load_claims_per_s": round(len(running) / loaded_for, 2)}  # fmt: skip
            await asyncio.gather(*running)
            await asyncio.sleep(15)  # let git confirm the last claims
            figures["machine_busy_cores"] = {k: round(v, 2) for k, v in busy.items()}
            for phase, name in (("paced", "claim_seen_by_all_ms"),
                                ("back_to_back", "claim_seen_by_all_back_to_back_ms")):  # fmt: skip
                seen = [s for t in phases[phase] if (s := scale.seen_by_all_ms(t)) is not None]
                figures |= summary(seen, name)
            timed = {t for tasks in phases.values() for t in tasks}
            under_load = [s for t in scale.claimed if t not in timed
                          if (s := scale.seen_by_all_ms(t)) is not None]  # fmt: skip
            figures |= summary(under_load, "claim_seen_by_all_under_load_ms")
            landed = [s for t in scale.claimed if (s := scale.landing_ms(t)) is not None]
            figures |= summary(landed, "git_landing_ms")
            figures["claims_made"] = len(scale.claimed)
            figures["claim_failures"] = len(scale.failures)
            figures["claim_failure_examples"] = scale.failures[:3]
            rss = [r for r in map(rss_mb, pids) if r is not None]
            figures |= {"rss_mb_mean_end": round(statistics.mean(rss), 1),
                        "rss_mb_max_end": round(max(rss), 1)}  # fmt: skip
            figures |= rss_parts(pids, "_end")
            await streams.stop()
    finally:
        redis.terminate()
        redis.wait(10)
    figures |= summary(await bare_seen_by_all(nodes), "bare_seen_by_all_ms")
    return figures


async def bare_seen_by_all(nodes: int) -> list[float]:
    """Milliseconds until the last of ``nodes`` - 1 bare aiortc processes had one message."""
    progress(f"the floor: {nodes} bare aiortc processes, {SEEN_ROUNDS} messages")
    server = SignalingServer(ServerConfig(port=0))
    await server.start()
    room = ProbeRoom("bare", nodes, bare_aiortc(server.url))
    try:
        await room.start(600)
        progress(f"bare room formed in {await room.form(900):.1f} s")
        seen = []
        for round_ in range(SEEN_ROUNDS):
            began, arrived = await room.broadcast(f"seen{round_}", 1)
            seen.append((max(arrived) - began) * 1000)
        return seen
    finally:
        await room.stop()
        await server.stop()


def checks(figures: dict[str, Any]) -> list[dict[str, Any]]:
    seen = figures.get("claim_seen_by_all_ms_p99")
    rss = max(figures.get("rss_mb_max", 0), figures.get("rss_mb_max_end", 0)) or None
    n = figures["nodes"]
    return [
        {"name": f"{n} nodes: claim seen by all p99 (ms)", "value": seen, "unit": "ms",
         "op": "<=", "target": 250, "met": seen is not None and seen <= 250},
        {"name": f"{n} nodes: RSS per node (MB)", "value": rss, "unit": "MB",
         "op": "<=", "target": 120, "met": rss is not None and rss <= 120},
    ]  # fmt: skip


async def main() -> None:
    parser = argparse.ArgumentParser(description="a 32-node room on one machine (issue 22)")
    parser.add_argument("--nodes", type=int, default=32)
    parser.add_argument("--keep", type=Path, help="keep the room's files and logs here")
    arguments = parser.parse_args()
    with work_directory(arguments.keep, "scale") as directory:
        figures = await run(arguments.nodes, directory)
    print(json.dumps({"benchmark": "scale", "figures": figures, "checks": checks(figures)}))


if __name__ == "__main__":
    asyncio.run(main())
