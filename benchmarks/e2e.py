"""End-to-end claim propagation: a claim issued on one node until every other node has folded
it, for rooms of N = 3 and 8 node processes (real signaling, real git, 127.0.0.1 only). The
nodes run with the product's defaults, so they sign every event and verify their peers' before
the fold (issue 23: the checks hold with signing on); the figures say whether every node signed
(``signing``) and how many events the nodes refused (``refused``, 0 unless something is wrong).

Measured in the same run, next to each other:
* through the control API (the claim's HTTP call starts the clock), p50/p99, until the claim
  is visible on every other node: each node stamps the event when its board takes it (see
  ``Watchers``); and, reported beside it, until a client watching each node has read it;
* through the CLI, process start included (`ifmesh claim` starts the clock), p50/p99;
* RSS of every node process of the 8-node room (max);
* the bare aiortc broadcast of benchmarks/mesh.py (plain RTCPeerConnections, no ifmesh code)
  with the same N: the floor any mesh-based claim stands on. Its rounds alternate with the
  API rounds (both rooms are up at once), so both see the same load on a shared machine;
* a central WebSocket hub (a minimal aiohttp server relaying to every client): reported only;
* with ``--unsigned-beside``, what signing costs here: a third room whose nodes run with
  ``--no-signing``, up at the same time, its claims taking turns with the signed room's each
  round (``ifmesh_unsigned``, ``api_p50_ms_signed_over_unsigned``; reported, not checked — and
  its load is on the signed room's figures too, so the checks are read from a run without it);
* the Phase-0 session instructions' git polling loop: a claim is seen after half the 30 s
  interval on average (15 s), no measurement needed.

Targets (issue 10): API p50 <= 2x bare broadcast p50; RSS <= 120 MB per node process at N = 8;
API p50 >= 1,000x faster than the polling loop's 15 s.
Run: .venv/bin/python benchmarks/e2e.py   (last stdout line: the JSON result)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks._figures import check, percentile, progress  # noqa: E402
from benchmarks._probe_room import ProbeRoom, bare_aiortc  # noqa: E402
from ifmesh.node.cli.room import LocalRoom, ifmesh_command  # noqa: E402
from ifmesh.node.control.client import ControlClient  # noqa: E402
from ifmesh.node.errors import IfmeshError  # noqa: E402
from ifmesh.signaling.config import ServerConfig  # noqa: E402
from ifmesh.signaling.server import SignalingServer  # noqa: E402

SIZES = (3, 8)
API_ROUNDS = 200  # p50 and p99 of a few hundred samples: stable on a noisy machine
CLI_ROUNDS = 5
HUB_ROUNDS = 100
TASK = "F2.3"  # a filler task nobody holds on the example board
POLLING_MEAN_MS = 15_000.0
BARE_START = 120.0  # seconds for the bare processes to start (benchmarks/mesh.py's)


@dataclass
class Round:
    visible_ms: float  # until the last other node's board took the claim (its fold stamp)
    delivered_ms: float  # until the last watching client read it from its node's event stream


class Watchers:
    """One event stream per other node, held for the run (as ``ifmesh watch`` holds one): it
    notes when each node folded, and when the client read, every claim the actor makes.

    A node stamps each event it folds with its ``CLOCK_MONOTONIC`` (``folded_monotonic`` on the
    event stream): one clock for every process of a Linux host, the one this process starts
    its clock from. That is the moment the claim is visible on that node — what ``ifmesh board``
    there would show — and the same point the bare baseline is stamped at (its channel
    callback). The time until the watching client has read it is reported beside it."""

    def __init__(self, clients: dict[str, ControlClient], actor: str) -> None:
        self.actor = actor
        self.others = [session for session in clients if session != actor]
        self.arrivals: dict[str, list[tuple[float, float]]] = {s: [] for s in self.others}
        self.arrived = asyncio.Event()
        self._clients = clients
        self._tasks: list[asyncio.Task[None]] = []

    async def __aenter__(self) -> Watchers:
        subscribed = [asyncio.Event() for _ in self.others]
        self._tasks = [
            asyncio.create_task(self._watch(session, ready))
            for session, ready in zip(self.others, subscribed, strict=True)
        ]
        await asyncio.gather(*(ready.wait() for ready in subscribed))
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _watch(self, session: str, ready: asyncio.Event) -> None:
        events = self._clients[session].events()
        await anext(events)
        ready.set()
        async for event in events:
            body = event.get("event") or {}
            if body.get("type") == "task.claim" and body.get("source") == self.actor:
                self.arrivals[session].append((float(event["folded_monotonic"]), time.monotonic()))
                self.arrived.set()

    async def claim_number(self, index: int) -> tuple[float, float]:
        """(last fold, last client read) of the actor's claim number ``index`` on every node."""
        async with asyncio.timeout(60):
            while any(len(self.arrivals[s]) <= index for s in self.others):
                self.arrived.clear()
                await self.arrived.wait()
        rows = [self.arrivals[s][index] for s in self.others]
        return max(folded for folded, _ in rows), max(read for _, read in rows)


async def claim_round(claims: ClaimRoom, *, via_cli: bool) -> Round:
    """One claim of TASK on the actor until every other node folded it; released afterwards
    (not timed) so the next round can claim again."""
    room, clients, watchers = claims.room, claims.clients, claims.watchers
    index = len(watchers.arrivals[watchers.others[0]])
    start = time.monotonic()
    if via_cli:
        process = await asyncio.create_subprocess_exec(
            *ifmesh_command(), "claim", TASK, env=room.env | {"IFMESH_SESSION": watchers.actor},
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        await process.wait()
    else:
        await clients[watchers.actor].call("claim", {"task": TASK})
    folded, read = await watchers.claim_number(index)
    await clients[watchers.actor].call("release", {"task": TASK})
    return Round((folded - start) * 1000, (read - start) * 1000)


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def summary(values: list[float]) -> dict[str, float]:
    return {"p50_ms": statistics.median(values), "p99_ms": percentile(values, 0.99)}


def rounded(figures: dict[str, Any]) -> dict[str, Any]:
    return {k: round(v, 2) if isinstance(v, float) else v for k, v in figures.items()}


@dataclass
class ClaimRoom:
    """One room of node processes, a control connection held per node (as an agent's
    integration holds one), and the watchers of the actor's claims."""

    room: LocalRoom
    clients: dict[str, ControlClient]
    watchers: Watchers
    api: list[Round] = field(default_factory=list)

    async def identity(self) -> dict[str, Any]:
        """Whether every node signs its events, and how many events they refused (any is a
        fault here: every session's key is pinned from the room's branch)."""
        statuses = await asyncio.gather(*(c.query("status") for c in self.clients.values()))
        refused = [s["identity"].get("refused", {}).get("by_code", {}) for s in statuses]
        return {
            "signing": all(s["identity"]["signing"] for s in statuses),
            "refused": sum(sum(codes.values()) for codes in refused),
        }

    def rss_mb_max(self) -> float:
        pids = [m.process.pid for m in self.room.members.values() if m.process is not None]
        return max(rss_mb(pid) for pid in pids)


@contextlib.asynccontextmanager
async def claim_room(directory: Path, size: int, node_args: list[str]) -> AsyncIterator[ClaimRoom]:
    async with (
        LocalRoom(directory, sessions=size, extra_args=node_args) as room,  # product defaults
        contextlib.AsyncExitStack() as stack,
    ):
        await room.wait_mesh(timeout=180)
        clients = {s: await stack.enter_async_context(room.client(s)) for s in room.members}
        watchers = await stack.enter_async_context(Watchers(clients, next(iter(clients))))
        yield ClaimRoom(room, clients, watchers)


def visible(rounds: list[Round]) -> dict[str, float]:
    """p50/p99 until the claim was visible on every other node, and until read from each."""
    shown = summary([r.visible_ms for r in rounds])
    read = summary([r.delivered_ms for r in rounds])
    return {"p50_ms": shown["p50_ms"], "p99_ms": shown["p99_ms"],
            "to_watcher_p50_ms": read["p50_ms"], "to_watcher_p99_ms": read["p99_ms"]}  # fmt: skip


async def side_by_side(size: int, *, unsigned_beside: bool) -> dict[str, Any]:
    """The ifmesh room (signing, the default) and the bare aiortc room, measured interleaved (a
    bare broadcast, then a claim, ...) so that both see the same load on a shared machine; with
    ``unsigned_beside``, a room of ``--no-signing`` nodes too, taking its turn each round."""
    figures: dict[str, Any] = {}
    server = SignalingServer(ServerConfig(port=0))
    await server.start()
    bare_room = ProbeRoom("bare", size, bare_aiortc(server.url))
    bare: list[float] = []
    try:
        await bare_room.start(BARE_START)
        await bare_room.form()
        with tempfile.TemporaryDirectory(prefix=f"ifmesh-e2e-{size}-") as directory:
            async with contextlib.AsyncExitStack() as stack:
                kinds: dict[str, list[str]] = {"signed": []}  # signing: the product default
                if unsigned_beside:
                    kinds["unsigned"] = ["--no-signing"]
                rooms = {
                    kind: await stack.enter_async_context(
                        claim_room(Path(directory) / kind, size, node_args)
                    )
                    for kind, node_args in kinds.items()
                }
                signed = rooms["signed"]
                for round_ in range(API_ROUNDS):
                    began, arrived = await bare_room.broadcast(f"lat{round_}", 1)
                    bare.append((max(arrived) - began) * 1000)
                    # Who goes first alternates, so neither room always follows the other's.
                    turns = list(rooms.values())
                    for claims in turns if round_ % 2 == 0 else turns[::-1]:
                        claims.api.append(await claim_round(claims, via_cli=False))
                cli = [await claim_round(signed, via_cli=True) for _ in range(CLI_ROUNDS)]
                for kind, claims in rooms.items():
                    figures[kind] = (
                        {f"api_{name}": value for name, value in visible(claims.api).items()}
                        | {"node_rss_mb_max": claims.rss_mb_max()}
                        | await claims.identity()
                    )
                figures["signed"] |= {f"cli_{n}": value for n, value in visible(cli).items()}
    finally:
        await bare_room.stop()
        await server.stop()
    figures["bare"] = summary(bare)
    return figures


async def websocket_hub(size: int) -> dict[str, float]:
    """A central hub: one aiohttp server that relays every frame to every other client."""
    clients: set[web.WebSocketResponse] = set()
    all_joined = asyncio.Event()

    async def relay(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        clients.add(ws)
        if len(clients) == size:
            all_joined.set()
        async for message in ws:
            for other in list(clients):
                if other is not ws:
                    await other.send_str(message.data)
        clients.discard(ws)
        return ws

    app = web.Application()
    app.router.add_get("/", relay)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    latencies: list[float] = []
    async with aiohttp.ClientSession() as http:
        sockets = [await http.ws_connect(f"http://127.0.0.1:{port}/") for _ in range(size)]
        await asyncio.wait_for(all_joined.wait(), 30)
        for _ in range(HUB_ROUNDS):
            start = time.perf_counter()
            await sockets[0].send_str('{"type":"task.claim","payload":{"task_id":"F2.3"}}')
            await asyncio.gather(*(ws.receive() for ws in sockets[1:]))
            latencies.append((time.perf_counter() - start) * 1000)
        for ws in sockets:
            await ws.close()
    await runner.cleanup()
    return {"p50_ms": statistics.median(latencies), "p99_ms": percentile(latencies, 0.99)}


async def main() -> None:
    global SIZES, API_ROUNDS
    parser = argparse.ArgumentParser(description="claim propagation end to end (see docstring)")
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)), help="e.g. 3 or 3,8")
    parser.add_argument("--rounds", type=int, default=API_ROUNDS, help="claims through the API")
    parser.add_argument(
        "--unsigned-beside",
        action="store_true",
        help="also a room of --no-signing nodes, its claims interleaved (signing's cost, issue 23)",
    )
    args = parser.parse_args()
    SIZES = tuple(int(size) for size in args.sizes.split(","))
    API_ROUNDS = args.rounds
    logging.basicConfig(stream=sys.stderr, level=logging.ERROR)
    figures: dict[str, Any] = {"polling_loop_mean_ms": POLLING_MEAN_MS}
    checks = []
    for size in SIZES:
        try:
            also = " and an unsigned room" if args.unsigned_beside else ""
            progress(f"N={size}: ifmesh room (processes, git, signaling), bare aiortc{also}")
            measured = await side_by_side(size, unsigned_beside=args.unsigned_beside)
            progress(f"N={size}: central WebSocket hub")
            hub = await websocket_hub(size)
        except (IfmeshError, TimeoutError, EOFError, OSError) as exc:
            # A missed measurement is information: report it, and its checks as missed.
            progress(f"N={size} failed: {exc!r}")
            figures[f"n{size}"] = {"error": f"{type(exc).__name__}: {exc}"}
            checks.append(check(f"N={size} claim via API p50 / bare broadcast p50", 1e9,
                                "ratio", "<=", 2.0))  # fmt: skip
            checks.append(check(f"N={size} polling loop mean / claim via API p50", 0.0,
                                "ratio", ">=", 1000.0))  # fmt: skip
            if size == 8:
                checks.append(check("node process RSS at N=8 (max)", 1e9, "MB", "<=", 120.0))
            continue
        ours, bare = measured["signed"], measured["bare"]
        figures[f"n{size}"] = {
            "ifmesh": rounded(ours),  # signing on: the default
            "bare_broadcast": rounded(bare),
            "websocket_hub": rounded(hub),
        }
        if "unsigned" in measured:
            unsigned = measured["unsigned"]
            figures[f"n{size}"]["ifmesh_unsigned"] = rounded(unsigned)
            for name in ("api_p50_ms", "api_p99_ms"):
                figures[f"n{size}"][f"{name}_signed_over_unsigned"] = round(
                    ours[name] / unsigned[name], 3
                )
        ratio = ours["api_p50_ms"] / bare["p50_ms"]
        figures[f"n{size}"]["api_p50_over_bare_p50"] = round(ratio, 2)
        checks.append(check(f"N={size} claim via API p50 / bare broadcast p50", ratio,
                            "ratio", "<=", 2.0))  # fmt: skip
        speedup = POLLING_MEAN_MS / ours["api_p50_ms"]
        figures[f"n{size}"]["speedup_over_polling"] = round(speedup, 1)
        checks.append(check(f"N={size} polling loop mean / claim via API p50", speedup,
                            "ratio", ">=", 1000.0))  # fmt: skip
        if size == 8:
            checks.append(check("node process RSS at N=8 (max)", ours["node_rss_mb_max"],
                                "MB", "<=", 120.0))  # fmt: skip
    print(json.dumps({"benchmark": "e2e", "figures": figures, "checks": checks}))


if __name__ == "__main__":
    asyncio.run(main())
