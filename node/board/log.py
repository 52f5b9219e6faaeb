"""The event log: every session's events in the total order, and the board folded from them.

Events are kept sorted by ``(lamport, source, seq)`` (incarnation last, only to make the order
total). An event that arrives in order is folded at once; one that arrives late is inserted
and the board is re-folded from the nearest checkpoint before it, so every node holding the
same events holds the same board whatever the arrival order. Inside :meth:`EventLog.batch`
(a read from git, a restart's own log) late events are inserted first and folded once, at the
end: k late events cost one re-fold, not k.

The same (source, seq) arriving again is a no-op; a *different* event under a (source, seq)
already held means two processes write one session's log, and raises
:class:`~node.board.errors.ForkedLog`.

Checkpoints are dense near the end of the log, where late events land, and thin out with age
(:func:`_keeps`): a day of events keeps a few dozen board copies, not one per 64 events. A
very late event re-folds a little more; memory grows with the log's logarithm, not its length.

Events more than a checkpoint's worth and :data:`KEEP_DECODED` behind the newest go to a cold
store, encoded (:mod:`ifmesh.node.board.cold`: a node's is a file), and the log keeps an int
handle in their place: only a re-fold that reaches back that far, a catch-up or a full
iteration reads them again, decoding each. A long day's room of 8 sessions holds 160,000 events.

The log is pure bookkeeping: it never reads a clock, and persisting it is the caller's job.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace

from ifmesh.node.board import canonical, reducer
from ifmesh.node.board.cold import ColdInMemory, ColdStore
from ifmesh.node.board.effects import Effect
from ifmesh.node.board.errors import ForkedLog
from ifmesh.node.board.fold import Checkpoint, FoldState
from ifmesh.node.board.governance import PERMISSIVE, Governance
from ifmesh.node.board.stamps import SeqStamps
from ifmesh.node.board.state import Board, BoardConfig, Task
from ifmesh.node.protocol import codec
from ifmesh.node.protocol.messages import Envelope

OrderKey = tuple[int, str, int, str]
# A late event re-folds from the checkpoint before it: on small boards checkpoints are cheap, so
# keep them close (a room of 32 nodes spent 12 % of each node's CPU re-folding at 64).
DEFAULT_CHECKPOINT_EVERY = 8
# The last DENSE checkpoints are all kept; older ones are thinned, DENSE // 2 per doubling of age.
DENSE = 16
# On a big board a checkpoint costs memory (406 KB at 20,000 tasks), so fewer are kept densely:
# at most about this many task copies, and never fewer than 4 checkpoints.
DENSE_TASK_COPIES = 32_768
TASKS_PER_CHECKPOINT_EVENT = 32  # on boards of over 2,048 tasks, checkpoints space out with it
# The newest events stay decoded, where late events land: those since the last checkpoint
# (a late event re-folds from the one before it) and this many more. A late event reaching
# further back decodes what it re-folds from the cold store, a small part of the re-fold's
# cost. Each decoded event holds about 3 KB: at 1,024 plus two checkpoints' worth, the window
# was the largest thing a node's memory grew by in a soak's first minutes (docs/scaling.md).
KEEP_DECODED = 256
ENCODE_BATCH = 256  # older ones are encoded this many at a time


def _keeps(index: int, newest: int, dense: int = DENSE) -> bool:
    """Whether checkpoint ``index`` (after ``index × every`` events) is kept once checkpoint
    ``newest`` exists. The stride is a power of two that grows with the age, so a checkpoint
    dropped once would never be kept again (the kept set only shrinks)."""
    age = newest - index
    if index == 0 or age < dense:
        return True
    stride = 1 << (age // dense).bit_length()
    return index % stride == 0


def order_key(event: Envelope) -> OrderKey:
    return (event.lamport, event.source, event.seq, event.incarnation)


@dataclass(frozen=True, slots=True)
class Added:
    """What adding one event did: ``new`` is False for a duplicate; ``effects`` are those of
    every event (re-)folded, so a caller that delivers effects must drop repeats;
    ``refolded`` counts the events folded again because this one arrived late."""

    new: bool
    effects: tuple[Effect, ...] = ()
    refolded: int = 0


_NEW_QUIET = Added(new=True)  # most events have no effects: share one answer


class EventLog:
    def __init__(
        self,
        initial: Board | None = None,
        config: BoardConfig | None = None,
        governance: Governance = PERMISSIVE,
        checkpoint_every: int = DEFAULT_CHECKPOINT_EVERY,
        keep_decoded: int = KEEP_DECODED,
        cold: ColdStore | None = None,
    ) -> None:
        self.config = config or BoardConfig()
        self.governance = governance
        self._folds = bool(getattr(governance, "folds", True))
        base = initial or Board()
        if base.governor is None:
            base = replace(base, governor=governance.initial())
        self._initial = base
        # A checkpoint copies every task: on a big board (the soak's 20,000 tasks), one per 64
        # events cost 1 MB each and most of the fold's memory. Space them by the board's size
        # instead, so copying stays about 32 tasks per event; a late event re-folds more.
        self._every = max(1, checkpoint_every, len(base.tasks) // TASKS_PER_CHECKPOINT_EVENT)
        self._dense = max(4, min(DENSE, DENSE_TASK_COPIES // max(1, len(base.tasks))))
        self._events: list[Envelope | int] = []  # int: a handle in the cold store
        self._cold: ColdStore = cold if cold is not None else ColdInMemory()
        self._encoded_to = 0  # events[:this] were encoded, but for late events inserted since:
        self._late_below: int | None = None  # the lowest position of one, if any
        self._keep_decoded = keep_decoded + self._every
        self._keys: list[OrderKey] = []
        # source → seq → hash of (incarnation, id): whether an event under a held (source,
        # seq) is that one again or a fork (node.board.stamps: 8 bytes an event); a fork's
        # message finds the held one.
        self._held: dict[str, SeqStamps] = {}
        # One str per session and per incarnation for the indexes above, not one per event:
        # they outlive the events they came from (encoded, then spilled), 140 bytes each.
        self._names: dict[str, str] = {}
        self._last: dict[str, tuple[int, int]] = {}  # source → (highest seq, its lamport)
        self._prefix: dict[str, int] = {}  # source → n: every seq 1..n is held
        self._above: dict[str, set[int]] = {}  # source → seqs held beyond a gap
        self._state = FoldState(base)
        # (i, the fold after events[: i * every] with its indexes), i ascending, thinned
        # On a big board each holds only the tasks changed since base (FoldState.checkpoint).
        self._checkpoints: list[tuple[int, Checkpoint]] = [(0, self._state.checkpoint())]
        self._board: Board | None = base
        self._digest: tuple[FoldState, int, str] | None = None  # of the fold at that count
        self._batches = 0  # open batch() scopes
        self._unfolded: int | None = None  # in a batch: the first position not folded

    # --- reading -------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._events)

    def __iter__(self) -> Iterator[Envelope]:
        return map(self._decoded, self._events)

    @property
    def board(self) -> Board:
        """The folded board (a frozen snapshot, cached until the next event)."""
        if self._board is None:
            self._board = self._state.snapshot()
        return self._board

    def digest(self) -> str:
        """SHA-256 of the board's canonical bytes, computed once per board: nodes holding the
        same events hold the same digest, and ``ifmesh status`` may be asked for it often.
        Hashed from the fold's view, a part at a time (:func:`canonical.digest`): no copy of
        the board, no document of it."""
        state = self._state  # replaced by a re-fold; its count grows with each event folded
        if self._digest is None or self._digest[0] is not state or self._digest[1] != state.folded:
            self._digest = (state, state.folded, canonical.digest(state.view()))
        return self._digest[2]

    def view(self) -> Board:
        """The folded board as a read-only view, valid until the next event (no copying)."""
        return self._state.view()

    def held_by(self, session_id: str) -> tuple[Task, ...]:
        """Tasks ``session_id`` holds, in id order (from the fold's index: no scan)."""
        tasks = self._state.tasks
        return tuple(tasks[t] for t in sorted(self._state.holdings.get(session_id, ())))

    def queued_for(self, session_id: str) -> tuple[Task, ...]:
        """Tasks in whose claim queue ``session_id`` waits, in id order (the fold's index)."""
        tasks = self._state.tasks
        return tuple(tasks[t] for t in sorted(self._state.queued.get(session_id, ())))

    def recent_of(self, source: str, limit: int) -> list[Envelope]:
        """The last ``limit`` events of ``source`` in the total order, oldest first (from the
        end of the log: no scan of a long day's events)."""
        found: list[Envelope] = []
        keys = self._keys
        for position in range(len(keys) - 1, -1, -1):
            if len(found) == limit:
                break
            if keys[position][1] == source:
                found.append(self._decoded(self._events[position]))
        return found[::-1]

    def contains(self, source: str, seq: int) -> bool:
        seqs = self._held.get(source)
        return seqs is not None and seq in seqs

    def last_of(self, source: str) -> tuple[int, int]:
        """(highest seq, its lamport) held from ``source``; (0, 0) for none. A restarting
        node resumes from this before it emits anything."""
        return self._last.get(source, (0, 0))

    def max_lamport(self) -> int:
        return self._keys[-1][0] if self._keys else 0

    def frontier(self) -> dict[str, int]:
        """Per source, the n such that seqs 1..n are all held (seq counts from 1 without gaps
        per session): what a peer compares to send what we lack, gaps included."""
        return dict(self._prefix)

    def missing_for(self, frontier: dict[str, int]) -> list[Envelope]:
        """Events a peer with ``frontier`` may lack (beyond its gap-free prefix), in order."""
        return [
            self._decoded(self._events[position])
            for position, (_, source, seq, _) in enumerate(self._keys)
            if seq > frontier.get(source, 0)
        ]

    def _decoded(self, event: Envelope | int) -> Envelope:
        return codec.decode(self._cold.get(event)) if isinstance(event, int) else event

    def _count(self, source: str, seq: int) -> None:
        prefix = self._prefix.get(source, 0)
        if seq != prefix + 1:
            self._above.setdefault(source, set()).add(seq)
            return
        prefix += 1
        above = self._above.get(source)
        while above and prefix + 1 in above:
            prefix += 1
            above.discard(prefix)
        self._prefix[source] = prefix

    # --- writing -------------------------------------------------------------------------

    def add(self, event: Envelope) -> Added:
        names, seq = self._names, event.seq
        source = names.setdefault(event.source, event.source)
        incarnation = names.setdefault(event.incarnation, event.incarnation)
        seqs = self._held.get(source)
        if seqs is None:
            seqs = self._held[source] = SeqStamps()
        stamp = hash((incarnation, event.id))
        held = seqs.get(seq)
        if held is not None:
            if held == stamp:
                return Added(new=False)
            raise self._forked(source, seq, event)
        key = (event.lamport, source, seq, incarnation)
        keys, events = self._keys, self._events
        in_order = not keys or key > keys[-1]  # the common case
        if in_order:
            keys.append(key)
            events.append(event)
        else:
            position = bisect.bisect_right(keys, key)
            keys.insert(position, key)
            events.insert(position, event)
        if not in_order and position < self._encoded_to:
            self._encoded_to += 1  # its place shifted the encoded ones up by one
            # ... and it is decoded among them: the next encoding pass goes back for it (a
            # start-up inserts the other sessions' logs among its own, nearly all late).
            lowest = self._late_below
            self._late_below = position if lowest is None or position <= lowest else lowest
        if not self._batches:  # a batch's re-fold may reach far back: encode after it
            self._encode_old()
        seqs.put(seq, stamp)
        last = self._last.get(source)
        if last is None or seq >= last[0]:
            self._last[source] = (seq, event.lamport)
        if seq == self._prefix.get(source, 0) + 1 and not self._above.get(source):
            self._prefix[source] = seq  # gap-free, the usual case
        else:
            self._count(source, seq)
        self._board = None
        if self._unfolded is not None:  # in a batch, behind a late event: fold at its end
            if not in_order:
                self._unfolded = min(self._unfolded, position)
            return _NEW_QUIET
        if in_order:
            effects = self._fold(len(events) - 1)
            return Added(new=True, effects=tuple(effects)) if effects else _NEW_QUIET
        if self._batches:
            self._unfolded = position
            return _NEW_QUIET
        return self._refold(position)

    def _forked(self, source: str, seq: int, event: Envelope) -> ForkedLog:
        held = next(
            (self._decoded(e) for k, e in zip(self._keys, self._events, strict=True)
             if k[2] == seq and k[1] == source),
            None,
        )  # fmt: skip
        return ForkedLog(
            f"{source} seq {seq} is held as event {held.id if held else '?'} of incarnation"
            f" {(held.incarnation if held else '') or '?'}, and now arrives as event {event.id}"
            f" of incarnation {event.incarnation or '?'}: two processes write this session's"
            " log (is the same session running on two hosts?)"
        )

    @contextmanager
    def batch(self) -> Iterator[list[Effect]]:
        """Adds inside are folded at the end of the scope when any arrives late; the list it
        yields then receives the effects of that fold (``add`` returned none for them)."""
        folded: list[Effect] = []
        self._batches += 1
        try:
            yield folded
        finally:
            self._batches -= 1
            if not self._batches and self._unfolded is not None:
                position, self._unfolded = self._unfolded, None
                folded.extend(self._refold(position).effects)
            if not self._batches:
                self._encode_old()

    def extend(self, events: Iterable[Envelope]) -> list[Effect]:
        """Adds many events (duplicates skipped); returns every effect produced."""
        effects: list[Effect] = []
        with self.batch() as folded:
            for event in sorted(events, key=order_key):
                effects.extend(self.add(event).effects)
        return effects + folded

    def _encode_old(self) -> None:
        events, end = self._events, len(self._events) - self._keep_decoded
        start = self._encoded_to if self._late_below is None else self._late_below
        if start == self._encoded_to and end - start <= ENCODE_BATCH:
            return
        put = self._cold.put
        for position in range(start, end):  # a late one's re-fold cost far more than this
            event = events[position]
            if not isinstance(event, int):
                events[position] = put(codec.encode(event))
        self._encoded_to, self._late_below = end, None

    def _fold(self, position: int) -> list[Effect]:
        event = self._decoded(self._events[position])
        effects = reducer.apply(self._state, event, self.config, self.governance, self._folds)
        done = position + 1
        if done % self._every == 0 and done // self._every > self._checkpoints[-1][0]:
            self._add_checkpoint(done // self._every)
        return effects

    def _add_checkpoint(self, index: int) -> None:
        dense = self._dense
        self._checkpoints = [c for c in self._checkpoints if _keeps(c[0], index, dense)]
        self._checkpoints.append((index, self._state.checkpoint()))

    def _refold(self, position: int) -> Added:
        # The newest checkpoint at or before the insertion point: the events it folded are
        # unchanged. Those after it fold again (and checkpoint again).
        indexes = [index for index, _ in self._checkpoints]
        keep = bisect.bisect_right(indexes, position // self._every)
        del self._checkpoints[keep:]
        index, checkpoint = self._checkpoints[-1]
        start = index * self._every
        self._state = FoldState(*checkpoint, base=self._initial.tasks)
        self._board = None  # a board read inside a batch, before this fold, is stale now
        effects: list[Effect] = []
        for index in range(start, len(self._events)):
            effects.extend(self._fold(index))
        return Added(new=True, effects=tuple(effects), refolded=len(self._events) - start - 1)
