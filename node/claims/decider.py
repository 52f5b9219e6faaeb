"""Deciding this session's claims in the running node: the rules of
:mod:`ifmesh.node.claims.rules` against the live mesh, board and git bridge.

A decision starts synchronously (:meth:`ClaimDecider.begin`): the claim is folded, the route is
chosen, the claim is in every open peer's channel queue, and — when git is to decide — the
confirm record is queued, all before anything received later can be acked or folded. That
is what makes the rules hold: a competing claim we receive afterwards is answered behind our
claim on every channel, and with a ``nack`` once our record is queued
(:meth:`ClaimDecider.decline`, which the mesh asks for every acked message). The rest
(:meth:`ClaimDecider.settle`) waits for the acks or for git's verdict.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any, Protocol

import structlog

from ifmesh.node.board.formats.reserved import ReservedEntry
from ifmesh.node.board.replica import Replica
from ifmesh.node.claims import asking, rules
from ifmesh.node.claims.asking import AskingMesh
from ifmesh.node.claims.reserving import ReservationDecider
from ifmesh.node.claims.rules import TaskEpoch, Verdict
from ifmesh.node.errors import IfmeshError
from ifmesh.node.gitsync.reservation_ledger import ReservationLedger
from ifmesh.node.mesh.messaging import AckedSend
from ifmesh.node.protocol.messages import Envelope

log = structlog.get_logger(__name__)

TURN_TIMEOUT = 60.0
"""Seconds a claim made for a claim-queue turn waits for its decision before it is withdrawn."""

ACK_TIMEOUT = 1.0
"""Seconds a claim waits for its acks before git decides instead. A member that answers pings
acks within a round trip (p99 under 0.1 s with 8 nodes on 2 loaded cores, benchmarks/claims.py);
one slower than this is treated like an unreachable one: the claim is still decided, by git."""


class Changes(Protocol):
    async def wait(self) -> None: ...


class ReservationRecords(Protocol):
    """The git bridge, as path reservations are decided through it (node.claims.reserving)."""

    def write_reservation_record(self, entries: Sequence[ReservedEntry]) -> None: ...
    def reservation_ledger(self) -> ReservationLedger: ...


class DecidingNode(Protocol):
    """What the decider needs of the node it runs in."""

    @property
    def session(self) -> str: ...
    @property
    def changed(self) -> Changes: ...
    @property
    def mesh(self) -> AskingMesh | None: ...
    def replica_or_fail(self) -> Replica: ...
    def publish_claim(self, events: Sequence[Envelope]) -> AckedSend | None: ...
    def write_confirm_record(self, task_id: str, epoch: int, *, answered: bool = False) -> None: ...
    @property
    def git(self) -> ReservationRecords | None: ...
    def publish(self, events: Sequence[Envelope]) -> None: ...
    def background(self, work: Coroutine[Any, Any, Any]) -> None: ...


@dataclass(slots=True)
class Pending:
    """A claim being decided: what :meth:`ClaimDecider.settle` needs to finish it."""

    key: TaskEpoch
    at: datetime  # the claim's timestamp: membership is judged there, on every node alike
    asked: frozenset[str]
    why_git: str
    send: AckedSend | None


class ClaimDecider:
    def __init__(self, node: DecidingNode, *, ack_timeout: float = ACK_TIMEOUT) -> None:
        self.node = node
        self.ack_timeout = ack_timeout
        self.recorded: set[TaskEpoch] = set()  # confirm records written or queued here
        self.deciding: set[TaskEpoch] = set()  # claims this decider took on
        self.won_on_mesh: set[TaskEpoch] = set()
        # Path reservations, decided the same way (node.claims.reserving).
        self.reservations = ReservationDecider(node, ack_timeout)

    # --- the mesh asks -------------------------------------------------------------------

    def decline(self, message: Envelope) -> bool:
        """Whether to nack an acked message: a competing claim for a record of ours, or a
        reservation conflicting with one of our reservations' records."""
        if rules.declines(message, self.recorded, self.node.session):
            return True
        return self.reservations.decline(message)

    # --- deciding ------------------------------------------------------------------------

    def begin(self, events: Sequence[Envelope]) -> Pending:
        """Starts deciding the claim (or steal) that ``events`` begin with, already folded
        into the replica: chooses the route, publishes, and queues the record if git decides.
        Synchronous on purpose (see the module docstring)."""
        claim = events[0]
        key = rules.claim_key(claim)
        if key is None:
            raise ValueError(f"{claim.type} is not a claim")
        self.deciding.add(key)  # its record is this decider's to write (see confirm)
        asked, why_git = asking.route(self.node, claim)
        send = self.node.publish_claim(events)
        if why_git:
            if send is not None:
                send.abandon()  # the peers ack, but git decides
                send = None
            self._record_if_holder(key)
        return Pending(key, claim.timestamp, asked, why_git, send)

    async def settle(self, pending: Pending, timeout: float) -> Verdict:
        """Finishes a decision: won/lost on the mesh, or git's verdict; ``won=None`` if git
        gave none within ``timeout`` (the caller withdraws the claim then)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        key, why_git = pending.key, pending.why_git
        if not why_git and pending.send is not None:
            ack_wait = max(0.0, min(self.ack_timeout, timeout))
            acks = await pending.send.outcome(ack_wait, pending.asked)
            why_git = rules.git_after(acks, pending.asked, asking.asked_at(self.node, pending.at))
            if why_git:
                self._record_if_holder(key)
        if not why_git:  # every session asked has acked: the fold's holder has won
            owner, _ = rules.holder(self.node.replica_or_fail().log.view(), key)
            if owner == self.node.session:
                self._record(key, answered=True)
                self.won_on_mesh.add(key)
                # Logged once the answer is written (formatting and writing a line: ~0.1 ms).
                asyncio.get_running_loop().call_soon(
                    partial(log.info, "claim.won_on_mesh", task=key[0], epoch=key[1],
                            asked=len(pending.asked))
                )  # fmt: skip
                return Verdict(True, "mesh", owner)
            return Verdict(False, "mesh", owner)
        log.info("claim.decided_by_git", task=key[0], epoch=key[1], why=why_git)
        return await self._git_verdict(key, why_git, deadline)

    async def _git_verdict(self, key: TaskEpoch, why_git: str, deadline: float) -> Verdict:
        me = self.node.session
        if key not in self.recorded:  # a lower competing claim holds it here: no record
            owner, _ = rules.holder(self.node.replica_or_fail().board, key)
            return Verdict(False, "mesh", owner, why_git)
        try:
            async with asyncio.timeout_at(deadline):
                while True:
                    board = self.node.replica_or_fail().board
                    winner = rules.confirmed_holder(board, key)
                    if winner is not None:
                        return Verdict(winner == me, "git", winner, why_git)
                    task = board.tasks.get(key[0])
                    if task is None or task.epoch > key[1]:  # released or withdrawn since
                        return Verdict(False, "git", None, why_git)
                    await self.node.changed.wait()
        except TimeoutError:
            return Verdict(None, "git", None, why_git)

    # --- claim-queue turns -----------------------------------------------------------------

    def take_turns(self, now: datetime) -> bool:
        """Claims, for this session, each task whose claim-queue turn is its own (only a node
        claims for itself: docs/claims.md, "Claim queues"), through the decided path; the
        claim and its verdict reach the agent on the event stream. True if any was due."""
        replica = self.node.replica_or_fail()
        due = replica.due_queue_claims(now)
        for task_id in due:
            try:
                events = replica.claim(task_id, now)
            except IfmeshError as exc:  # taken meanwhile, or no longer admitted
                log.info("claim.turn_refused", task=task_id, code=exc.code, error=str(exc))
                continue
            self.node.background(self._settle_turn(self.begin(events)))
        return bool(due)

    async def _settle_turn(self, pending: Pending) -> None:
        verdict = await self.settle(pending, TURN_TIMEOUT)
        log.info("claim.turn_decided", task=pending.key[0], won=verdict.won, by=verdict.decided_by)
        undecided = verdict.won is None
        if undecided and (withdrawn := self.withdrawal(pending.key, datetime.now(UTC))):
            self.node.publish(withdrawn)

    def withdrawal(self, key: TaskEpoch, now: datetime) -> tuple[Envelope, ...]:
        """An undecided claim given up: its release, folded here and for the caller to
        publish, while this session still holds the task at that epoch (none otherwise), so
        the claim cannot win later behind its agent's back."""
        replica = self.node.replica_or_fail()
        owner, _ = rules.holder(replica.board, key)
        task = replica.board.tasks.get(key[0])
        if owner != self.node.session or task is None or task.epoch != key[1]:
            return ()
        return replica.release(key[0], now)

    # --- records -------------------------------------------------------------------------

    def _record_if_holder(self, key: TaskEpoch) -> None:
        owner, _ = rules.holder(self.node.replica_or_fail().log.view(), key)
        if owner == self.node.session:
            self._record(key)

    def _record(self, key: TaskEpoch, *, answered: bool = False) -> None:
        """Queues this session's confirm record for ``key`` (once); from now on competing
        claims for it get a nack. ``answered``: won on the mesh, its answer on its way."""
        if key in self.recorded:
            return
        self.recorded.add(key)
        self.node.write_confirm_record(*key, answered=answered)

    def confirm(self, task_id: str, epoch: int) -> None:
        """A claim whose contest window ended (``Replica.take_confirmations``): its record,
        and nacks from now on — unless this decider took the claim on, and writes the record
        only if the claim is won on the mesh or sent to git."""
        if (task_id, epoch) not in self.deciding:
            self._record((task_id, epoch))

    async def settle_inherited(self, holds_record: Callable[[str, int], Awaitable[bool]]) -> None:
        """At start: claims of an earlier run of this session (killed mid-decision) that git
        has not decided. One whose confirm record was written (``holds_record``: pushed, or in
        a local commit) goes on to git's verdict; any other is withdrawn. Its agent was never
        told it won, and sending it to git now could let it win a task the mesh gave another
        session while this node was down (docs/claims.md)."""
        replica = self.node.replica_or_fail()
        for task in replica.log.held_by(self.node.session):
            if task.confirmed:
                continue
            key = (task.task_id, task.epoch)
            self.deciding.add(key)
            if await holds_record(*key):
                self._record(key)
            else:
                log.info("claim.inherited_withdrawn", task=task.task_id, epoch=task.epoch)
                self.node.publish(replica.release(task.task_id, datetime.now(UTC)))

    async def rewrite_journaled(
        self, journaled: Iterable[TaskEpoch], in_git: Callable[[str, int], Awaitable[bool]]
    ) -> None:
        """At start, after :meth:`settle_inherited`: confirm records an earlier run of this
        session journaled (its claims won on the mesh or sent to git) that git does not hold
        (``in_git``: decided there, or in a local commit) are written again. A kill between a
        claim's answer and its record's commit leaves one; settle_inherited writes those of
        tasks still held, this the rest (a task completed or released since), or git would
        never name the winner its agent was told (a soak found one)."""
        for key in journaled:
            if key not in self.recorded and not await in_git(*key):
                log.info("claim.record_rewritten", task=key[0], epoch=key[1])
                self._record(key)
