"""One session's node in a simulated room, wired as :class:`~ifmesh.node.runtime.node.Node`
wires the decider: a real :class:`Replica`, the real :class:`ClaimDecider` and a
:class:`~tests.sim.decisions.wire.SimMesh`. Shared by the rooms of decided claims (room.py)
and of path reservations (reservations.py); what git holds, and how a node reads it and
writes its records there, is each room's (``fetch``, ``write_confirm_record``).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Coroutine, Sequence
from datetime import datetime, timedelta
from typing import Any, Protocol

from ifmesh.node.board.replica import Replica
from ifmesh.node.board.state import Board, BoardConfig
from ifmesh.node.claims.decider import ClaimDecider
from ifmesh.node.control.running import BoardChanged
from ifmesh.node.errors import IfmeshError
from ifmesh.node.mesh.framing import Delivery
from ifmesh.node.mesh.messaging import AckedSend
from ifmesh.node.protocol.messages import Envelope, SwarmRegister
from ifmesh.node.runtime.arrivals import Arrivals
from tests.sim.decisions.wire import SimMesh

LEASE = timedelta(hours=1)  # members stay members for the whole run (a killed one too)
FETCH_EVERY = 0.5


class GitEvents(Protocol):
    """The room's coordination branch, as far as a node's events go to it."""

    def submit(self, events: Sequence[Envelope]) -> None: ...


class NodeRoom(Protocol):
    """What a node needs of the room it runs in."""

    board: Board
    rng: Any  # random.Random: each room draws its runs from one seed

    @property
    def git(self) -> GitEvents: ...
    def roster(self) -> frozenset[str]: ...
    def wall(self) -> datetime: ...


class SessionNode:
    """One session's node: its replica, mesh and decider; its git is the room's to define."""

    def __init__(self, room: NodeRoom, session: str) -> None:
        self.room = room
        self.session = session
        self._replica = Replica(session, f"{session}-1", initial=room.board,
                                config=BoardConfig(lease=LEASE))  # fmt: skip
        self.changed = BoardChanged()
        self.mesh = SimMesh(session, room.roster, self.catch_up)
        self.claims = ClaimDecider(self)
        # As the node: acked first, folded after a delay (drawn per node: up to 5 ms, in which
        # its decisions, commands and git reads run) or before any read of the board.
        self.arrivals = Arrivals(lambda arrived: self.fold([r.message for r in arrived]),
                                 delay=room.rng.uniform(0.0, 0.005))  # fmt: skip
        self.mesh.inbox.message_handler = self.arrivals.arrived
        self.mesh.inbox.after_delivery = self.arrivals.acked
        self.mesh.inbox.decline = self.claims.decline
        self.alive = True
        self.work: set[asyncio.Task[Any]] = set()

    # --- what the decider uses -------------------------------------------------------------

    def replica_or_fail(self) -> Replica:
        if self.arrivals:
            self.arrivals.fold_now()
        return self._replica

    @property
    def replica(self) -> Replica:  # every read of the board folds what was acked first
        return self.replica_or_fail()

    def publish_claim(self, events: Sequence[Envelope]) -> AckedSend | None:
        self.room.git.submit(events)
        send = None
        if any(pair.up for pair in self.mesh.pairs.values()):
            send = self.mesh.send_for_ack(events[0])
        self.changed.notify()
        return send

    def publish(self, events: Sequence[Envelope]) -> None:
        """Any other event of ours: to git, and to every open peer in order."""
        self.room.git.submit(events)
        for event in events:
            self.outgoing(event)
            size, sent, blocked = self.mesh._enqueue(event, Delivery.PLAIN, None)
            if blocked:
                self.background(self.mesh._settle(size, sent, blocked))
        self.changed.notify()

    def background(self, work: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self.work.add(task)
        task.add_done_callback(self.work.discard)

    # --- the rest of a node ----------------------------------------------------------------

    def outgoing(self, event: Envelope) -> None:
        """What this node's own files in git make of an event of its own, before it goes out
        on the mesh: nothing here (a reserving node's STATUS drops the paths it releases)."""

    def now(self) -> datetime:
        return self.room.wall()

    def join(self) -> None:
        """Registers in the room and reads git from now on (its pairs are the room's)."""
        register = SwarmRegister(swarm_id=self.session, capabilities=[], cost_per_hour=0.0,
                                 budget=0.0)  # fmt: skip
        self.publish(self.replica.publish(register, self.now()))
        self.background(self.run_fetches())

    def halt(self) -> None:
        """The process ends: nothing it was doing goes on (what it queued for git still lands)."""
        self.alive = False
        for task in list(self.work):
            task.cancel()

    def catch_up(self, peer: str) -> list[Envelope]:
        return [e for e in self.replica.log if e.source == self.session][-256:]

    def fold(self, events: Sequence[Envelope]) -> None:
        replica = self.replica_or_fail()
        for event in events:
            with contextlib.suppress(IfmeshError):  # a refusal is the fold's, not ours
                replica.receive(event)
        self.changed.notify()

    def fetch(self) -> None:
        """What git holds that this node has not read, and git's verdicts on its records."""
        raise NotImplementedError

    async def run_fetches(self) -> None:
        while self.alive:
            self.fetch()
            await asyncio.sleep(FETCH_EVERY * self.room.rng.uniform(0.8, 1.2))
