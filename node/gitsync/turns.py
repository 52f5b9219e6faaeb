"""Whose turn it is to push on a busy branch: a token ring read from the branch itself.

The coordination branch is a compare-and-swap register: of the writers that fetched one tip,
one lands and every other has spent a fetch, a rebuild and a push for nothing. On a busy
branch that waste, not git's speed, is what limits throughput (measured with 8 writers and
random backoff: about five lost races per landed push, p99 of tens of seconds). So the writers
take turns, the way a token ring does, with the branch as the token:

* The ring is every session seen landing a commit on the branch within ``window`` seconds
  (or saying it waits, below), plus this one, sorted by id. Every writer derives it from the
  same history.
* The session that landed the tip holds the token last; the next one in the ring may push at
  once. The one ``d`` places after it looks again (fetches) when the writers between could
  have landed if fast, ``(d - 1) * min(unit, 2 * floor)`` after the tip was first seen, then
  as often again — or, next but one (``d == 2``: the writer before it is pushing), every
  ``POLL * unit``, since the ring waits for as long as it is late to see that push land;
  when the tip moves, the count starts again from its lander. Only if the
  tip stays put for ``(d - 1) * IDLE * turn`` (the writers between had nothing to push) does
  it go anyway: a writer that jumped the queue on a guess would collide with one still pushing.
  ``unit`` is one fetch-rebuild-push as measured here, so the ring runs at the machine's
  own pace; writers that measure differently only look more or less often.
* ``turn`` is the slower of ``unit`` and ``pace``, the time between landings seen here, so
  writers slower than this one are not taken for idle. Only a turn handed on counts towards
  ``pace`` (the lander is the ring's next after the previous one), each gap at most
  ``PACE_CAP`` units: a gap in which nobody had anything to push is no one's push time. Fed
  every gap, a landing 5 s after the one before in a room of idle writers made every idle wait
  seconds long, and waits grew with it (decided claims at N=8, benchmarks/claims.py: p99 37 s).
* A writer not in the others' ring yet (a newcomer) takes its sorted place in its own view:
  it shares a turn with one known writer until one push of its own lands, and the
  compare-and-swap decides between them.

The ring is a convention, not a lock: writers whose views differ only lose a race, and the
compare-and-swap keeps the branch consistent. One writer alone never waits.

**Hints.** Nodes also tell each other over the mesh when a push of theirs lands
(:meth:`Turns.landed_elsewhere`) and when they wait for a turn (:meth:`Turns.waiting_elsewhere`).
A landing hint is an observation of the branch before any fetch here shows it: the writer whose
turn it is goes at once, and while hints flow the writers further back do not look at all (each
look is a fetch, CPU the writer pushing needs). A waiting hint says what the branch cannot: who
has something to push now (landed lately is not the same). A writer says it waits
(:meth:`Turns.waiting_here`) when it defers its push or loses a race, again every ``SAY_AGAIN``
window while it waits; a wait counts until its landing hint, or ``SAID_FOR`` window after it was
last said (a lost hint, a writer gone). So while hints flow, the ring is the writers that said
they wait, in the same order from the tip's lander:

* a writer waits for those before it in that order, and for the first one that chose before it
  could hear of this one (that one may be pushing now, though after it in the ring);
* a writer that would go first says so first, and goes a ``floor`` later (unless the tip moves
  meanwhile): writers that got something to push at the same moment have heard of each other
  by then, and take their turns instead of racing;
* one that said it waits and does not land is passed over after ``IDLE`` turns.

Counting every writer that landed within the window instead, a writer with one claim's
confirm record to push waited ``IDLE`` turns for each idle writer before it: p99 37 s above
(benchmarks/claims.py at N=8 on 2 shared cores: p50 4.0 s and p99 20.4 s before this rule,
0.15–0.18 s and 0.32–0.45 s with it, three runs). The rule costs a floor and a fetch when
writers get work at the same moment; 8 writers pushing every 500 ms (benchmarks/gitsync.py,
11 runs each, interleaved, on a machine shared with other work) measured p99 0.48–4.3 s
(median 1.15 s) with it against 0.83–2.5 s (median 0.97 s) before, with the landing's objects
in the hint (:mod:`ifmesh.node.gitsync.handoff`). A waiting hint also puts a writer into the
ring before it has ever landed. Hints are only ever
advice: a false, late or lost one costs a lost race or a late look, and without them (a session
with no node, a mesh partition) writers look as above.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

IDLE = 3.0
POLL = 0.2  # of a turn: how often the writer next but one looks (A/B: 0.1 and 0.4 did worse)
# A gap between landings counts towards the pace up to this many units: writers up to that much
# slower than this one are waited for; a longer gap is one in which nobody pushed.
PACE_CAP = 2.0
# A writer that waits says so again every quarter window; what it said counts for half a window
# (a hint lost, or a writer gone, holds the others back no longer than that).
SAY_AGAIN = 0.25
SAID_FOR = 0.5


@dataclass
class _Wait:
    since: float  # when the writer began to wait, as seen here
    said: float  # when it last said so


class Turns:
    def __init__(self, session: str, *, unit: float, window: float, patience: float = 1.0) -> None:
        self.session = session
        self.patience = patience
        self._floor = unit
        self._cycle = unit  # one fetch-rebuild-push that landed, here (moving average)
        self._pace = unit  # time between landings handed on, as seen from here
        self._window = window
        self._seen: dict[str, float] = {}  # session → when its last commit (or wait) was seen
        self._waits: dict[str, _Wait] = {}  # session → its wait, until it lands
        self.tip: str | None = None
        self._lander: str | None = None
        self._since = float("-inf")  # when the current tip was first seen
        self._hinted = float("-inf")  # when a peer last told this writer anything

    def observe(self, tip: str | None, landers: Sequence[str], now: float) -> None:
        """The branch's tip as just fetched, and the sessions whose commits came since the
        last observed tip, oldest first (empty when none of them was a session's)."""
        for session in landers:
            self._seen[session] = now
        if tip != self.tip:
            if landers and self.tip is not None and self._handed_on(landers, now):
                gap = (now - self._since) / len(landers)
                self._pace = 0.8 * self._pace + 0.2 * min(gap, PACE_CAP * self.unit)
            if self.session in landers:  # this writer's wait is over
                self._waits.pop(self.session, None)
            self.tip = tip
            self._since = now
            if landers:
                self._lander = landers[-1]

    def landed_elsewhere(self, session: str, tip: str, now: float) -> None:
        """A peer says it has just landed ``tip``: taken as an observation of the branch,
        and the end of its wait. (Only a hint ends a peer's wait: a fetch may show a landing
        that came before the wait, since the bridge reads the branch after it pushes.)"""
        self._hinted = now
        self._waits.pop(session, None)
        self.observe(tip, [session], now)

    def waiting_elsewhere(self, session: str, now: float) -> None:
        """A peer says it waits to push: it takes its place in the ring from now on, and
        counts as waiting until it lands or stops saying so."""
        self._hinted = now
        self._seen[session] = now
        wait = self._waits.get(session)
        if wait is None or not self._said(wait, now):  # a wait said long ago is over
            self._waits[session] = _Wait(now, now)
        else:
            wait.said = now

    def waiting_here(self, now: float) -> bool:
        """This writer waits for its turn (it deferred its push, or lost a race): whether to
        tell the peers now. Once per wait, and every ``SAY_AGAIN`` window while it lasts; a
        landing of its own ends the wait."""
        wait = self._waits.get(self.session)
        if wait is None:
            self._waits[self.session] = _Wait(now, now)
            return True
        if now - wait.said >= SAY_AGAIN * self._window:
            wait.said = now
            return True
        return False

    def hinted(self, now: float) -> bool:
        """Whether peers tell this writer when they land (a hint within the ring window)."""
        return now - self._hinted < self._window

    def measured(self, seconds: float) -> None:
        """One fetch-rebuild-push took ``seconds`` here."""
        self._cycle = 0.7 * self._cycle + 0.3 * seconds

    @property
    def unit(self) -> float:
        """One writer's turn: a fetch-rebuild-push as measured here, never below the floor.
        (The time between landings seen on the branch would include the polling lag, and
        polling by it slows the ring down: measured, p99 several times worse.)"""
        return max(self._floor, self._cycle)

    @property
    def turn(self) -> float:
        """How long a writer that has the turn may take before it is taken for idle, per
        ``IDLE``: the slower of this machine's push and the branch's pace (both grow under
        load; skipping a writer still pushing costs a lost race)."""
        return max(self.unit, self._pace)

    def cycle(self, now: float) -> float:
        """About how long until every writer of the ring has had its turn."""
        return len(self.ring(now)) * self.unit

    def ring(self, now: float) -> list[str]:
        recent = {s for s, at in self._seen.items() if now - at < self._window}
        return sorted(recent | {self.session})

    def busy(self, now: float) -> bool:
        """Whether other sessions push to the branch too."""
        return len(self.ring(now)) > 1

    def wait(self, now: float) -> float:
        """Seconds until this writer's turn: 0 when it may push now."""
        ring = self.ring(now)
        lander = self._lander
        if len(ring) <= 1 or lander is None or lander not in ring:
            return 0.0
        if self.hinted(now):
            return self._wait_told(ring, lander, now)
        distance = (ring.index(self.session) - ring.index(lander)) % len(ring) or len(ring)
        if distance == 1:
            return 0.0
        # Looking (a fetch) early costs little; looking late loses the turn to the writers
        # after, who skip one that seems idle. So look at the pace of a fast writer. (Looking
        # at the branch's observed pace instead, which includes the lag of looking, measured
        # p99 several times worse.)
        look = min(self.unit, 2 * self._floor)
        expected = self._since + (distance - 1) * look
        idle = self._since + (distance - 1) * IDLE * self.turn
        if now >= idle:
            return 0.0
        if now < expected:
            return expected - now
        # Next but one: the writer before is pushing now, and each moment this one is late
        # to see it land delays the whole ring, so it looks often. Writers further back look
        # at a turn's pace: their looks would only take CPU from the one pushing.
        every = POLL * self.unit if distance == 2 else look
        return min(every, idle - now)

    def _wait_told(self, ring: list[str], lander: str, now: float) -> float:
        """The wait while hints flow: for the writers before this one that said they wait,
        and for one that may be pushing because it chose before it could hear of this one.
        The landings before ours will be told, so it looks only if they stop."""
        said = self._waits.get(self.session)
        mine = said or _Wait(now, now)  # not said yet: as if it said so now
        start = ring.index(lander)
        order = ring[start + 1 :] + ring[: start + 1]  # from the lander's next; the lander last
        waits = {s: w for s, w in self._waits.items() if s != self.session and self._said(w, now)}
        ahead = [s for s in order[: order.index(self.session)] if s in waits]
        chose = [  # before this one said it waits: the first of them has the turn
            s
            for s in order
            if s in waits and max(self._since, waits[s].since + self._floor) <= mine.since
        ]
        if chose and chose[0] not in ahead:
            ahead.append(chose[0])
        if ahead:
            count_from = max(self._since, mine.since)
            return max(0.0, count_from + len(ahead) * IDLE * self.turn - now)
        if said is None:
            return self._floor  # first it says so (the pusher defers, then tells the peers)
        heard = mine.since + self._floor  # by then, so have writers that got work with it
        return heard - now if self._since < mine.since and now < heard else 0.0

    def _said(self, wait: _Wait, now: float) -> bool:
        return now - wait.said < SAID_FOR * self._window

    def _handed_on(self, landers: Sequence[str], now: float) -> bool:
        """Whether each of these landings was the turn of the ring's next writer after the
        lander before it: a gap between such landings is a push time, not an idle spell."""
        ring = self.ring(now)
        if self._lander is None or len(ring) <= 1:
            return False
        for before, after in pairwise([self._lander, *landers]):
            if before not in ring or after not in ring:
                return False
            if ring[(ring.index(before) + 1) % len(ring)] != after:
                return False
        return True
