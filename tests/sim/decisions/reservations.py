"""A simulated room deciding path reservations: real replicas, the real decider
(:mod:`ifmesh.node.claims.reserving`) and the real mesh queues (:mod:`tests.sim.decisions.wire`)
on virtual time, and git as the real :class:`ReservationLedger` over each session's STATUS.

A scenario is drawn from one seed: 3 to 5 nodes, each holding its own task and working in its
own working tree, which tracks some of each round's files and not others (trees differ); rounds
in which two or three of them reserve paths within a few milliseconds — a directory, a file, or
globs such as ``r3/*.py`` and ``r3/a*`` that overlap only through a tracked file (``r3/a.py``)
— sometimes the paths of the round before, which their holders may be giving back just then;
and trouble meanwhile:
pair reconnects, a link that silently stops carrying frames, a partition, a node killed (its
commits still land). Each node's STATUS is committed after every change and lands in git in
order after a random delay; nodes read git every half second, each with its own ledger (git
as read there). Agents give back what they were told they hold after a while, or never.

What every run must keep (:func:`violations`): never two sessions told "reserved" for
conflicting reservations held at the same time — judged from the patterns and the two working
trees themselves, not from what the events carry — and every reservation told "reserved" stands
in git — unless its holder gave it back before its record landed and before the reservation
git preferred was even made (git's "lost" then comes after it was over; docs/claims.md).
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import MappingProxyType
from typing import Any

from ifmesh.node.board import reservation_commands
from ifmesh.node.board.formats.reserved import RESERVED, ReservedEntry, entry_document
from ifmesh.node.board.formats.status import StatusFile
from ifmesh.node.board.reservations import literal_overlap, matches
from ifmesh.node.board.state import Board, Task, TaskStatus
from ifmesh.node.claims.reservation_rules import entries
from ifmesh.node.errors import IfmeshError
from ifmesh.node.gitsync.reservation_ledger import (
    AwaitedRecords,
    ReservationLedger,
)
from ifmesh.node.protocol import messages as m
from ifmesh.node.protocol.messages import Envelope
from tests.sim.decisions.node import SessionNode
from tests.sim.decisions.pairs import PairedRoom
from tests.sim.decisions.room import Scenario
from tests.sim.decisions.vloop import run_to_end

TIMEOUT = 20.0
TTL = 600.0
# What a round reserves under its directory (r3/), and the files a working tree may track there.
PATTERNS = ["", "a.md", "b.md", "*.py", "a*", "*.md"]
FILES = ["a.py", "a.md", "b.md", "c.py"]


class SimGit:
    """The coordination branch: events, and each session's STATUS versions, landing in order."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.events: list[Envelope] = []
        self.commits: list[tuple[str, tuple[ReservedEntry, ...]]] = []  # landed, in order
        self._last: dict[str, float] = {}

    def submit(self, events: Sequence[Envelope]) -> None:
        loop = asyncio.get_running_loop()
        loop.call_later(self.rng.uniform(0.05, 0.6), self.events.extend, list(events))

    def commit(self, session: str, listed: Sequence[ReservedEntry]) -> None:
        """One commit of ``session``'s STATUS, landing after its earlier ones."""
        loop = asyncio.get_running_loop()
        # Strictly after its earlier commit: timers due at one instant run in no set order.
        at = max(self._last.get(session, 0.0) + 1e-6, loop.time() + self.rng.uniform(0.05, 1.5))
        self._last[session] = at
        loop.call_at(at, self.commits.append, (session, tuple(listed)))


def fold_commit(ledger: ReservationLedger, number: int, session: str, listed: Any) -> None:
    extra = {RESERVED: [entry_document(e) for e in listed]} if listed else {}
    status = StatusFile(session=session, extra=MappingProxyType(extra))
    ledger.apply(f"c{number}", datetime(2025, 1, 1, tzinfo=UTC), [(f"S-{session}", status)])


class SimNode(SessionNode):
    """A node reserving paths, with its own git bridge (``git`` is the node: it writes its
    records to its STATUS and reads git's verdicts from its own ledger)."""

    def __init__(self, room: ReservationRoom, session: str) -> None:
        super().__init__(room, session)
        self.claims.reservations.clock = room.wall
        self.tracked = room.trees[session]  # what `git ls-files` lists in its working tree
        self.git = self
        self.listed: list[ReservedEntry] = []  # its STATUS reserved:
        self.ledger = ReservationLedger()  # git as read here
        self.awaited = AwaitedRecords()
        self.read = self.read_events = 0

    # --- what the decider uses -------------------------------------------------------------

    def outgoing(self, event: Envelope) -> None:
        p = event.payload
        if isinstance(p, m.PathsRelease):  # its STATUS drops them
            gone = [e for e in self.listed if e.task == p.task_id and e.pattern in p.patterns]
            self._list([e for e in self.listed if e not in gone])

    def write_confirm_record(self, task_id: str, epoch: int, *, answered: bool = False) -> None:
        raise AssertionError("no claims are made here")

    def write_reservation_record(self, written: Sequence[ReservedEntry]) -> None:
        renewed = {(e.task, e.pattern) for e in written}
        self._list([e for e in self.listed if (e.task, e.pattern) not in renewed] + [*written])
        self.awaited.add(written)

    def reservation_ledger(self) -> ReservationLedger:
        return self.ledger

    # --- its git bridge ----------------------------------------------------------------------

    def _list(self, listed: list[ReservedEntry]) -> None:
        if listed != self.listed:
            self.listed = listed
            self.room.git.commit(self.session, listed)

    def fetch(self) -> None:
        """What git holds that this node has not read, and git's verdicts on its records."""
        git = self.room.git
        self.fold(git.events[self.read_events :])
        self.read_events = len(git.events)
        for number in range(self.read, len(git.commits)):
            fold_commit(self.ledger, number, *git.commits[number])
        self.read = len(git.commits)
        verdicts, lost = self.awaited.take(self.ledger, self.session, self.room.wall())
        if lost:  # they leave its STATUS, as the bridge drops them
            self._list([e for e in self.listed if e not in lost])
        if verdicts:
            self.claims.reservations.git_verdicts(verdicts, self.room.wall())
            self.changed.notify()


@dataclass
class Told:
    session: str
    entries: tuple[ReservedEntry, ...]
    at: float
    decided_by: str
    released_at: float = float("inf")


@dataclass
class Tally:
    told: list[Told] = field(default_factory=list)
    decided_by: dict[str, int] = field(default_factory=dict)
    lost: int = 0
    lost_to_tracked: int = 0  # lost to a reservation overlapping it only through a tracked file
    undecided: int = 0


class ReservationRoom(PairedRoom):
    def __init__(self, scenario: Scenario) -> None:
        super().__init__()
        self.scenario = scenario
        self.rng = random.Random(scenario.seed * 7919 + 3)
        names = [f"s{i}" for i in range(1, scenario.nodes + 1)]
        self.t0 = datetime.now(UTC).replace(microsecond=0)  # the inbox judges ttl by it
        self.board = Board(tasks=MappingProxyType({
            f"T{n}": Task(f"T{n}", title=f"task {n}", status=TaskStatus.CLAIMED, owner=name,
                          owner_last_event_at=self.t0, claimed_at=self.t0)
            for n, name in enumerate(names, start=1)
        }))  # fmt: skip
        self.git = SimGit(self.rng)
        self.trees = {  # each file of each round's directory, tracked in most trees
            name: [f"r{n}/{f}" for n in range(len(scenario.trouble) + 1) for f in FILES
                   if self.rng.random() < 0.75]
            for name in names
        }  # fmt: skip
        self.nodes: dict[str, SimNode] = {}
        self.tally = Tally()

    def roster(self) -> frozenset[str]:
        return frozenset(n for n, node in self.nodes.items() if node.alive)

    # --- sessions and agents ---------------------------------------------------------------

    def start(self, session: str) -> None:
        node = SimNode(self, session)
        self.nodes[session] = node
        node.join()
        self.pair_up(session)

    async def reserve(self, node: SimNode, pattern: str) -> None:
        await asyncio.sleep(self.rng.uniform(0, 0.02))
        if not node.alive:
            return
        task = f"T{list(self.nodes).index(node.session) + 1}"
        replica, decider = node.replica, node.claims.reservations
        try:
            event = reservation_commands.reserve(
                replica.log.view(), replica.author, task, [pattern], self.wall(),
                ttl=timedelta(seconds=TTL), tracked=node.tracked,
            )  # fmt: skip
        except IfmeshError:
            return  # refused at once: another's reservation is on the board already
        pending = decider.begin(replica.emit([event]))
        self.log(f"{node.session} reserves {pattern} ({pending.why_git or 'mesh'})")
        outcome = await decider.settle(pending, TIMEOUT)
        if outcome.won is None:
            self.tally.undecided += 1
            if withdrawn := decider.withdrawal(pending.entries, self.wall()):
                node.publish(withdrawn)
            return
        self.log(f"{node.session} {pattern}: won={outcome.won} by {outcome.decided_by}")
        if not outcome.won:
            self.tally.lost += 1
            if any(literal_overlap(pattern, theirs) is None for *_, theirs in outcome.conflicts):
                self.tally.lost_to_tracked += 1
            return
        told = Told(node.session, rr_entries(event), self.loop_time(), outcome.decided_by)
        self.tally.told.append(told)
        by = self.tally.decided_by
        by[outcome.decided_by] = by.get(outcome.decided_by, 0) + 1
        if self.rng.random() < 0.7:  # the agent gives it back after a while
            await asyncio.sleep(self.rng.uniform(0.1, 3.0))
            if node.alive:  # (a renewal's earlier answers end with it)
                for one in self.tally.told:
                    if one.session == node.session and one.entries[0].key == told.entries[0].key:
                        one.released_at = min(one.released_at, self.loop_time())
                unreserve = m.PathsRelease(task_id=task, patterns=[pattern])
                node.publish(replica.emit([replica.author.stamp(unreserve, self.wall())]))
                self.log(f"{node.session} releases {pattern}")

    def loop_time(self) -> float:
        return asyncio.get_running_loop().time()

    async def run(self) -> None:
        s = self.scenario
        for n in range(1, s.nodes + 1):
            self.start(f"s{n}")
        await asyncio.sleep(self.rng.uniform(0.3, 2.0))
        family = "r0"
        for round_, trouble in enumerate(s.trouble, start=1):
            self.link_trouble(trouble)
            if self.rng.random() < 0.6:
                family = f"r{round_}"
            contenders = self.rng.sample(
                self.alive(), min(len(self.alive()), self.rng.choice([2, 3]))
            )
            work = [
                asyncio.ensure_future(self.reserve(node, f"{family}/{self.rng.choice(PATTERNS)}"))
                for node in contenders
            ]
            for w in work:
                contenders[work.index(w)].work.add(w)
            if trouble == "kill" and len(self.alive()) > 2:
                loop = asyncio.get_running_loop()
                loop.call_later(
                    self.rng.uniform(0, 0.05), self.kill, self.rng.choice(self.alive()).session
                )
            await asyncio.gather(*work, return_exceptions=True)
            await asyncio.sleep(self.rng.uniform(0.1, 1.5))
        await self.wind_down()


def rr_entries(event: Envelope) -> tuple[ReservedEntry, ...]:
    return entries(event)


def clash(room: ReservationRoom, one: Told, other: Told) -> bool:
    """Whether the two conflict by the promise itself: exclusive on either side, and a pattern
    without wildcards, or a path either session's working tree tracks, that both match."""
    tracked = {*room.trees[one.session], *room.trees[other.session]}
    return any(
        (a.exclusive or b.exclusive)
        and (
            literal_overlap(a.pattern, b.pattern) is not None
            or any(matches(a.pattern, p) and matches(b.pattern, p) for p in tracked)
        )
        for a in one.entries
        for b in other.entries
    )


def violations(room: ReservationRoom) -> list[str]:
    problems = []
    told = room.tally.told
    for i, later in enumerate(told):
        for earlier in told[:i]:
            if later.session == earlier.session:
                continue
            overlapping = later.at < earlier.released_at and earlier.at < later.released_at
            if overlapping and clash(room, earlier, later):
                problems.append(f"{earlier} and {later} were both told, at the same time")
    git = ReservationLedger()
    for number, (session, listed) in enumerate(room.git.commits):
        fold_commit(git, number, session, listed)
    for one in told:
        for entry in one.entries:
            verdict = git.verdict(one.session, entry)
            if verdict is not None and not verdict.stands and verdict.against is not None:
                # Given back before the other was even made (its record had not landed yet,
                # and the other's landed first): git's "lost" came after it was over.
                made = (verdict.against.entry.since - room.t0).total_seconds()
                if one.released_at <= made:
                    continue
            if verdict is None or not verdict.stands:
                problems.append(f"{one} was told reserved; git: {verdict}")
    return problems


def simulate(scenario: Scenario) -> ReservationRoom:
    room = ReservationRoom(scenario)
    run_to_end(room.run())
    return room
