"""The bridge's push: this node's pending commits onto the branch, by compare-and-swap.

:class:`Pusher` owns one push attempt from start to outcome: whether to fetch the branch first,
whether it is this node's turn (:mod:`ifmesh.node.gitsync.turns`) or the push waits for it,
rebuilding the pending commits on the fetched tip (with the scribe's board commit once our own
have landed), the push itself, and what follows a lost race or a landed push. It tells the
schedule (:mod:`ifmesh.node.gitsync.schedule`) each outcome and keeps the tally ``state()``
shows (:class:`ifmesh.node.gitsync.outputs.SyncTally`); what the fetch brought is handed back to
the bridge to absorb. The bridge calls :meth:`Pusher.push` from its timer, holding its git lock. A
landed push becomes a hint for the peers, with the objects it added when they fit
(:mod:`ifmesh.node.gitsync.handoff`); a peer's hint that handed this clone the new tip that way
spares the next attempt its fetch (:attr:`Pusher.handed_tip`).
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Sequence

import structlog

from ifmesh.node.gitsync import handoff
from ifmesh.node.gitsync.chain import OwnChain
from ifmesh.node.gitsync.clone import Clone, PushOutcome
from ifmesh.node.gitsync.config import BridgeConfig
from ifmesh.node.gitsync.errors import BranchMissing, GitSyncError, IncarnationConflict
from ifmesh.node.gitsync.outputs import Landed, SyncTally
from ifmesh.node.gitsync.reader import BranchReader, ReadResult, writers_since
from ifmesh.node.gitsync.schedule import SyncSchedule
from ifmesh.node.gitsync.scribing import BoardScribe
from ifmesh.node.gitsync.turns import Turns

log = structlog.get_logger(__name__)

# After a lost race, pushes fetch first for this long (seconds): pushing on a stale tip is a
# sure loss while others push too.
_CONTENDED_FOR = 5.0
_FORCE_AFTER_LOST = 2  # attempts in a row that did not land


class Pusher:
    def __init__(
        self,
        config: BridgeConfig,
        clone: Clone,
        chain: OwnChain,
        reader: BranchReader,
        scribe: BoardScribe,
        *,
        turns: Turns,
        schedule: SyncSchedule,
        lock: threading.Lock,
        rng: random.Random,
        tally: SyncTally,
        absorb: Callable[[ReadResult, float], None],
        record: Callable[[GitSyncError], None],
        hint: Callable[[Landed | None], None],
    ) -> None:
        self.config = config
        self.clone = clone
        self.chain = chain
        self.reader = reader
        self.scribe = scribe
        self._turns = turns
        self._sched = schedule
        self._lock = lock  # the bridge's intake lock: the schedule is shared with its callers
        self._rng = rng
        self._tally = tally
        # What was read goes through the bridge: it feeds the outputs, verdicts and turns.
        self._absorb = absorb
        self._record = record
        self._hint = hint  # for the peers: a tip we landed, or None after a lost race
        self._last_lost_race_at = float("-inf")
        # A tip a peer's hint brought with its objects (node.gitsync.handoff): the next
        # attempt builds on it without fetching.
        self.handed_tip: str | None = None

    def push(self, now: float, *, wait_turn: bool = True) -> None:
        """Compare-and-swap. Alone on the branch, the first attempt pushes on the tip last
        seen. While others push too (or after a lost race) it fetches the coordination branch
        first (the seed branches wait for the regular fetch; a tip a peer has just handed over
        with its objects needs no fetch), and pushes only in its turn
        (:mod:`ifmesh.node.gitsync.turns`), else defers (unless ``wait_turn`` is false); then it
        rebuilds its pending commits as one on the fetched tip and pushes. Reading what the
        fetch brought waits until the push is decided: the shorter the time between fetch and
        push, the fewer races are lost."""
        started = time.perf_counter()
        fetched = started
        try:
            # Pushing on a stale tip is a sure loss while others push too: fetch first then.
            busy = self._turns.busy(now)
            if (
                busy
                or now - self._last_lost_race_at < _CONTENDED_FOR
                or self._sched.push_attempt > 0
                or self.clone.ref(self.clone.remote_ref) is None
            ):
                handed, self.handed_tip = self.handed_tip, None
                if handed is None or handed != self.clone.ref(self.clone.remote_ref):
                    self.clone.fetch(None, maintenance=False)
                    self._tally.last_fetch_at = now
                    fetched = time.perf_counter()
                seen = self.clone.ref(self.clone.remote_ref)
                if seen is not None:
                    landers = writers_since(self.clone, seen, self._turns.tip)
                    self._turns.observe(seen, landers, now)
                wait = self._turns.wait(now)
                # A writer whose last two attempts did not land (lost races; or errors, as
                # while the remote was away) may be one the others do not count yet: it has
                # never landed, so their rings leave it no turn. It stops waiting for its turn
                # until it lands, and the compare-and-swap decides. Seen: a writer joining 8
                # others lost every race for 4 s while each of them took its turns.
                if self._sched.push_attempt >= _FORCE_AFTER_LOST:
                    wait_turn = False
                if wait > 0 and wait_turn:  # not our turn yet: ask again then
                    log.debug("gitsync.push_deferred", wait=round(wait, 3), unit=self._turns.unit)
                    with self._lock:
                        self._sched.push_deferred(now + wait)
                    return
            remote_tip = self.clone.ref(self.clone.remote_ref)
            if remote_tip is None:
                raise BranchMissing(
                    f"branch {self.config.branch!r} is gone from {self.config.remote_url}; "
                    "commits stay queued until it is back"
                )
            self._report(self.chain.check_branch(remote_tip))
            self.chain.replay(remote_tip)
            if self.chain.pending() == 0:
                # The scribe's board goes alone, once our own commits have landed.
                self._absorb(self.reader.read(remote_tip), now)
                self.scribe.add_board_commit(now)
            tip = self.chain.tip
            if tip is None or tip == remote_tip:
                with self._lock:
                    self._sched.push_landed(now)
                self._absorb(self.reader.read(remote_tip), now)
                return
            replayed = time.perf_counter()
            outcome = self.clone.push(tip)
            if fetched > started:  # a whole fetch-rebuild-push: how long a turn takes here
                self._turns.measured(time.perf_counter() - started)
            log.debug(
                "gitsync.push",
                outcome=outcome.value,
                fetch_ms=round((fetched - started) * 1000),
                replay_ms=round((replayed - fetched) * 1000),
                push_ms=round((time.perf_counter() - replayed) * 1000),
                pending=self.chain.pending(),
            )
        except IncarnationConflict:
            raise
        except GitSyncError as exc:
            self._record(exc)
            with self._lock:
                self._sched.push_failed(now, self._rng.random())
            return
        if outcome is PushOutcome.LOST_RACE:
            self._tally.lost_races += 1
            self._last_lost_race_at = now
            self._hint(None)
            with self._lock:
                delay = self._sched.push_lost_race(now, self._rng.random(), busy=busy)
            log.debug("gitsync.push_lost_race", delay=round(delay, 3))
            self._absorb(self.reader.read(remote_tip), now)
            return
        self.clone.set_ref(self.clone.remote_ref, tip)
        self.chain.mark_pushed(tip)
        self._tally.pushes += 1
        self._hint(Landed(tip, self._objects(tip, remote_tip)))
        self._tally.last_push_at = now
        self._tally.last_error = None
        follow_up = self._turns.cycle(now) if busy else 0.0
        with self._lock:
            self._sched.push_landed(now, fetch_after=follow_up)
        self._absorb(self.reader.read(tip), now)

    def _objects(self, tip: str, since: str) -> bytes | None:
        """What the landing hint carries for the next writer, if it fits."""
        try:
            return handoff.export(self.clone, tip, since)
        except Exception as exc:  # optional: a hint without objects will do
            log.warning("gitsync.handoff_skipped", error=repr(exc))
            return None

    def _report(self, problems: Sequence[GitSyncError]) -> None:
        for problem in problems:
            self._record(problem)
