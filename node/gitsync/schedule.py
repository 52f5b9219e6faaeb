"""When the bridge commits, pushes, fetches and refreshes its STATUS: a sans-IO timer.

Time is a parameter (monotonic seconds), in the aioquic style: the edge asks
:meth:`SyncSchedule.get_timer` when to wake, then :meth:`SyncSchedule.due` which actions to
run, and reports each outcome back. Rules:

* An event opens a batch that is committed ``batch_window`` later, so events close together
  share one commit. A confirm record closes the window at once: the claim has already waited
  out the mesh's contest window, and its owner is waiting for the verdict.
* A push follows every commit. A lost race (the branch moved) is retried after full-jitter
  exponential backoff (``base * 2**attempt``, capped), so eight writers on one branch spread
  out. The backoff level decays by half per landed push instead of resetting, and a writer
  that just landed waits a jittered share before its next push: otherwise the last winner
  barges in first every time and the writers that lost keep losing. An unreachable remote
  is retried the same way, never more than ``fetch_interval`` apart, so the push lands soon
  after the remote returns.
* Fetch every ``fetch_interval`` and right after every push that lands.
* A STATUS refresh commit at most every ``status_refresh_interval``, and only when nothing
  else wrote the STATUS in that time.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Action(enum.Enum):
    COMMIT = "commit"
    REFRESH_STATUS = "refresh_status"
    PUSH = "push"
    FETCH = "fetch"


@dataclass(frozen=True)
class Backoff:
    base: float
    cap: float

    def delay(self, attempt: int, draw: float) -> float:
        """Full jitter: ``draw`` (uniform in [0, 1)) times the capped exponential bound."""
        bound = min(self.cap, self.base * 2.0 ** max(0, attempt))
        return draw * bound


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
        self._contention = 0  # carried from push to push: how hard the last one was to land
        self._polite_until = now
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
            self._push_at = max(now, self._polite_until)

    def push_landed(self, now: float, draw: float = 0.0) -> None:
        """A writer that just won a contended branch lets the others go first: its next push
        waits a jittered share, and its backoff stays raised (halved) rather than reset, so
        winners do not starve the writers still backing off."""
        self._contention = (self._contention + self._push_attempt) // 2
        self._polite_until = now + (
            self._backoff.delay(self._contention, draw) if self._contention else 0.0
        )
        self._push_wanted = False
        self._push_attempt = 0
        self._fetch_at = now

    def push_lost_race(self, now: float, draw: float) -> float:
        """The branch moved under us; returns the delay before the next attempt."""
        self._push_attempt += 1
        delay = self._backoff.delay(self._contention + self._push_attempt, draw)
        self._push_at = now + delay
        return delay

    def push_failed(self, now: float, draw: float) -> float:
        """Remote unreachable or refusing: back off, never beyond the fetch interval."""
        self._push_attempt += 1
        bound = max(self._backoff.cap, self._fetch_interval)
        delay = min(
            self._fetch_interval,
            draw * min(bound, self._backoff.base * 2.0**self._push_attempt),
        )
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
        push_at = self._push_at if self._push_wanted else max(now, self._polite_until)
        if (self._push_wanted or actions) and now >= push_at:
            actions.append(Action.PUSH)
        if now >= self._fetch_at and Action.PUSH not in actions:
            actions.append(Action.FETCH)
        return actions
