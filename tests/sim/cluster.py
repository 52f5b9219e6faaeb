"""N virtual nodes, each a real :class:`~node.board.replica.Replica`, driven by one seed.

The scenario is a random walk over sessions' commands (claims — often racing —, progress,
completions, releases, failures, blockers, help), network trouble (partitions and heals,
crashes and restarts, from an intact or an empty state directory) and time (each node's clock
skewed by up to minutes). A git tier orders confirm records: the first per (task, epoch) wins.
Everything random comes from ``random.Random(seed)``, so a seed replays exactly.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import MappingProxyType

from ifmesh.node.board.effects import Effect
from ifmesh.node.board.governance import PERMISSIVE, Governance
from ifmesh.node.board.replica import Replica
from ifmesh.node.board.state import Board, BoardConfig, Task, TaskKind, TaskStatus
from ifmesh.node.protocol.messages import Envelope
from tests.sim.network import Network

T0 = datetime(2025, 11, 12, 14, 0, tzinfo=UTC)
CAPABILITIES = ("docs:technical-writing", "protocol:h323", "protocol:sip", "test:fixtures")


@dataclass(frozen=True)
class ScenarioConfig:
    seed: int
    nodes: int = 4
    steps: int = 60
    tasks: int = 8
    max_skew: timedelta = timedelta(minutes=3)
    partitions: bool = True
    crashes: bool = True
    wipes: bool = True
    drop: float = 0.1
    duplicate: float = 0.1
    lease: timedelta = timedelta(minutes=2)
    governed: bool = False  # fold IF.governor's part too (default policy)


@dataclass
class SimNode:
    name: str
    skew: timedelta
    replica: Replica
    up: bool = True
    restarts: int = 0
    told: set[Effect] = field(default_factory=set)  # every effect this session was given

    def now(self, world: datetime) -> datetime:
        return world + self.skew


@dataclass
class GitTier:
    """The coordination branch, reduced to what decides ownership: confirm records in the
    order their pushes land (first-parent history)."""

    records: dict[tuple[str, int], str] = field(default_factory=dict)
    pending: list[tuple[datetime, str, str, int]] = field(default_factory=list)

    def push(self, lands_at: datetime, writer: str, task_id: str, epoch: int) -> None:
        self.pending.append((lands_at, writer, task_id, epoch))
        self.pending.sort()

    def landed(self, now: datetime) -> list[tuple[str, str, int, str]]:
        """(writer, task, epoch, winner) for each push landed by ``now``."""
        out = []
        while self.pending and self.pending[0][0] <= now:
            _, writer, task_id, epoch = self.pending.pop(0)
            winner = self.records.setdefault((task_id, epoch), writer)
            out.append((writer, task_id, epoch, winner))
        return out


def seed_tasks(rng: random.Random, count: int) -> Board:
    tasks: dict[str, Task] = {}
    for i in range(1, count + 1):
        earlier = list(tasks)
        deps = tuple(sorted(rng.sample(earlier, k=min(len(earlier), rng.choice([0, 0, 1, 2])))))
        tasks[f"P0.{i}"] = Task(
            f"P0.{i}",
            title=f"task {i}",
            status=TaskStatus.BLOCKED if deps else TaskStatus.AVAILABLE,
            dependencies=deps,
            estimate_hours=rng.choice([0.5, 1.0, 2.0]),
            required_capabilities=(rng.choice(CAPABILITIES),),
        )
    for i in range(1, 3):
        tasks[f"F{i}"] = Task(f"F{i}", title=f"filler {i}", kind=TaskKind.FILLER)
    return Board(tasks=MappingProxyType(tasks))


class Cluster:
    def __init__(self, config: ScenarioConfig) -> None:
        self.config = config
        self.rng = random.Random(config.seed)
        self.net = Network(self.rng, drop=config.drop, duplicate=config.duplicate)
        self.git = GitTier()
        self.board = seed_tasks(self.rng, config.tasks)
        self.board_config = BoardConfig(lease=config.lease)
        self.governance: Governance = PERMISSIVE
        if config.governed:
            from ifmesh.node.governor.board_governance import BoardGovernance

            self.governance = BoardGovernance()
        self.world = T0
        self.trace: list[str] = []
        self.nodes: dict[str, SimNode] = {}
        for i in range(1, config.nodes + 1):
            name = f"session-{i}"
            skew = config.max_skew * self.rng.uniform(-1, 1)
            self.nodes[name] = SimNode(name, skew, self._replica(name, 0))
        # Every event any node ever held, and which nodes hold it (for "nothing accepted lost").
        self.holders: dict[str, set[str]] = {}
        self.events: dict[str, Envelope] = {}

    def _replica(self, name: str, restarts: int) -> Replica:
        replica = Replica(
            name,
            f"{name}-inc{restarts}",
            initial=self.board,
            config=self.board_config,
            governance=self.governance,
            takeover="auto",  # the simulation exercises steals: idle nodes take stale tasks
            checkpoint_every=8,
        )
        replica.set_presence(())
        return replica

    # --- plumbing ------------------------------------------------------------------------

    def log(self, line: str) -> None:
        self.trace.append(f"{self.world.strftime('%H:%M:%S.%f')[:-3]} {line}")

    def up(self) -> list[SimNode]:
        return [n for n in self.nodes.values() if n.up]

    def _note(self, node: SimNode, event: Envelope) -> None:
        self.events[event.id] = event
        self.holders.setdefault(event.id, set()).add(node.name)

    def _drain(self, node: SimNode) -> None:
        node.told.update(node.replica.effects())

    def emitted(self, node: SimNode, events: tuple[Envelope, ...]) -> None:
        for event in events:
            self._note(node, event)
            self.log(
                f"{node.name} emits {event.type} {getattr(event.payload, 'task_id', '')}"
                f" seq={event.seq} L={event.lamport}"
            )
            self.net.broadcast(node.name, list(self.nodes), event, self.world)
        self._drain(node)

    def deliver(self) -> None:
        for frame in self.net.due(self.world):
            node = self.nodes[frame.receiver]
            if node.replica.receive(frame.event):
                self._note(node, frame.event)
            self._drain(node)

    def presence(self) -> None:
        for node in self.up():
            alive = {n.name for n in self.up() if self.net.links.connected(node.name, n.name)}
            node.replica.set_presence(alive - {node.name})

    def timers(self, *, steal: bool = True) -> None:
        for node in self.up():
            now = node.now(self.world)
            timer = node.replica.get_timer()
            if steal and timer is not None and timer <= now:
                self.emitted(node, node.replica.handle_timer(now))
            for task_id, epoch in node.replica.take_confirmations(now):
                delay = timedelta(milliseconds=self.rng.randint(50, 2000))
                self.git.push(self.world + delay, node.name, task_id, epoch)
                self.log(f"{node.name} pushes confirm record {task_id}@{epoch}")
        for writer, task_id, epoch, winner in self.git.landed(self.world):
            node = self.nodes[writer]
            if node.up:  # a crashed writer's bridge reads the verdict when it restarts
                self.emitted(
                    node, node.replica.git_verdict(task_id, epoch, winner, node.now(self.world))
                )
            else:
                self.git.push(self.world + timedelta(seconds=5), writer, task_id, epoch)

    def anti_entropy(self, a: SimNode, b: SimNode) -> None:
        """``a`` sends ``b`` what ``b``'s frontier lacks (the catch-up after a restart)."""
        for event in a.replica.log.missing_for(b.replica.log.frontier()):
            self.net.send(a.name, b.name, event, self.world)

    def advance(self, seconds: float) -> None:
        self.world += timedelta(seconds=seconds)
        self.deliver()
        self.presence()
