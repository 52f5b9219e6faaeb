"""The git-sync bridge of one node: its own commits out, every other session's events in.

:class:`GitSync` is driven like a sans-IO connection, though it does the git work itself:
``start(now)`` once (or ``open``, then ``read_first``, which can stream what it reads), then
``submit(event, now)`` and ``write_confirm_record(task, epoch, now)`` as the node acts,
``handle_timer(now)`` whenever ``get_timer()`` says so, and ``take_outputs()`` for what git
brought in (other sessions' events, verdicts on this node's claims, typed errors) and the hints
for its peers (the pushes it landed, the races it lost). The peers' hints come in through
``landed_elsewhere`` and ``waiting_elsewhere`` (:mod:`ifmesh.node.gitsync.hints`). Blocking
calls: the async runtime runs them in a worker thread (:mod:`ifmesh.node.gitsync.runner`). What
to do when is decided by :mod:`ifmesh.node.gitsync.schedule`.

This module owns the bridge's life (start, flush, close), its intake (the batch the node's
events wait in, under one lock with the schedule and the outputs), the timer's dispatch, the
regular fetch, and absorbing what was read into outputs. Opening the clone (and creating the
branch for a new room) is :mod:`ifmesh.node.gitsync.opening`; the compare-and-swap push, with
its turns and lost races, is :mod:`ifmesh.node.gitsync.push`; reading the branch is
:mod:`ifmesh.node.gitsync.reader`; this node's own commits are :mod:`ifmesh.node.gitsync.chain`.

Nothing the node submitted is lost: it is in a local commit before any push is tried, and
local commits stay queued (``state().pending_commits``) until a push lands.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Sequence
from datetime import UTC, datetime

import git
import structlog

from ifmesh.node.board.formats.reserved import ReservedEntry
from ifmesh.node.gitsync import handoff, keypublish
from ifmesh.node.gitsync.awaiting import AwaitedVerdicts
from ifmesh.node.gitsync.batch import Batch, CommitPlan
from ifmesh.node.gitsync.config import BridgeConfig
from ifmesh.node.gitsync.errors import (
    GitCommandFailed,
    GitSyncError,
    IncarnationConflict,
    RemoteUnreachable,
    StateDirLocked,
)
from ifmesh.node.gitsync.eventlog import ResumePoint
from ifmesh.node.gitsync.opening import fetch_or_create, open_clone
from ifmesh.node.gitsync.outputs import Landed, Outputs, SyncState, SyncTally
from ifmesh.node.gitsync.push import Pusher
from ifmesh.node.gitsync.reader import ReadResult, Sink
from ifmesh.node.gitsync.schedule import ANSWERED_DELAY, Action, Backoff, SyncSchedule
from ifmesh.node.gitsync.scribe import STARTER_BOARD
from ifmesh.node.gitsync.turns import Turns
from ifmesh.node.identity.gate import Gate
from ifmesh.node.protocol.messages import Envelope
from ifmesh.node.runtime.statedir import StateDirLock

log = structlog.get_logger(__name__)

LOCK_NAME = "gitsync.lock"  # the bridge's own: it also runs without a node (tests, benchmarks)


class GitSync:
    def __init__(
        self,
        config: BridgeConfig,
        *,
        rng: random.Random | None = None,
        starter_board: str = STARTER_BOARD,
        gate: Gate | None = None,
        own_key: keypublish.OwnKey | None = None,
    ) -> None:
        self.config = config
        # Signed events (docs/security.md): others' events verified as read, our key published.
        self._gate, self._own_key = gate, own_key
        self._keys: keypublish.KeyPublisher | None = None
        self._rng = rng or random.Random()
        self._starter = starter_board
        self._lock = threading.Lock()  # the intake: batch, schedule, outputs
        self._io = threading.Lock()  # one git operation at a time
        self._batch = Batch()
        self._outputs = Outputs()
        self._awaited = AwaitedVerdicts(config.session)  # our records, until git's word
        self._lockfile: StateDirLock | None = None
        self._tally = SyncTally()
        self._stopped: IncarnationConflict | None = None
        self._turns = Turns(config.session, unit=config.push_turn_unit,
                            window=config.push_ring_window)  # fmt: skip
        self._flushing = False
        self._schedule: SyncSchedule | None = None
        self._pusher: Pusher | None = None

    # --- start and stop ----------------------------------------------------------------------

    def start(self, now: float) -> ResumePoint:
        """:meth:`open`, then :meth:`read_first` with the events kept for ``take_outputs``."""
        resume = self.open(now)
        self.read_first(now)
        return resume

    def open(self, now: float) -> ResumePoint:
        """Opens the clone, fetches, and resumes ``seq``/``lamport`` from this session's log
        (the local chain, else the branch in git); :meth:`read_first` follows. Raises
        BranchMissing, RemoteUnreachable (with an empty state directory), StateDirLocked or
        IncarnationConflict."""
        config = self.config
        self._lockfile = StateDirLock(config.state_dir, name=LOCK_NAME, error=StateDirLocked)
        self._lockfile.acquire()
        self.clone, self.chain, self.reader, self.scribe = open_clone(config)
        self._keys = keypublish.attach(
            self._gate, self._own_key, self.clone, self.reader, self.chain, config.state_dir,
            seed_glob=config.seed_branch_glob, rng=self._rng, record=self._record,
        )  # fmt: skip
        self._schedule = SyncSchedule(
            batch_window=config.batch_window, fetch_interval=config.fetch_interval,
            status_refresh_interval=config.status_refresh_interval,
            backoff=Backoff(config.push_backoff_base, config.push_backoff_cap), now=now,
        )  # fmt: skip
        self._pusher = Pusher(
            config, self.clone, self.chain, self.reader, self.scribe,
            turns=self._turns, schedule=self._schedule, lock=self._lock, rng=self._rng,
            tally=self._tally, absorb=self._absorb, record=self._record, hint=self._hint,
        )  # fmt: skip
        try:
            fetch_or_create(self.clone, config, self._starter)
        except RemoteUnreachable as exc:
            if self.chain.tip is None:
                raise
            self._record(exc)  # resume offline from the state directory
        else:
            if self._keys is not None:  # KeyNotAccepted stops the start: peers would refuse us
                self._keys.publish(starting=True)
        remote_tip = self.clone.ref(self.clone.remote_ref)
        resume = self.chain.load(remote_tip, _wall(now))
        self._report(self.chain.check_branch(remote_tip))
        log.info("gitsync.started", session=config.session, branch=config.branch,
                 seq=resume.seq, lamport=resume.lamport, pending=self.chain.pending())  # fmt: skip
        return resume

    def read_first(self, now: float, sink: Sink | None = None) -> None:
        """The first read, after :meth:`open`: other sessions' events to ``sink`` in chunks, in
        the board's order, as read (never a day's logs decoded at once), else to outputs."""
        remote_tip = self.clone.ref(self.clone.remote_ref)
        first = self.reader.read(remote_tip, sink)
        # The whole history says who ever wrote, not who writes now: turns start from the tip.
        first.writers = first.writers[-1:]
        self._absorb(first, now)
        self._sched.fetched(now)
        self._tally.last_fetch_at = now
        if self.chain.needs_push(remote_tip):
            self._sched.push_wanted(now)

    def close(self) -> None:
        """Releases the state directory; commits not pushed stay there for the next start."""
        clone = getattr(self, "clone", None)
        if clone is not None:
            clone.close()
        if self._lockfile is not None:
            self._lockfile.release()
            self._lockfile = None

    # --- inputs ------------------------------------------------------------------------------

    def submit(self, event: Envelope, now: float) -> None:
        """One of this node's own events: appended to its log in the next commit."""
        if event.source != self.config.session:
            raise ValueError(f"event {event.id} is from {event.source}, not this session")
        with self._lock:
            self._batch.add_event(event)
            self._sched.event_added(now)

    def write_confirm_record(
        self, task: str, epoch: int, now: float, *, answered: bool = False
    ) -> None:
        """A confirm record (``answered``: see ANSWERED_DELAY); its verdict: ``take_outputs``."""
        with self._lock:
            verdict = self._awaited.confirm(self.reader.ledger, task, epoch)
            if verdict is not None:  # git already named a winner: nothing to contest
                self._outputs.verdicts.append(verdict)
                return
            self._batch.add_confirm(task, epoch)
            self._sched.event_added(now, urgent=True, after=ANSWERED_DELAY if answered else 0.0)

    def write_reservation_record(self, entries: Sequence[ReservedEntry], now: float) -> None:
        """Records of a path reservation won on the mesh or sent to git (STATUS ``reserved:``,
        node.gitsync.reservation_ledger); git's verdicts come back in ``take_outputs``."""
        with self._lock:
            self._batch.add_reserved(entries)
            self._awaited.reserved(entries)
            self._sched.event_added(now, urgent=True)

    @property
    def git_lock(self) -> threading.Lock:
        """Held by every git operation: GitPython's repository is not thread-safe (readers too)."""
        return self._io

    def has_batch(self) -> bool:
        """Whether submitted events or records still wait for their commit."""
        with self._lock:
            return bool(self._batch)

    def request_fetch(self, now: float) -> None:
        with self._lock:
            self._sched.fetch_soon(now)

    # --- timer -------------------------------------------------------------------------------

    @property
    def _sched(self) -> SyncSchedule:
        assert self._schedule is not None, "start() first"
        return self._schedule

    def get_timer(self) -> float | None:
        if self._stopped is not None:
            return None
        with self._lock:
            return self._sched.get_timer()

    def handle_timer(self, now: float) -> None:
        """Runs whatever is due; IncarnationConflict stops the bridge (and is raised)."""
        if self._stopped is not None:
            raise self._stopped
        with self._io:
            with self._lock:
                actions = self._sched.due(now)
                plans = self._batch.take() if Action.COMMIT in actions else []
            try:
                for action in actions:
                    self._run(action, plans, now)
            except IncarnationConflict as exc:
                self._stopped = exc
                self._record(exc)
                raise

    def _run(self, action: Action, plans: list[CommitPlan], now: float) -> None:
        try:
            if action is Action.COMMIT:
                while plans:
                    self.chain.commit(plans[0], _wall(now))
                    plans.pop(0)
                with self._lock:
                    self._sched.committed(now, more=bool(self._batch))
            elif action is Action.REFRESH_STATUS:
                self.chain.refresh_status(_wall(now))
                with self._lock:
                    self._sched.committed(now, more=bool(self._batch))
            elif action is Action.PUSH:
                assert self._pusher is not None, "start() first"
                self._pusher.push(now, wait_turn=not self._flushing)
            else:
                self._fetch(now)
        except IncarnationConflict:
            raise
        except GitSyncError as exc:
            self._record(exc)
        except (git.GitError, OSError, ValueError) as exc:
            self._record(GitCommandFailed(f"{action.value} failed: {exc}"))
        finally:
            if action is Action.COMMIT and plans:  # not committed: keep them for next time
                with self._lock:
                    self._batch.requeue(plans)
                    self._sched.event_added(now + self.config.batch_window)

    def _fetch(self, now: float) -> None:
        try:
            self.clone.fetch(self.config.seed_branch_glob)
        except GitSyncError as exc:
            with self._lock:
                self._sched.fetch_failed(now)
            self._record(exc)
            return
        self._tally.last_fetch_at = now
        if self._keys is not None and self._keys.pending:
            self._keys.publish()
        remote_tip = self.clone.ref(self.clone.remote_ref)
        self._report(self.chain.check_branch(remote_tip))
        self._absorb(self.reader.read(remote_tip), now)
        wants_push = self.chain.needs_push(remote_tip) or self.scribe.board_outdated(now)
        with self._lock:
            self._sched.fetched(now)
            if wants_push:
                self._sched.push_wanted(now)

    def flush(self, now: float) -> int:
        """Commits whatever is batched and tries one push now; returns the commits still
        pending (for a shutdown that wants its last events on the remote)."""
        with self._io:
            if self._stopped is not None:
                return self.chain.pending()
            with self._lock:
                plans = self._batch.take()
            if plans:
                self._run(Action.COMMIT, plans, now)
            if self.chain.needs_push(self.clone.ref(self.clone.remote_ref)):
                self._flushing = True  # a shutdown does not wait for its turn
                try:
                    self._run(Action.PUSH, [], now)
                finally:
                    self._flushing = False
            return self.chain.pending()

    # --- outputs -----------------------------------------------------------------------------

    def _absorb(self, result: ReadResult, now: float) -> None:
        for problem in [*result.errors, *self.scribe.errors]:
            self._record(problem)
        self.scribe.errors.clear()
        mine = [r for r in result.dropped if r.session == self.config.session]
        if mine:
            self.chain.reconfirm(mine, _wall(now))
            with self._lock:
                self._sched.push_wanted(now)
        self._turns.observe(self.reader.tip, result.writers, now)
        verifier = self.reader.verifier
        with self._lock:
            if verifier is not None and verifier.pins_changed():
                self._outputs.pins_changed = True
            self._outputs.events.extend(result.events)
            settled = self.chain.status if not self.chain.pending() and not self._batch else None
            self._awaited.collect(
                self.reader.ledger, self.reader.reservations, self.chain, settled, _wall(now),
                self._outputs,
            )  # fmt: skip

    def _report(self, problems: Sequence[GitSyncError]) -> None:
        for problem in problems:
            self._record(problem)

    def _record(self, problem: GitSyncError) -> None:
        with self._lock:
            self._tally.last_error = problem
            self._outputs.errors.append(problem)
        log.warning("gitsync.error", code=problem.code, error=str(problem))

    def _hint(self, landed: Landed | None) -> None:
        with self._lock:
            if landed is None:
                self._outputs.waiting = True
            else:
                self._outputs.landed.append(landed)

    def landed_elsewhere(
        self, session: str, tip: str, now: float, objects: bytes | None = None
    ) -> None:
        """A peer's hint (over the mesh): its push of ``tip`` has just landed, with the objects
        it added when they fit (:mod:`ifmesh.node.gitsync.handoff`). If this writer is next, its
        push is tried at once, and builds on ``tip`` without a fetch if the objects complete it."""
        if session == self.config.session or self._pusher is None:
            return
        with self._io:
            try:
                taken = objects is not None and handoff.take(self.clone, tip, objects)
            except OSError as exc:  # the objects are a shortcut: the next push fetches
                log.warning("gitsync.handoff_failed", peer=session, error=str(exc))
                taken = False
            if taken:
                self.clone.set_ref(self.clone.remote_ref, tip)
                self._pusher.handed_tip = tip
        with self._lock:
            self._turns.landed_elsewhere(session, tip, now)
            self._sched.push_sooner(now + self._turns.wait(now))

    def waiting_elsewhere(self, session: str, now: float) -> None:
        """A peer's hint: it waits for a turn to push (it may never have landed yet)."""
        if session == self.config.session or self._schedule is None:
            return
        with self._io, self._lock:
            self._turns.waiting_elsewhere(session, now)

    def take_outputs(self) -> Outputs:
        with self._lock:
            outputs, self._outputs = self._outputs, Outputs()
        return outputs

    def state(self, now: float | None = None) -> SyncState:
        """What ``ifmesh status`` shows; ``now`` (default: the clock) judges the scribe."""
        error = self._tally.last_error
        wall = datetime.fromtimestamp(now, UTC) if now is not None else datetime.now(UTC)
        return SyncState(
            session=self.config.session,
            branch=self.config.branch,
            remote_url=self.config.remote_url,
            head=self.chain.tip,
            remote_head=self.clone.ref(self.clone.remote_ref),
            pending_commits=self.chain.pending(),
            last_error=str(error) if error else None,
            last_error_code=error.code if error else None,
            last_push_at=self._tally.last_push_at,
            last_fetch_at=self._tally.last_fetch_at,
            pushes=self._tally.pushes,
            lost_races=self._tally.lost_races,
            scribe=self.scribe.current(wall),
            stopped=self._stopped is not None,
            read_problems=tuple(p for _, f in sorted(self.reader.problems.items()) for p in f),
        )


def _wall(now: float) -> datetime:
    # STATUS files carry whole seconds, as the seed's `date -Iseconds` does.
    return datetime.fromtimestamp(int(now), UTC)
