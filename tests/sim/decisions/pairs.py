"""The simulated rooms' pairs: links between nodes that come up, go down (at once, or
silently: a link that carries nothing until each side declares it dead), partitions that
heal, and a node killed (its links go silent). Shared by the rooms of decided claims (room.py)
and of path reservations (reservations.py); each room says what its nodes do with git
(:mod:`tests.sim.decisions.node`) and what its scenario does.
"""

from __future__ import annotations

import asyncio
import random
from datetime import datetime, timedelta
from typing import Any, Protocol

from tests.sim.decisions.wire import Path, SimChannel, SimLink, SimMesh


class PairedNode(Protocol):
    session: str
    alive: bool
    mesh: SimMesh

    def halt(self) -> None: ...


class PairedRoom:
    """Needs ``scenario`` (``latency``, ``loss``), ``rng``, ``nodes`` and ``t0`` set by the room."""

    scenario: Any
    rng: random.Random
    nodes: dict[str, PairedNode]
    t0: datetime

    def __init__(self) -> None:
        self.links: dict[frozenset[str], tuple[SimLink, SimLink, Path, Path]] = {}
        self.cut: set[frozenset[str]] = set()
        self.epochs = 0
        self.trace: list[str] = []

    def wall(self) -> datetime:
        return self.t0 + timedelta(seconds=asyncio.get_running_loop().time())

    def log(self, line: str) -> None:
        self.trace.append(f"{asyncio.get_running_loop().time():8.3f} {line}")

    def alive(self) -> list[PairedNode]:
        return [n for n in self.nodes.values() if n.alive]

    def connect(self, a: str, b: str) -> None:
        key = frozenset((a, b))
        if key in self.links or key in self.cut:
            return
        if not (self.nodes[a].alive and self.nodes[b].alive):
            return
        self.epochs += 1
        lat, loss = self.scenario.latency, self.scenario.loss
        ab, ba = Path(self.rng, lat, loss), Path(self.rng, lat, loss)
        holder: dict[str, SimLink] = {}
        to_b = SimChannel(ab, lambda data: self.nodes[b].mesh.frame(holder["b"], data))
        to_a = SimChannel(ba, lambda data: self.nodes[a].mesh.frame(holder["a"], data))
        holder["a"] = SimLink(b, self.epochs, to_b)  # a's link: a writes to b
        holder["b"] = SimLink(a, self.epochs, to_a)
        self.links[key] = (holder["a"], holder["b"], ab, ba)
        self.log(f"pair {a}-{b} up, epoch {self.epochs}")
        self.nodes[a].mesh.opened(holder["a"])
        self.nodes[b].mesh.opened(holder["b"])

    def disconnect(self, a: str, b: str, *, silently: bool = False) -> None:
        """Ends the pair's current link: at once, or (``silently``) first as a link that
        carries nothing, declared dead on each side only after a while."""
        entry = self.links.pop(frozenset((a, b)), None)
        if entry is None:
            return
        link_a, link_b, ab, ba = entry
        self.log(f"pair {a}-{b} down, epoch {link_a.epoch}{' (silently)' if silently else ''}")
        if silently:
            ab.latency = ba.latency = 1e9  # nothing arrives any more
            loop = asyncio.get_running_loop()
            loop.call_later(self.rng.uniform(0.5, 3.0), self.nodes[a].mesh.retired, link_a)
            loop.call_later(self.rng.uniform(0.5, 3.0), self.nodes[b].mesh.retired, link_b)
        else:
            self.nodes[a].mesh.retired(link_a)
            self.nodes[b].mesh.retired(link_b)

    def reconnect_later(self, a: str, b: str, delay: float) -> None:
        asyncio.get_running_loop().call_later(delay, self.connect, a, b)

    def pair_up(self, session: str) -> None:
        """A node just started: its pair to every other comes up after a little while."""
        for other in list(self.nodes):
            if other != session:
                self.reconnect_later(session, other, self.rng.uniform(0.05, 0.4))

    def kill(self, session: str) -> None:
        """``kill -9``: the node's work ends at once, and its links go silent (each peer
        declares its link dead after a while)."""
        self.nodes[session].halt()
        for other in list(self.nodes):
            self.disconnect(session, other, silently=True)
        self.log(f"{session} killed")

    def link_trouble(self, kind: str) -> None:
        """A pair reconnects (a new epoch), goes silent for a while, or the room partitions."""
        alive = [n.session for n in self.alive()]
        if len(alive) < 2:
            return
        if kind == "reconnect":
            a, b = self.rng.sample(alive, 2)
            self.disconnect(a, b)
            self.reconnect_later(a, b, self.rng.uniform(0.0, 0.2))
        elif kind == "blackhole":
            a, b = self.rng.sample(alive, 2)
            self.disconnect(a, b, silently=True)
            self.reconnect_later(a, b, self.rng.uniform(3.0, 5.0))
        elif kind == "partition":
            self.rng.shuffle(alive)
            cut_at = self.rng.randint(1, len(alive) - 1)
            left, right = alive[:cut_at], alive[cut_at:]
            for a in left:
                for b in right:
                    self.cut.add(frozenset((a, b)))
                    self.disconnect(a, b, silently=self.rng.random() < 0.5)
            self.log(f"partition {left} | {right}")
            asyncio.get_running_loop().call_later(self.rng.uniform(1.0, 4.0), self.heal)

    def heal(self) -> None:
        for key in sorted(self.cut, key=sorted):  # sorted: the same seed, the same run
            self.cut.discard(key)
            self.reconnect_later(*sorted(key), self.rng.uniform(0.05, 0.5))
        self.log("healed")

    async def wind_down(self) -> None:
        """The scenario is over: every pair still cut comes up at once, every record and event
        lands and is read, then every node stops."""
        for key in sorted(self.cut, key=sorted):  # sorted: the same seed, the same run
            self.cut.discard(key)
            self.connect(*sorted(key))
        await asyncio.sleep(10)
        for node in self.nodes.values():
            node.halt()
