"""Whose turn it is to push on a busy branch: a token ring read from the branch itself.

The coordination branch is a compare-and-swap register: of the writers that fetched one tip,
one lands and every other has spent a fetch, a rebuild and a push for nothing. On a busy
branch that waste, not git's speed, is what limits throughput (measured with 8 writers and
random backoff: about five lost races per landed push, p99 of tens of seconds). So the writers
take turns, the way a token ring does, with the branch as the token:

* The ring is every session seen landing a commit on the branch within ``window`` seconds,
  plus this one, sorted by id. Every writer derives it from the same history.
* The session that landed the tip holds the token last; the next one in the ring may push at
  once. The one ``d`` places after it looks again (fetches) when the writers between could
  have landed if fast, ``(d - 1) * min(unit, 2 * floor)`` after the tip was first seen, then
  as often again — or, next but one (``d == 2``: the writer before it is pushing), every
  ``POLL * unit``, since the ring waits for as long as it is late to see that push land;
  when the tip moves, the count starts again from its lander. Only if the
  tip stays put for ``(d - 1) * IDLE * max(unit, pace)`` (``pace``: the time between landings
  seen here; the writers between had nothing to push) does it go anyway: a writer that
  jumped the queue on a guess would collide with one still pushing.
  ``unit`` is one fetch-rebuild-push as measured here, so the ring runs at the machine's
  own pace; writers that measure differently only look more or less often.
* A writer not in the others' ring yet (a newcomer) takes its sorted place in its own view:
  it shares a turn with one known writer until one push of its own lands, and the
  compare-and-swap decides between them.

The ring is a convention, not a lock: writers whose views differ only lose a race, and the
compare-and-swap keeps the branch consistent. One writer alone never waits.

**Hints.** Nodes also tell each other over the mesh when a push of theirs lands
(:meth:`Turns.landed_elsewhere`) and when they wait for a turn they are not given
(:meth:`Turns.waiting_elsewhere`). A landing hint is an observation of the branch before any fetch
here shows it: the writer after the lander goes at once, and while hints flow the writers further
back do not look at all (each look is a fetch, CPU the writer pushing needs). With the landing's
objects in the hint (:mod:`ifmesh.node.gitsync.handoff`), 8 writers on 2 cores measured p99
0.72–0.84 s, against 1.38–3.01 s for the same writers without a mesh. A waiting hint puts a writer
into the ring before it has ever landed. Hints are only ever advice: a false one costs a lost race
or a late look, and without them (a session with no node, a mesh partition) writers look as above.
"""

from __future__ import annotations

from collections.abc import Sequence

IDLE = 3.0
POLL = 0.2  # of a turn: how often the writer next but one looks (A/B: 0.1 and 0.4 did worse)


class Turns:
    def __init__(self, session: str, *, unit: float, window: float, patience: float = 1.0) -> None:
        self.session = session
        self.patience = patience
        self._floor = unit
        self._cycle = unit  # one fetch-rebuild-push that landed, here (moving average)
        self._pace = unit  # time between landings on the branch, as seen from here
        self._window = window
        self._seen: dict[str, float] = {}  # session → when its last commit was seen
        self.tip: str | None = None
        self._lander: str | None = None
        self._since = float("-inf")  # when the current tip was first seen
        self._hinted = float("-inf")  # when a peer last said it landed

    def observe(self, tip: str | None, landers: Sequence[str], now: float) -> None:
        """The branch's tip as just fetched, and the sessions whose commits came since the
        last observed tip, oldest first (empty when none of them was a session's)."""
        for session in landers:
            self._seen[session] = now
        if tip != self.tip:
            if landers and self.tip is not None and now - self._since < self._window:
                self._pace = 0.8 * self._pace + 0.2 * (now - self._since) / len(landers)
            self.tip = tip
            self._since = now
            if landers:
                self._lander = landers[-1]

    def landed_elsewhere(self, session: str, tip: str, now: float) -> None:
        """A peer says it has just landed ``tip``: taken as an observation of the branch."""
        self._hinted = now
        self.observe(tip, [session], now)

    def waiting_elsewhere(self, session: str, now: float) -> None:
        """A peer says it waits to push: it takes its place in the ring from now on."""
        self._seen[session] = now

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
        distance = (ring.index(self.session) - ring.index(lander)) % len(ring) or len(ring)
        if distance == 1:
            return 0.0
        # Looking (a fetch) early costs little; looking late loses the turn to the writers
        # after, who skip one that seems idle. So look at the pace of a fast writer. (Looking
        # at the branch's observed pace instead, which includes the lag of looking, measured
        # p99 several times worse.)
        look = min(self.unit, 2 * self._floor)
        expected = self._since + (distance - 1) * look
        # Skipping a writer still pushing costs a lost race each: judge idleness by the
        # slower of this machine's push and the branch's pace (both grow under load).
        idle = self._since + (distance - 1) * IDLE * max(self.unit, self._pace)
        if now >= idle:
            return 0.0
        if self.hinted(now):
            return idle - now  # the landings before ours will be told: look only if they stop
        if now < expected:
            return expected - now
        # Next but one: the writer before is pushing now, and each moment this one is late
        # to see it land delays the whole ring, so it looks often. Writers further back look
        # at a turn's pace: their looks would only take CPU from the one pushing.
        every = POLL * self.unit if distance == 2 else look
        return min(every, idle - now)
