"""A stand-in for the running node the control handlers talk to: a real replica (session s1)
and the real claim decider, with a clock the test sets; no mesh, no git. Each test module
subclasses it for what publishing means there."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Sequence
from datetime import datetime, timedelta
from typing import Any

from ifmesh.node.board.replica import Replica, Takeover
from ifmesh.node.board.state import Board, BoardConfig
from ifmesh.node.claims.decider import ClaimDecider
from ifmesh.node.control.running import BoardChanged
from ifmesh.node.governor.policy import DEFAULT_POLICY, Policy
from ifmesh.node.protocol.messages import Envelope
from ifmesh.node.runtime.config import NodeConfig
from tests.unit.board.helpers import at, chain_board

LEASE = timedelta(minutes=15)


class StandInNode:
    """The parts of a running node the handlers use, around a real replica."""

    def __init__(self, *, policy: Policy = DEFAULT_POLICY, takeover: Takeover = "offer") -> None:
        self.config = NodeConfig(session="s1", lease_seconds=LEASE.total_seconds())
        self.replica = Replica(
            "s1", "inc-1", initial=chain_board(), config=BoardConfig(lease=LEASE), takeover=takeover
        )
        self.policy = policy
        self.policy_source = "test"
        self.changed = BoardChanged()
        self.presence: dict[str, str] = {}
        self.clock = at(0)
        self.session, self.incarnation = "s1", "inc-1"
        self.signaling_joined, self.mesh, self.git, self.fatal = False, None, None, None
        self.last_git_errors: list[str] = []
        self.room_problems = ()
        self.sent: list[Envelope] = []
        self.claims = ClaimDecider(self)

    @property
    def board(self) -> Board:
        return self.replica.board

    def now(self) -> datetime:
        return self.clock

    def replica_or_fail(self) -> Replica:
        return self.replica

    async def publish_now(self, events: Sequence[Envelope]) -> None:
        self.published(events)

    def publish(self, events: Sequence[Envelope]) -> None:
        self.published(events)

    def publish_claim(self, events: Sequence[Envelope]) -> None:
        self.published(events)  # no mesh here: alone, the claim is decided at once

    def published(self, events: Sequence[Envelope]) -> None:
        """What this session sent; subclasses add what follows (another replica, git)."""
        self.sent.extend(events)
        self.changed.notify()

    def write_confirm_record(self, task_id: str, epoch: int, *, answered: bool = False) -> None:
        pass

    def background(self, work: Coroutine[Any, Any, Any]) -> None:
        asyncio.get_running_loop().create_task(work)

    def identity_status(self) -> dict[str, Any]:
        return {"signing": False}
