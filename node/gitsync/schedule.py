"""When the bridge commits, pushes, fetches and refreshes its STATUS: a sans-IO timer.

Time is a parameter (monotonic seconds), in the aioquic style: the edge asks
:meth:`SyncSchedule.get_timer` when to wake, then :meth:`SyncSchedule.due` which actions to
run, and reports each outcome back. Rules:

* An event opens a batch that is committed ``batch_window`` later, so events close together
  share one commit. A confirm record closes the window at once: the claim has already waited
  out the mesh's contest window, and its owner is waiting for the verdict.
* A push follows every commit, and carries everything committed until it lands (the chain
  squashes its pending commits onto the fetched tip), so a writer needs one landed push per
  turn, however many events it queued meanwhile.
* Turns: the branch is a compare-and-swap register, so two writers pushing at once waste at
  least one fetch-rebuild-push, and on a busy branch such waste is what limits throughput
  (measured: with 8 writers and random backoff, 5 lost races per landed push). While other
  writers push to the branch too (the ring: every session seen landing a commit within
  ``ring_window``, this one included, sorted by id), time is cut into slots of ``slot``
  seconds on the wall clock and the sessions of the ring take them in turn: a writer starts
  a push only early in its own slot. One writer alone pushes at once. The ring is a
  convention, not a lock: writers that disagree on it (a session just joined, clocks apart)
  only lose a race, and the compare-and-swap keeps the branch consistent.
* A lost race is retried at once while still early in the writer's own slot (it lost to a
  push spilling over from the slot before), else in its next turn; with no ring known, after
  a full-jitter delay (``draw * cap``). An unreachable remote is retried with exponential
  backoff, never more than ``fetch_interval`` apart, so the push lands soon after the
  remote returns.
* Fetch every ``fetch_interval`` and right after every push that lands.
* A STATUS refresh commit at most every ``status_refresh_interval``, and only when nothing
  else wrote the STATUS in that time.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass


class Action(enum.Enum):
    COMMIT = "commit"
    REFRESH_STATUS = "refresh_status"
    PUSH = "push"
    FETCH = "fetch"


@dataclass(frozen=True)
class Backoff:
    """``base``: the unit of the unreachable-remote backoff; ``cap``: the jitter window of a
    lost race when no other writer is known."""

    base: float
    cap: float

    def delay(self, attempt: int, draw: float) -> float:
        """Full jitter: ``draw`` (uniform in [0, 1)) times the capped exponential bound."""
        return draw * min(self.cap, self.base * 2.0 ** max(0, attempt))


@dataclass(frozen=True)
class Ring:
    """When this writer may push on a busy branch: slot ``index`` of every frame of ``size``
    slots of ``slot`` seconds. ``newcomer``: not yet among the writers the others know; its
    slot (the frame's last, left open for newcomers) is shared with other newcomers."""

    index: int = 0
    size: int = 1
    slot: float = 0.1
    newcomer: bool = False


# A push may start this far into its slot (a fraction of it): one started later would
# spill into the next writer's turn.
_LATE = 0.5


class SyncSchedule:
    def __init__(
        self,
        *,
        batch_window: float,
        fetch_interval: float,
        status_refresh_interval: float,
        backoff: Backoff,
        now: float,
    ) -> None:
        self._window = batch_window
        self._fetch_interval = fetch_interval
        self._refresh_interval = status_refresh_interval
        self._backoff = backoff
        self._batch_due: float | None = None
        self._push_wanted = False
        self._push_at = now
        self._push_attempt = 0
        self._ring = Ring()
        self._fetch_at = now
        self._status_written = now

    # --- inputs ------------------------------------------------------------------------------

    def event_added(self, now: float, *, urgent: bool = False) -> None:
        due = now if urgent else now + self._window
        if self._batch_due is None or due < self._batch_due:
            self._batch_due = due

    def committed(self, now: float) -> None:
        """The batch (or a STATUS refresh) is a local commit now; a push follows."""
        self._batch_due = None
        self._status_written = now
        self.push_wanted(now)

    def push_wanted(self, now: float) -> None:
        """Local commits exist that the remote lacks (at start, or after a recovery)."""
        if not self._push_wanted:
            self._push_wanted = True
            self._push_at = self.turn(now)

    def ring_changed(self, ring: Ring) -> None:
        """The writers of the branch, as last read: this writer's turn follows from it."""
        self._ring = ring

    def turn(self, now: float) -> float:
        """The earliest time from ``now`` at which this writer may start a push."""
        ring, slot = self._ring, self._ring.slot
        if ring.size <= 1:
            return now
        current = math.floor(now / slot)
        start = (current + (ring.index - current) % ring.size) * slot
        if start <= now:  # in our own slot
            if now - start <= _LATE * slot:
                return now
            start += ring.size * slot
        return start

    def push_landed(self, now: float) -> None:
        self._push_wanted = False
        self._push_attempt = 0
        self._fetch_at = now

    def push_lost_race(self, now: float, draw: float) -> float:
        """The branch moved under us; returns the delay before the next attempt."""
        self._push_attempt += 1
        ring = self._ring
        if ring.size <= 1:
            self._push_at = now + self._backoff.delay(self._push_attempt, draw)
        elif ring.newcomer:  # newcomers share a slot: each skips a random number of turns
            skip = math.floor(draw * min(self._push_attempt, 4))
            self._push_at = self.turn(now + skip * ring.size * ring.slot)
        else:
            self._push_at = self.turn(now)
        return self._push_at - now

    def push_failed(self, now: float, draw: float) -> float:
        """Remote unreachable or refusing: back off, never beyond the fetch interval."""
        self._push_attempt += 1
        delay = min(self._fetch_interval, draw * self._backoff.base * 2.0**self._push_attempt)
        self._push_at = now + delay
        return delay

    def fetched(self, now: float) -> None:
        self._fetch_at = now + self._fetch_interval

    def fetch_failed(self, now: float) -> None:
        self._fetch_at = now + self._fetch_interval

    def fetch_soon(self, now: float) -> None:
        self._fetch_at = min(self._fetch_at, now)

    # --- outputs -----------------------------------------------------------------------------

    @property
    def pending_push(self) -> bool:
        return self._push_wanted

    @property
    def push_attempt(self) -> int:
        return self._push_attempt

    def get_timer(self) -> float:
        timers = [self._fetch_at, self._status_written + self._refresh_interval]
        if self._batch_due is not None:
            timers.append(self._batch_due)
        if self._push_wanted:
            timers.append(self._push_at)
        return min(timers)

    def due(self, now: float) -> list[Action]:
        actions: list[Action] = []
        if self._batch_due is not None and now >= self._batch_due:
            actions.append(Action.COMMIT)
        elif now >= self._status_written + self._refresh_interval:
            actions.append(Action.REFRESH_STATUS)
        committing = bool(actions)  # a commit makes a push wanted: at once, if our turn
        if (self._push_wanted and now >= self._push_at) or (
            committing and not self._push_wanted and self.turn(now) <= now
        ):
            actions.append(Action.PUSH)
        if now >= self._fetch_at and Action.PUSH not in actions:
            actions.append(Action.FETCH)
        return actions
