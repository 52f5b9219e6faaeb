"""One node's board, sans-IO: its log, what it emits, its effects, and its timers.

The runtime feeds it peers' events (:meth:`Replica.receive`), the session's commands (which
return the events to broadcast), the mesh's presence view (:meth:`Replica.set_presence`) and
time (aioquic-style: :meth:`Replica.get_timer` says when to call :meth:`Replica.handle_timer`
next). Effects for the session — unblocked, lost, fenced, help wanted — queue up and are read
with :meth:`Replica.effects`; an effect already delivered is not delivered again when a late
event makes the log re-fold.

Time passing changes nothing by itself: when a lease runs out or a help request's deadline
passes, it is this node that *issues* an event (``lease.renew``, ``task.steal``,
``help.escalate``), and the fold judges it at that event's own timestamp.

Takeovers. A task whose holder's lease ran out (judged at ``now``) while the holder is absent
from this node's mesh may be taken with ``task.steal`` (epoch + 1). What the node does about
it is the room's policy (:data:`Takeover`): under ``offer`` it only offers such tasks to its
session (:meth:`Replica.takeover_offers`) and steals when the session claims one; under
``auto`` it also steals one by itself when it holds nothing; under ``never`` it does neither.
Whoever took it, the session is told once git has confirmed the steal (:class:`Assigned`),
and :meth:`Replica.taken_over` lists what it holds that way: a node never takes work for its
agent without telling it (DESIGN.md, "Queues and asks"); claim queues: :attr:`Replica.queues`.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import structlog

from ifmesh.node.board import commands, queues
from ifmesh.node.board.claimqueue import ClaimQueues
from ifmesh.node.board.cold import ColdStore
from ifmesh.node.board.commands import Author
from ifmesh.node.board.effects import Assigned, Confirmed, Effect, Fenced, Rejected
from ifmesh.node.board.errors import ForkedLog
from ifmesh.node.board.governance import PERMISSIVE, Admission, Governance
from ifmesh.node.board.log import DEFAULT_CHECKPOINT_EVERY, EventLog
from ifmesh.node.board.state import SEED_INCARNATION_PREFIX, Board, BoardConfig, Task, lease_expired
from ifmesh.node.board.takeover import TakenOver, Takeover
from ifmesh.node.board.told import Told
from ifmesh.node.errors import CoordinationError
from ifmesh.node.protocol import messages as m

log = structlog.get_logger(__name__)
REFUSALS_KEPT = 50


class Replica:
    def __init__(
        self,
        session_id: str,
        incarnation: str,
        *,
        initial: Board | None = None,
        config: BoardConfig | None = None,
        governance: Governance = PERMISSIVE,
        takeover: Takeover = "offer",
        checkpoint_every: int = DEFAULT_CHECKPOINT_EVERY,
        cold: ColdStore | None = None,
    ) -> None:
        self.log = EventLog(initial, config, governance, checkpoint_every, cold=cold)
        self.config = self.log.config
        self.governance = governance
        self.author = Author(session_id, incarnation)
        self.takeover: Takeover = takeover
        self._queue: deque[Effect] = deque()
        self._told = Told()  # so that a re-fold does not tell an effect twice (board.told)
        self._alive: frozenset[str] | None = None  # None: no presence view, never steal
        self._handed: set[tuple[str, int]] = set()
        # (task, epoch) this session stole → the holder it took the task from. Filled when it
        # steals and from the fold's Fenced effects (so a restart, replaying its log, recalls).
        self._taken: dict[tuple[str, int], str] = {}
        # Events the fold refused, from the mesh or from git: never silent (`ifmesh status`,
        # the board's JSON and the node's metrics show them).
        self.refusals: deque[Rejected] = deque(maxlen=REFUSALS_KEPT)
        self.refusal_counts: Counter[str] = Counter()
        self.queues = ClaimQueues(self)

    @property
    def session_id(self) -> str:
        return self.author.session_id

    @property
    def board(self) -> Board:
        return self.log.board

    # --- input ---------------------------------------------------------------------------

    def resume(self, seq: int = 0, lamport: int = 0) -> None:
        """Continue ``seq`` and ``lamport`` from what the log holds (call after loading the
        state directory, git, or peers' copies of this session's log, before emitting), or
        from higher values known elsewhere (e.g. the last entry of this session's log in git,
        not replayed)."""
        held, _ = self.log.last_of(self.session_id)
        top = max(self.author.seq, held, seq)
        clock = max(self.author.lamport, self.log.max_lamport(), lamport)
        self.author = Author(self.session_id, self.author.incarnation, top, clock)

    def receive(self, event: m.Envelope) -> bool:
        """Folds a peer's (or a replayed) event; False for a duplicate or a message that is no
        event (the origin's generic ``message``: never logged or relayed, its ``seq`` never
        checked). Raises ForkedLog when another incarnation of this very session appends
        beyond what this one resumed from (events read from its STATUS file in git are not
        another process)."""
        if event.type not in m.EVENT_TYPES:
            return False
        if (
            event.source == self.session_id
            and event.incarnation != self.author.incarnation
            and not event.incarnation.startswith(SEED_INCARNATION_PREFIX)
            and event.seq > self.author.seq
            and self.author.seq > 0
        ):
            raise ForkedLog(
                f"{self.session_id} seq {event.seq} comes from incarnation"
                f" {event.incarnation or '?'} while this process is incarnation"
                f" {self.author.incarnation}: the session runs twice; stop one of them"
            )
        added = self.log.add(event)
        self.author = Author(
            self.session_id,
            self.author.incarnation,
            self.author.seq,
            max(self.author.lamport, event.lamport),
        )
        self._deliver(added.effects)
        return added.new

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Events received inside are folded once, at the end, if any arrives late (a read
        from git, a restart's replay): see :meth:`EventLog.batch`. Their effects are
        delivered then."""
        folded: list[Effect] = []
        try:
            with self.log.batch() as folded:
                yield
        finally:
            self._deliver(folded)

    def set_presence(self, alive: Iterable[str]) -> None:
        """Sessions the mesh currently sees alive; a steal is proposed only for the others."""
        self._alive = frozenset(alive)

    # --- takeovers -----------------------------------------------------------------------

    def _stale_and_absent(self, task: Task, now: datetime) -> bool:
        """``task`` may be stolen at ``now``: held by another session that is absent from this
        node's mesh, whose lease has expired, and no other waiter of its claim queue is first.
        Never without a presence view."""
        owner = task.owner
        return (
            self._alive is not None
            and owner is not None
            and owner != self.session_id
            and owner not in self._alive
            and lease_expired(task, now, self.config.lease)
            and not queues.refused_for(task, self.session_id, now, self.config.lease)
        )

    def takeover_offers(self, now: datetime) -> tuple[Task, ...]:
        """Tasks this session may take over with an explicit claim at ``now`` (none under
        ``never``), in task-id order."""
        if self.takeover == "never":
            return ()
        tasks = sorted(self.log.view().tasks.items())
        return tuple(task for _, task in tasks if self._stale_and_absent(task, now))

    def taken_over(self) -> tuple[TakenOver, ...]:
        """What this session holds now because it took it over, confirmed by git or not."""
        board, found = self.log.view(), []
        for (task_id, epoch), previous in sorted(self._taken.items()):
            task = board.tasks.get(task_id)
            mine = task is not None and task.held and task.owner == self.session_id
            if mine and task is not None and task.epoch == epoch:
                found.append(TakenOver(task_id, epoch, previous, task.confirmed))
        return tuple(found)

    # --- output --------------------------------------------------------------------------

    def effects(self) -> Iterator[Effect]:
        """Drains the effects queued since the last call, oldest first."""
        while self._queue:
            yield self._queue.popleft()

    def _deliver(self, effects: Sequence[Effect]) -> None:
        for effect in self._told.fresh(effects):
            self._queue.append(effect)
            if isinstance(effect, Rejected):
                self.refusals.append(effect)
                self.refusal_counts[effect.code] += 1
            elif isinstance(effect, Fenced) and effect.by == self.session_id:
                self._taken[(effect.task_id, effect.epoch)] = effect.session or "?"
            elif isinstance(effect, Confirmed) and effect.session == self.session_id:
                self._tell_assigned(effect)

    def _tell_assigned(self, confirmed: Confirmed) -> None:
        """Git confirmed a steal by this session: the agent hears it owns the task now."""
        previous = self._taken.get((confirmed.task_id, confirmed.epoch))
        if previous is not None:
            assigned = Assigned(
                confirmed.cause, self.session_id, confirmed.task_id, confirmed.epoch, previous
            )
            self._deliver([assigned])

    def emit(self, events: Sequence[m.Envelope]) -> tuple[m.Envelope, ...]:
        for event in events:
            added = self.log.add(event)
            self.author = self.author.after(event)
            self._deliver(added.effects)
        return tuple(events)

    # --- commands (each returns the events to broadcast) ---------------------------------

    def _admit(self, board: Board, event: m.Envelope) -> Admission:
        return self.governance.admit(board.governor, board, event)

    def claim(
        self, task_id: str, now: datetime, *, force: bool = False, policy_hash: str = ""
    ) -> tuple[m.Envelope, ...]:
        """A claim; or, on a task this session may take over (:meth:`takeover_offers`), the
        steal that takes it (epoch + 1). Anything else held by another is ``already_claimed``."""
        task, me = self.log.view().tasks.get(task_id), self.session_id
        if task is not None and (
            (self.takeover != "never" and self._stale_and_absent(task, now))
            or queues.ask_lapsed(task, me, now)  # an ask-release unanswered within its grace
        ):
            return self.steal(task_id, now)
        event = commands.claim(
            self.log.view(),
            self.author,
            task_id,
            now,
            admit=self._admit,
            force=force,
            policy_hash=policy_hash,
            lease=self.config.lease,
        )
        return self.emit([event])

    def steal(self, task_id: str, now: datetime) -> tuple[m.Envelope, ...]:
        event = commands.steal(
            self.log.view(), self.author, task_id, now, lease=self.config.lease, admit=self._admit
        )
        payload = event.payload
        assert isinstance(payload, m.TaskSteal)
        self._taken[(task_id, payload.epoch)] = payload.previous_owner
        log.info("board.steal", task=task_id, owner=payload.previous_owner, session=self.session_id)
        return self.emit([event])

    def progress(
        self, task_id: str, percent: int, now: datetime, *, milestone: str = ""
    ) -> tuple[m.Envelope, ...]:
        return self.emit(
            [
                commands.progress(
                    self.log.view(), self.author, task_id, percent, now, milestone=milestone
                )
            ]
        )

    def complete(
        self, task_id: str, now: datetime, *, deliverable: str = "", tests_pass: bool = True
    ) -> tuple[m.Envelope, ...]:
        event = commands.complete(
            self.log.view(),
            self.author,
            task_id,
            now,
            deliverable=deliverable,
            tests_pass=tests_pass,
        )
        return self.emit([event])

    def fail(self, task_id: str, reason: str, now: datetime) -> tuple[m.Envelope, ...]:
        return self.emit([commands.fail(self.log.view(), self.author, task_id, reason, now)])

    def release(self, task_id: str, now: datetime) -> tuple[m.Envelope, ...]:
        return self.emit([commands.release(self.log.view(), self.author, task_id, now)])

    def block(self, task_id: str, now: datetime, **details: Any) -> tuple[m.Envelope, ...]:
        return self.emit(commands.block(self.log.view(), self.author, task_id, now, **details))

    def offer_help(self, request_id: str, now: datetime, **details: Any) -> tuple[m.Envelope, ...]:
        return self.emit(
            [commands.offer_help(self.log.view(), self.author, request_id, now, **details)]
        )

    def publish(self, payload: m.Payload, now: datetime) -> tuple[m.Envelope, ...]:
        """Emits any payload as this session (registrations, announcements, resolutions)."""
        return self.emit([self.author.stamp(payload, now)])

    def due_queue_claims(self, now: datetime) -> list[str]:
        """Tasks whose claim-queue turn is this session's at ``now``, to claim for it, each
        once per (task, epoch) (:meth:`ClaimQueues.due`; :meth:`get_timer` says when)."""
        return self.queues.due(now)

    # --- the git tier --------------------------------------------------------------------

    def take_confirmations(self, now: datetime) -> list[tuple[str, int]]:
        """(task, epoch) pairs this node should now write confirm records for: its
        provisional claims still winning after the contest window. Each is handed out once."""
        due = []
        for task in self.log.held_by(self.session_id):
            key = (task.task_id, task.epoch)
            if task.confirmed or key in self._handed or task.claimed_at is None:
                continue
            if task.claimed_at + self.config.contest_window <= now:
                self._handed.add(key)
                due.append(key)
        return due

    def git_verdict(
        self, task_id: str, epoch: int, winner: str, now: datetime
    ) -> tuple[m.Envelope, ...]:
        """Reports what the branch says for (task, epoch): task.confirmed when this session
        won the first confirm record, claim.lost otherwise."""
        payload: m.Payload
        if winner == self.session_id:
            payload = m.TaskConfirmed(task_id=task_id, epoch=epoch, winner=winner)
        else:
            payload = m.ClaimLost(task_id=task_id, epoch=epoch, winner=winner)
        return self.publish(payload, now)

    # --- timers --------------------------------------------------------------------------

    def get_timer(self) -> datetime | None:
        """When :meth:`handle_timer` (or :meth:`take_confirmations`) has something to do."""
        board, me, lease = self.log.view(), self.session_id, self.config.lease
        deadlines: list[datetime] = []
        held = self.log.held_by(me)
        renew_at = self._renewal_due(held)
        if renew_at is not None:
            deadlines.append(renew_at)
        for task in held:
            if (
                not task.confirmed
                and (task.task_id, task.epoch) not in self._handed
                and task.claimed_at
            ):
                deadlines.append(task.claimed_at + self.config.contest_window)
        for request in board.help_requests.values():
            if request.requester == me and not request.escalated and not request.answered:
                deadlines.append(request.deadline)
        if self._may_steal(held):
            for task in board.tasks.values():
                if task.held and task.owner not in self._alive_or_empty() and task.owner != me:
                    last = task.owner_last_event_at
                    if last is not None:
                        deadlines.append(last + lease)
        if (turn := self.queues.deadline()) is not None:
            deadlines.append(turn)
        return min(deadlines) if deadlines else None

    def _renewal_due(self, held: Sequence[Task]) -> datetime | None:
        """A third of the lease after the oldest last event among the tasks held."""
        stamps = [t.owner_last_event_at or t.claimed_at for t in held]
        known = [s for s in stamps if s is not None]
        return min(known) + self.config.lease / 3 if known else None

    def _alive_or_empty(self) -> frozenset[str]:
        return self._alive or frozenset()

    def _may_steal(self, held: Sequence[object]) -> bool:
        """Whether this node steals by itself now: only under ``auto``, and only when idle."""
        return self.takeover == "auto" and self._alive is not None and not held

    def handle_timer(self, now: datetime) -> tuple[m.Envelope, ...]:
        """Issues what time has made due at ``now``: a lease renewal, escalations of this
        session's unanswered help requests, and (under ``auto``, when idle) one steal of a
        task whose owner is absent from the mesh and whose lease has expired."""
        board, me = self.log.view(), self.session_id
        out: list[m.Envelope] = []
        renew_at = self._renewal_due(self.log.held_by(me))
        if renew_at is not None and renew_at <= now:
            renewal = commands.renew(board, self.author, now)
            if renewal is not None:
                out.extend(self.emit([renewal]))
        for request_id, request in sorted(self.log.view().help_requests.items()):
            mine = request.requester == me and not request.escalated
            if mine and not request.answered and request.deadline <= now:
                out.extend(
                    self.emit([commands.escalate(self.log.view(), self.author, request_id, now)])
                )
        board = self.log.view()
        if self._may_steal(self.log.held_by(me)):
            for task_id, task in sorted(board.tasks.items()):
                if self._stale_and_absent(task, now):
                    try:
                        out.extend(self.steal(task_id, now))
                    except CoordinationError as exc:
                        log.info("board.steal_refused", task=task_id, reason=str(exc))
                        continue
                    break
        return tuple(out)
