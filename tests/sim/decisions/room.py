"""A simulated room deciding claims: real replicas, the real claim decider and the real mesh
queues (:mod:`tests.sim.decisions.wire`), on virtual time (:mod:`tests.sim.decisions.vloop`).

A scenario is drawn from one seed: 3 to 5 nodes (some joining late), rounds in which several
of them claim one task within a few milliseconds of each other, and trouble meanwhile — pair
reconnects that bump the pair epoch (catch-up then runs again), a link that silently stops
carrying frames until it is declared dead, a partition of the room into two groups for a
while, a node killed (-9: its decisions in flight end, its queued records still land, as its
local commits do when it restarts), and a node joining mid-claim. Git is the coordination
branch reduced to what decides: the first confirm record per (task, epoch) to land wins;
records and events land after random delays; every node fetches every half second.

What every run must keep (:func:`violations`): never two sessions told "won" for one
(task, epoch), and the session the mesh told always equals git's first record.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import MappingProxyType

from ifmesh.node.board.state import Board, Task
from ifmesh.node.claims.rules import TaskEpoch
from ifmesh.node.errors import IfmeshError
from ifmesh.node.protocol.messages import Envelope, SwarmLeave
from tests.sim.decisions.node import SessionNode
from tests.sim.decisions.pairs import PairedRoom
from tests.sim.decisions.vloop import run_to_end

CLAIM_TIMEOUT = 20.0


@dataclass(frozen=True)
class Scenario:
    seed: int
    nodes: int
    late: int  # of them, joining mid-run
    rounds: int
    latency: float
    loss: float
    trouble: tuple[str, ...]  # what goes wrong, in order, one per round at most

    @staticmethod
    def draw(seed: int) -> Scenario:
        rng = random.Random(seed)
        nodes = rng.randint(3, 5)
        kinds = ["reconnect", "blackhole", "partition", "kill", "leave", "join", "calm", "calm"]
        rounds = rng.randint(3, 6)
        return Scenario(
            seed=seed,
            nodes=nodes,
            late=rng.choice([0, 0, 1]),
            rounds=rounds,
            latency=rng.choice([0.001, 0.005, 0.02, 0.05]),
            loss=rng.choice([0.0, 0.01, 0.05]),
            trouble=tuple(rng.choice(kinds) for _ in range(rounds)),
        )


class SimGit:
    """The coordination branch: events and confirm records land after a push delay."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.events: list[Envelope] = []
        self.first: dict[TaskEpoch, str] = {}  # (task, epoch) → the first record's session

    def submit(self, events: Sequence[Envelope]) -> None:
        loop = asyncio.get_running_loop()
        loop.call_later(self.rng.uniform(0.05, 0.6), self.events.extend, list(events))

    def record(self, session: str, key: TaskEpoch) -> None:
        loop = asyncio.get_running_loop()
        loop.call_later(self.rng.uniform(0.05, 1.5), self.first.setdefault, key, session)


class SimNode(SessionNode):
    """A node deciding claims: its confirm records go to :class:`SimGit`, and it reads git's
    verdicts on them there."""

    def __init__(self, room: Room, session: str) -> None:
        super().__init__(room, session)
        self.awaiting: set[TaskEpoch] = set()
        self.read = 0  # git events folded so far

    def write_confirm_record(self, task_id: str, epoch: int, *, answered: bool = False) -> None:
        self.room.git.record(self.session, (task_id, epoch))
        self.awaiting.add((task_id, epoch))

    def fetch(self) -> None:
        """What git holds that this node has not read, and git's verdicts on its records."""
        landed = self.room.git.events
        self.fold(landed[self.read :])
        self.read = len(landed)
        for key in sorted(self.awaiting):
            winner = self.room.git.first.get(key)
            if winner is not None:
                self.awaiting.discard(key)
                self.publish(self.replica.git_verdict(key[0], key[1], winner, self.now()))


@dataclass
class Told:
    """What the sessions were told, per (task, epoch)."""

    won: dict[TaskEpoch, list[tuple[str, str]]] = field(default_factory=dict)
    decided_by: dict[str, int] = field(default_factory=dict)
    undecided: int = 0


class Room(PairedRoom):
    def __init__(self, scenario: Scenario) -> None:
        super().__init__()
        self.scenario = scenario
        self.rng = random.Random(scenario.seed * 7919 + 1)
        self.board = Board(tasks=MappingProxyType(
            {f"T{i}": Task(f"T{i}", title=f"task {i}") for i in range(1, scenario.rounds + 1)}
        ))  # fmt: skip
        self.git = SimGit(self.rng)
        self.nodes: dict[str, SimNode] = {}
        self.on_roster: set[str] = set()
        self.told = Told()
        # Virtual time starts now: the inbox judges a message's ttl by the real clock, so the
        # room's wall clock must not lag it (a T0 taken at import expired every message in a
        # long test session, and every claim went to git).
        self.t0 = datetime.now(UTC).replace(microsecond=0)

    # --- time, roster, tracing -------------------------------------------------------------

    def roster(self) -> frozenset[str]:
        return frozenset(self.on_roster)

    # --- sessions ----------------------------------------------------------------------------

    def start(self, session: str) -> SimNode:
        node = SimNode(self, session)
        self.nodes[session] = node
        node.fetch()  # it starts from what git holds
        node.join()
        self.on_roster.add(session)
        self.pair_up(session)
        self.log(f"{session} started")
        return node

    def kill(self, session: str) -> None:
        super().kill(session)
        loop = asyncio.get_running_loop()
        loop.call_later(self.rng.uniform(0.1, 2.0), self.on_roster.discard, session)

    def leave(self, session: str) -> None:
        """A node stopped on purpose: its decisions in flight end, it sends ``swarm.leave`` on
        every channel and to git, says bye (its links close once that is sent) and leaves the
        roster."""
        node = self.nodes[session]
        node.halt()
        node.publish(node.replica.publish(SwarmLeave(swarm_id=session), node.now()))
        loop = asyncio.get_running_loop()
        for other in list(self.nodes):
            if frozenset((session, other)) in self.links:
                loop.call_later(0.2, self.disconnect, session, other)
        loop.call_later(self.rng.uniform(0.1, 0.5), self.on_roster.discard, session)
        self.log(f"{session} left")

    async def claim(self, node: SimNode, task_id: str) -> None:
        if not node.alive:
            return
        try:
            events = node.replica.claim(task_id, node.now())
        except IfmeshError:
            return  # already held here, or completed: the agent is told at once, not raced
        pending = node.claims.begin(events)
        self.log(f"{node.session} claims {pending.key} ({pending.why_git or 'mesh'})")
        verdict = await node.claims.settle(pending, CLAIM_TIMEOUT)
        if verdict.won is None:
            self.log(f"{node.session} {pending.key}: undecided ({verdict.why_git})")
            self.told.undecided += 1
            if withdrawn := node.claims.withdrawal(pending.key, node.now()):
                node.publish(withdrawn)
            return
        if verdict.won:
            self.told.won.setdefault(pending.key, []).append((node.session, verdict.decided_by))
            self.told.decided_by[verdict.decided_by] = (
                self.told.decided_by.get(verdict.decided_by, 0) + 1
            )
        self.log(f"{node.session} {pending.key}: won={verdict.won} by {verdict.decided_by}")

    # --- the scenario ----------------------------------------------------------------------

    async def run(self) -> None:
        s = self.scenario
        names = [f"s{i}" for i in range(1, s.nodes + 1)]
        late = names[len(names) - s.late :] if s.late else []
        for name in names:
            if name not in late:
                self.start(name)
        await asyncio.sleep(self.rng.uniform(0.3, 2.0))  # sometimes before the mesh is whole
        for round_, trouble in enumerate(s.trouble, start=1):
            task_id = f"T{round_}"
            self.link_trouble(trouble)
            claimants = [n for n in self.alive() if self.rng.random() < 0.8] or self.alive()[:1]
            claims = []
            for node in claimants:
                claims.append(self.later(node, self.rng.uniform(0, 0.02), task_id))
            for node in self.alive():  # a few claim anew while the first are being decided
                if self.rng.random() < 0.15:
                    claims.append(self.later(node, self.rng.uniform(0.02, 0.3), task_id))
            if trouble in ("kill", "leave", "join"):
                self.trouble_mid_claim(trouble, late)
            await asyncio.gather(*claims, return_exceptions=True)
            await asyncio.sleep(self.rng.uniform(0.1, 1.5))
        await self.wind_down()

    def later(self, node: SimNode, delay: float, task_id: str) -> asyncio.Task[None]:
        """``node``'s agent claims ``task_id`` after ``delay`` (a kill cancels it)."""

        async def run() -> None:
            await asyncio.sleep(delay)
            await self.claim(node, task_id)

        task = asyncio.get_running_loop().create_task(run())
        node.work.add(task)
        task.add_done_callback(node.work.discard)
        return task

    def trouble_mid_claim(self, kind: str, late: list[str]) -> None:
        loop = asyncio.get_running_loop()
        if kind == "kill" and len(self.alive()) >= 2:
            victim = self.rng.choice(self.alive()).session
            loop.call_later(self.rng.uniform(0.0, 0.05), self.kill, victim)
        elif kind == "leave" and len(self.alive()) >= 2:
            leaver = self.rng.choice(self.alive()).session
            loop.call_later(self.rng.uniform(0.0, 0.05), self.leave, leaver)
        elif kind == "join":
            waiting = [name for name in late if name not in self.nodes]
            if waiting:
                loop.call_later(self.rng.uniform(0.0, 0.05), self.start, waiting[0])


def violations(room: Room) -> list[str]:
    problems = []
    for key, winners in sorted(room.told.won.items()):
        sessions = {s for s, _ in winners}
        if len(sessions) > 1:
            problems.append(f"{key}: {sorted(winners)} were all told they won")
        first = room.git.first.get(key)
        for session, by in winners:
            if first != session:
                problems.append(
                    f"{key}: {session} was told it won ({by}); git's first record: {first}"
                )
    return problems


def simulate(scenario: Scenario) -> Room:
    room = Room(scenario)
    run_to_end(room.run())
    return room
