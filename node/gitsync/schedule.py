"""When the bridge commits, pushes, fetches and refreshes its STATUS: a sans-IO timer.

Time is a parameter (monotonic seconds), in the aioquic style: the edge asks
:meth:`SyncSchedule.get_timer` when to wake, then :meth:`SyncSchedule.due` which actions to
run, and reports each outcome back. Rules:

* An event opens a batch that is committed ``batch_window`` later, so events close together
  share one commit. A confirm record closes the window at once: the claim has already waited
  out the mesh's contest window, and its owner is waiting for the verdict. A record of a claim
  already won on the mesh waits :data:`ANSWERED_DELAY` instead: its agent has its answer,
  which is still being written to it, and the commit's work (a thread, git processes) would
  take the cores the agent needs to read it.
* A push follows every commit, and carries everything committed until it lands (the chain
  squashes its pending commits onto the fetched tip), so a writer needs one landed push per
  turn, however many events it queued meanwhile.
* On a branch other writers push to as well, the writers take turns
  (:mod:`ifmesh.node.gitsync.turns`): the edge fetches, asks whose turn it is, and either pushes or
  defers the push to its turn (:meth:`SyncSchedule.push_deferred`). A lost race there is
  polled again at once (someone landed: the turn has moved). With no other writer known, a
  lost race is retried after a full-jitter delay (``draw * min(cap, base * 2**attempt)``). An
  unreachable remote is retried with exponential backoff, never more than ``fetch_interval``
  apart, so the push lands soon after the remote returns.
* Fetch every ``fetch_interval`` and after every push that lands: at once, or on a branch
  other writers push to, a ring's turn later (:meth:`Turns.cycle`): meanwhile the writers
  fetch to take their turns, and a fetch right away would take CPU from the one pushing
  next (8 writers on 2 cores, one A/B pair of runs: 185 pushes landed in 20 s against 141).
* A STATUS refresh commit at most every ``status_refresh_interval``, and only when nothing
  else wrote the STATUS in that time.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

# A mesh-won claim's record: committed this long after it is written (see the module docstring;
# measured: a decided claim's answer 0.5-2.6 ms later when the commit started at once).
ANSWERED_DELAY = 0.02


class Action(enum.Enum):
    COMMIT = "commit"
    REFRESH_STATUS = "refresh_status"
    PUSH = "push"
    FETCH = "fetch"


@dataclass(frozen=True)
class Backoff:
    """Retries of a lost race with no other writer known, and of an unreachable remote."""

    base: float
    cap: float

    def delay(self, attempt: int, draw: float) -> float:
        """Full jitter: ``draw`` (uniform in [0, 1)) times the capped exponential bound."""
        return draw * min(self.cap, self.base * 2.0 ** max(0, attempt))


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
        self._fetch_at = now
        self._status_written = now

    # --- inputs ------------------------------------------------------------------------------

    def event_added(self, now: float, *, urgent: bool = False, after: float = 0.0) -> None:
        """``urgent``: commit ``after`` seconds from ``now``, not at the window's end."""
        due = now + after if urgent else now + self._window
        if self._batch_due is None or due < self._batch_due:
            self._batch_due = due

    def committed(self, now: float, *, more: bool = False) -> None:
        """The batch (or a STATUS refresh) is a local commit now; a push follows. ``more``:
        the node submitted again while the commit was written, and that waits for no other
        submission (seen: a reservation's record unpushed for minutes)."""
        self._batch_due = now if more else None
        self._status_written = now
        self.push_wanted(now)

    def push_wanted(self, now: float) -> None:
        """Local commits exist that the remote lacks (at start, or after a recovery)."""
        if not self._push_wanted:
            self._push_wanted = True
            self._push_at = now

    def push_deferred(self, at: float) -> None:
        """Not this writer's turn: the next attempt (a fetch first) at ``at``."""
        self._push_at = at

    def push_sooner(self, at: float) -> None:
        """A hint says the turn may have come: the next attempt no later than ``at``."""
        if self._push_wanted:
            self._push_at = min(self._push_at, at)

    def push_landed(self, now: float, *, fetch_after: float = 0.0) -> None:
        """The push landed; a fetch follows ``fetch_after`` seconds later (or with the regular
        fetch, when that is due sooner)."""
        self._push_wanted = False
        self._push_attempt = 0
        self._fetch_at = min(self._fetch_at, now + fetch_after)

    def push_lost_race(self, now: float, draw: float, *, busy: bool = False) -> float:
        """The branch moved under us; returns the delay before the next attempt. ``busy``:
        writers take turns, so the next attempt asks at once whose turn it is now."""
        self._push_attempt += 1
        delay = 0.0 if busy else self._backoff.delay(self._push_attempt, draw)
        self._push_at = now + delay
        return delay

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
        committing = bool(actions)  # a commit makes a push wanted, at once
        if (self._push_wanted and now >= self._push_at) or (committing and not self._push_wanted):
            actions.append(Action.PUSH)
        if now >= self._fetch_at and Action.PUSH not in actions:
            actions.append(Action.FETCH)
        return actions
