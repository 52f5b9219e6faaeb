"""One session's node: the mesh, the board, the governor, the git bridge and the control API
wired into one process.

Theory of operation. The board (:class:`~node.board.replica.Replica`) is the only state; the
rest are edges that feed it and carry what it emits:

- session commands arrive on the control API, become events in the replica, and are then
  *published*: appended to this session's log in git (the bridge commits and pushes them) and
  broadcast on the mesh;
- peers' events arrive from the mesh (live) and from git (durable; sessions without a node,
  and anything the mesh missed); both go to ``replica.receive`` and duplicates are no-ops;
- time: one timer task sleeps until the replica's next deadline (lease renewal, escalation,
  steal, end of a claim's contest window) and lets it act (:mod:`ifmesh.node.runtime.timers`).

Presence (who is up on the mesh) is fed to the replica so it proposes a steal only for an
owner that is absent. With the signaling server unreachable the node runs git-only and joins
the mesh in the background when it comes back. The parts are built in
:mod:`ifmesh.node.runtime.parts`.
"""

from __future__ import annotations

import asyncio
import heapq
import os
import secrets
from datetime import UTC, datetime
from typing import Any

import structlog

from ifmesh.node import errors
from ifmesh.node.board.formats.problems import ReadProblem
from ifmesh.node.board.log import order_key
from ifmesh.node.board.replica import Replica
from ifmesh.node.board.state import Board
from ifmesh.node.claims.decider import ClaimDecider
from ifmesh.node.control.endpoint import CONTROL_FILE, ControlEndpoint, publish, write_token
from ifmesh.node.control.handlers import Handlers
from ifmesh.node.control.metrics import NodeMetrics
from ifmesh.node.control.running import BoardChanged
from ifmesh.node.control.server import ControlServer, EventFeed
from ifmesh.node.gitsync import hints
from ifmesh.node.gitsync.runner import AsyncGitSync
from ifmesh.node.governor.policy import DEFAULT_POLICY, Policy
from ifmesh.node.mesh.errors import AnswerRefused
from ifmesh.node.mesh.events import (
    MeshReady,
    PeerDown,
    PeerSuspect,
    PeerUp,
    SignalingChanged,
)
from ifmesh.node.mesh.mesh import Mesh
from ifmesh.node.protocol.messages import Envelope, SwarmLeave, SwarmRegister
from ifmesh.node.runtime import heap, operator_answers, parts
from ifmesh.node.runtime.arrivals import Arrivals
from ifmesh.node.runtime.config import NodeConfig
from ifmesh.node.runtime.identity import NodeIdentity, PairGuard
from ifmesh.node.runtime.journal import Journal
from ifmesh.node.runtime.publishing import Publishing
from ifmesh.node.runtime.receiving import Receiving, StartupFold
from ifmesh.node.runtime.spill import SpillFile
from ifmesh.node.runtime.statedir import SeqReservation, StateDirLock
from ifmesh.node.runtime.stopping import MESH_STOP_SECONDS, STOP_SECONDS, unless_stopped
from ifmesh.node.runtime.timers import run_timers

log = structlog.get_logger(__name__)


def utcnow() -> datetime:
    return datetime.now(UTC)


class Node(Receiving, Publishing):
    def __init__(self, config: NodeConfig) -> None:
        self.config = config
        self.session = config.session
        self.state_dir = config.resolved_state_dir
        self.incarnation = secrets.token_hex(4)
        self.feed = EventFeed()
        self.changed = BoardChanged()
        self.policy: Policy = DEFAULT_POLICY
        self.policy_source = "default"
        self.replica: Replica | None = None
        self.git: AsyncGitSync | None = None
        self.mesh: Mesh | None = None
        self.identity: NodeIdentity | None = None  # signs and verifies (docs/security.md)
        self.claims = ClaimDecider(self)
        self.arrivals = Arrivals(self.fold_arrived)  # peers' events acked, not yet folded
        self.presence: dict[str, str] = {}  # peer → up | suspect | down (local, never folded)
        self.signaling_joined = False
        self._mesh_was_ready = False
        self.last_git_errors: list[str] = []
        self.fatal: str | None = None
        # What the board and STATUS files the room started from could not fully say.
        self.room_problems: tuple[ReadProblem, ...] = ()
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._stop: asyncio.Event | None = None
        self._sent: SeqReservation | None = None
        self._journal: Journal | None = None
        self._resumed = False  # the replica knows this session's last seq: it may emit
        self._control: ControlServer | None = None

    # --- lifecycle -------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        """Runs until ``stop`` is set (SIGTERM/SIGINT), then drains the mesh and pushes."""
        self._stop = stop
        lock = StateDirLock(self.state_dir)
        lock.acquire()
        # A control.json left by a killed predecessor names a dead endpoint: drop it at once.
        (self.state_dir / CONTROL_FILE).unlink(missing_ok=True)
        try:
            if await unless_stopped(self._start(), stop):
                await stop.wait()
            else:  # a start on a day's history reads for many seconds: SIGTERM ends it
                log.info("node.stopped_while_starting", session=self.session)
        finally:
            await self._shutdown(self._control)
            for record in (self._sent, self._journal):
                if record is not None:
                    record.close()
            lock.release()

    async def _start(self) -> None:
        await self._start_git()
        self._control = await self._start_control()
        await self._start_mesh()
        self._start_timers()
        heap.freeze_heap()
        heap.give_back_free_heap()  # what the start-up read freed (a day's history: ~18 MB)
        self._tasks.append(asyncio.create_task(heap.give_back_free_heap_every(), name="node-heap"))
        log.info("node.started", session=self.session, incarnation=self.incarnation)
        self.feed.publish({"type": "node.started", "session": self.session})

    async def _start_git(self) -> None:
        if self.config.signing:  # the key is made here, under the state directory's lock
            self.identity = NodeIdentity.open(self.config)
        bridge = parts.git_bridge(self.config, self.incarnation, self.identity)
        pending: list[Any] = []
        self.git = AsyncGitSync(bridge, on_outputs=pending.append)
        resume = await self.git.open()  # raises with an actionable message when it cannot
        if self.identity is not None:
            self.identity.request_fetch = self.git.request_fetch
        room = await asyncio.to_thread(parts.read_room_locked, bridge)
        self.room_problems = room.problems
        for problem in room.problems:
            log.warning("node.read_problem", where=problem.where(), reason=problem.reason)
        self.policy, self.policy_source = parts.policy_for(self.config, room.policy_text)
        self.replica = parts.board_replica(  # old events go to a file (board/cold.py)
            self.config, self.incarnation, room.board, self.policy, self.identity,
            SpillFile(self.state_dir),
        )  # fmt: skip
        # This session's own earlier events (state directory, else git), and what a killed
        # predecessor sent and did not commit (some peers hold it, so git must): a restarted
        # node must see its own claims, not only other sessions'. They are folded in order
        # among the other sessions' events as the start-up read streams them (StartupFold).
        self._journal = Journal(self.state_dir)
        unsaved = self._journal.unsaved(bridge.chain.saved_seq)
        own = heapq.merge(bridge.chain.take_loaded(), sorted(unsaved, key=order_key), key=order_key)
        startup = StartupFold(self.receive, own)
        await self.git.read_first(startup.chunk)
        startup.finish()
        for event in unsaved:
            self.git.submit(event)
        self._sent = SeqReservation(self.state_dir)
        reserved_seq, reserved_lamport = self._sent.at_open
        self.replica.resume(max(resume.seq, reserved_seq), max(resume.lamport, reserved_lamport))
        self._resumed = True
        # Only now what git reported while starting: a verdict there makes this node emit an
        # event, whose seq must come after everything this session sent before.
        self.git.on_outputs = self._on_git  # from now on outputs go straight to the board
        for outputs in pending:
            self._on_git(outputs)
        journaled = set(self._journal.records_at_open)
        git = self.git

        async def holds_record(task: str, epoch: int) -> bool:
            return (task, epoch) in journaled or await git.holds_record(task, epoch)

        await self.claims.settle_inherited(holds_record)
        await self.claims.rewrite_journaled(sorted(journaled), git.holds_record)
        self.claims.reservations.settle_inherited(self.git.reserved_records(), utcnow())
        self._register()

    def _register(self) -> None:
        """Registers this session's capabilities once, or again when they changed."""
        board = self.board
        known = board.sessions.get(self.session)
        capabilities = tuple(self.config.capabilities)
        same = known is not None and known.node and known.capabilities == capabilities
        if same and board.governor:
            return
        payload = SwarmRegister(
            swarm_id=self.session,
            capabilities=list(capabilities),
            cost_per_hour=self.config.cost_per_hour,
            budget=self.config.budget,
            model=self.config.model,
        )
        self.publish(self.replica_or_fail().publish(payload, utcnow()))

    async def _start_control(self) -> ControlServer:
        token_file = write_token(self.state_dir)
        handlers = Handlers(self)
        server = ControlServer(
            session=self.session,
            token=token_file.read_text(encoding="utf-8").strip(),
            commands=handlers.commands(),
            queries=handlers.queries(),
            feed=self.feed,
            metrics=NodeMetrics(self).page,
        )
        if self.config.control_socket is not None:
            url = await server.start(unix=str(self.config.control_socket))
        else:
            url = await server.start(port=self.config.control_port)
        publish(self.state_dir, ControlEndpoint(self.session, os.getpid(), url, token_file))
        return server

    def _start_timers(self) -> None:
        timers = run_timers(
            self.replica_or_fail,
            self._wake,
            clock=utcnow,
            publish=self.publish,
            confirm=self.claims.confirm,
            take_turns=self.claims.take_turns,
        )
        self._tasks.append(asyncio.create_task(timers, name="node-timers"))

    async def _start_mesh(self) -> None:
        mesh = parts.mesh(self.config)
        # Peers' events are acked first and folded once the loop is idle, or before anything
        # reads the board, whichever comes first (node.runtime.arrivals).
        mesh.on_message(self.arrivals.arrived, after=self.arrivals.acked)
        # Each new channel carries this session's recent live events first, ahead of every ack.
        mesh.on_catch_up(lambda peer: parts.catch_up_events(self.replica_or_fail(), utcnow()))
        # A competing claim for a (task, epoch) we hold a confirm record for gets a nack.
        mesh.on_decline(self.claims.decline)
        # An operator peer's answer to an ask-release on a task we hold: given as our own.
        mesh.on_operator_answer(self._answer_for_operator)
        if self.identity is not None:  # verified before the fold; pairs' fingerprints signed
            mesh.inbox.gate = self.identity.admit
            mesh.role_gate.signatures = self.identity.gate.operator_signed  # operator pages
            mesh.signaling.pair_auth = PairGuard(self.identity)
        if self.git is not None:  # the bridges tell each other when their pushes land
            git = self.git
            mesh.on_hint(hints.TOPIC, lambda peer, data: hints.received(git, peer, data))
        await mesh.__aenter__()
        self.mesh = mesh
        self.replica_or_fail().set_presence(())
        self._tasks.append(asyncio.create_task(self._mesh_loop(mesh), name="node-mesh"))

    async def _shutdown(self, control: ControlServer | None) -> None:
        """Says leave, closes the mesh and pushes what is left, within STOP_SECONDS: what git
        could not push by then stays in the state directory for the next start."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + STOP_SECONDS
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        # No longer a member: claims in the room stop waiting for this session's ack
        # (docs/claims.md, "Who must answer"). Not before the replica resumed this session's
        # seq (a stop during the start-up read): the leave would reuse a seq already sent.
        if self.replica is not None and self._resumed and self.fatal is None:
            leave = SwarmLeave(swarm_id=self.session, reason="node stopped")
            await self.publish_now(self.replica_or_fail().publish(leave, utcnow()))
        if self.mesh is not None:
            try:
                # Bounded: a drained mesh says bye within the drain timeout; never hang a stop.
                await asyncio.wait_for(self.mesh.close(), timeout=MESH_STOP_SECONDS)
            except (TimeoutError, errors.IfmeshError) as exc:
                log.warning("node.mesh_close_incomplete", error=repr(exc))
        if self.git is not None:
            pending = await self.git.close(timeout=max(0.0, deadline - loop.time()))
            if pending:
                log.warning("node.unpushed", commits=pending, note="kept for the next start")
        if control is not None:
            await control.close()
        log.info("node.stopped", session=self.session)

    def stop(self, reason: str) -> None:
        self.fatal = reason
        log.error("node.fatal", reason=reason)
        if self._stop is not None:
            self._stop.set()

    # --- the board --------------------------------------------------------------------------

    def replica_or_fail(self) -> Replica:
        """The board, holding every message this node has acked: the one way to it."""
        if self.replica is None:
            raise errors.ControlError("the node is still starting; try again in a moment")
        if self.arrivals:
            self.arrivals.fold_now()
        return self.replica

    def now(self) -> datetime:
        return utcnow()

    @property
    def board(self) -> Board:
        return self.replica_or_fail().board

    # --- edges ------------------------------------------------------------------------------

    def _answer_for_operator(self, operator: str, message: Envelope) -> AnswerRefused | None:
        """An operator's release or keep (node.runtime.operator_answers), published as this
        session's own event; the agent sees it on the event stream with who answered."""
        events, refused = operator_answers.answer(
            self.replica_or_fail(), operator, message, utcnow()
        )
        if events:
            self.publish(events)
            task = getattr(message.payload, "task_id", None)
            answer = {"operator": operator, "answer": message.type, "task": task}
            self.feed.publish({"type": "operator.answer", **answer})
        return refused

    def write_confirm_record(self, task_id: str, epoch: int, *, answered: bool = False) -> None:
        """A claim won on the mesh or sent to git (node.claims): git writes its record, and
        the journal keeps it first, so that a kill before the commit keeps it too."""
        if self._journal is not None:
            self._journal.record(task_id, epoch)
        if self.git is not None:
            self.git.write_confirm_record(task_id, epoch, answered=answered)

    def _on_git(self, outputs: Any) -> None:  # node.gitsync's Outputs
        mesh = self.mesh
        if mesh is not None and not mesh.closed:
            for hint in hints.to_send(outputs):
                mesh.hint(hints.TOPIC, hint)

        self.receive(outputs.events, "git")
        if self.identity is not None:  # mesh events held for a key a read may have pinned
            self.identity.after_read(self.receive)
        replica = self.replica_or_fail()
        now = utcnow()
        for verdict in outputs.verdicts:
            self.publish(replica.git_verdict(verdict.task, verdict.epoch, verdict.winner, now))
        if outputs.reservations:  # on this session's path reservations (node.claims.reserving)
            self.claims.reservations.git_verdicts(outputs.reservations, now)
            self._after_change()
        for problem in outputs.errors:
            self.last_git_errors = [*self.last_git_errors[-9:], f"{problem.code}: {problem}"]
            self.feed.publish({"type": "git.error", "code": problem.code, "message": str(problem)})
        if self.git is not None and self.git.stopped is not None:
            self.stop(str(self.git.stopped))

    def identity_status(self) -> dict[str, Any]:
        """What ``ifmesh status`` shows of keys, pins and refusals."""
        return self.identity.status() if self.identity is not None else {"signing": False}

    async def _mesh_loop(self, mesh: Mesh) -> None:
        # Messages never come this way: on_message folds them as they arrive (_start_mesh).
        async for event in mesh.events():
            if isinstance(event, PeerUp):
                self.presence[event.peer] = "up"
            elif isinstance(event, PeerSuspect):
                self.presence[event.peer] = "suspect"
            elif isinstance(event, PeerDown):
                self.presence[event.peer] = f"down:{event.reason.value}"
            elif isinstance(event, MeshReady):
                if not self._mesh_was_ready:  # the first peer connections stay too
                    self._mesh_was_ready = True
                    heap.freeze_heap()
                continue
            elif isinstance(event, SignalingChanged):
                self.signaling_joined = event.joined
                self.feed.publish({"type": "signaling", "joined": event.joined})
                continue
            else:
                continue
            alive = [p for p, state in self.presence.items() if state in ("up", "suspect")]
            self.replica_or_fail().set_presence(alive)
            state = self.presence.get(event.peer, "unknown")
            self.feed.publish({"type": "presence", "peer": event.peer, "state": state})
            self._wake.set()
