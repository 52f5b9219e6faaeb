"""A probe room: N probe processes of one kind in their own signaling room, started, joined
until every pair is up, and timed broadcasts from the first of them.

A probe is ``python -m ifmesh.node.mesh.probe`` or a twin speaking its lines on stdin/stdout
(benchmarks/_bare_aiortc_node.py: plain aiortc; benchmarks/_signing_mesh_node.py: the probe
with signing on). Shared by benchmarks/mesh.py (mesh beside bare aiortc), signing.py (signed
beside unsigned) and e2e.py (the bare floor under a claim).
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Callable
from pathlib import Path

from ifmesh.node.mesh.probe import ProbeProcess, probe_message
from ifmesh.node.protocol import codec

ROOT = Path(__file__).resolve().parent.parent
WAIT = 60.0  # seconds for one round's events (a loaded 2-core machine)

Launch = Callable[[str, str], ProbeProcess]
"""(signaling room, session) → that session's probe process, not yet started."""


def bare_aiortc(url: str) -> Launch:
    """Plain RTCPeerConnections and data channels, no ifmesh code: the baseline."""
    script = str(ROOT / "benchmarks" / "_bare_aiortc_node.py")
    return lambda room, session: ProbeProcess(session, [sys.executable, script, url, room, session])


def mesh_probe(url: str) -> Launch:
    """ifmesh's mesh as a node runs it, without signing."""
    return lambda room, session: ProbeProcess.mesh(url, room, session)


class ProbeRoom:
    def __init__(self, kind: str, size: int, launch: Launch) -> None:
        self.kind = kind
        self.sessions = [f"n{i}" for i in range(size)]
        room = f"{kind}-{size}-{time.monotonic_ns()}"
        self.probes = [launch(room, session) for session in self.sessions]

    async def start(self, timeout: float) -> None:
        """Every process is up and waiting to join (imports and start-up take this long)."""
        await asyncio.gather(*(p.start(cwd=str(ROOT)) for p in self.probes))
        await asyncio.gather(
            *(p.expect(lambda e: e["event"] == "started", timeout) for p in self.probes)
        )

    async def form(self, timeout: float = WAIT) -> float:
        """Seconds from telling every process to join until each has an open channel to every
        other."""
        go = time.monotonic()
        for probe in self.probes:
            await probe.command("join")
        ups = await asyncio.gather(
            *(p.expect(lambda e, o=o: e["event"] == "up" and e["peer"] == o, timeout)
              for p in self.probes for o in self.sessions if o != p.session)
        )  # fmt: skip
        return float(max(e["t"] for e in ups) - go)

    async def broadcast(self, label: str, count: int) -> tuple[float, list[float]]:
        """(when the sender began, when each receiver had the last of them)."""
        sender, receivers = self.probes[0], self.probes[1:]
        # A twin pads its documents to the size of the mesh's frame for the same label.
        size = len(codec.encode(probe_message(sender.session, label, count - 1, count, 0))) + 1
        # Each probe's events are looked through from here on, not from its first: scanning
        # every earlier event per round made this driver's CPU grow with the round number
        # (88 % of a core by round 6,000), taken from the probes it measures on 2 cores.
        marks = {p.session: len(p.events) for p in self.probes}
        await sender.command("broadcast", label=label, count=count, size=size)
        sent = await sender.expect(
            lambda e: e["event"] == "sent" and e["label"] == label, WAIT, marks[sender.session]
        )
        kind = "flood" if label.startswith("flood") else "message"
        got = await asyncio.gather(
            *(r.expect(lambda e: e["event"] == kind and e["label"] == label, WAIT,
                       marks[r.session])
              for r in receivers)
        )  # fmt: skip
        return float(sent["t_first"]), [float(e["t"]) for e in got]

    async def stop(self) -> None:
        await asyncio.gather(*(p.stop() for p in self.probes), return_exceptions=True)
