"""How events from elsewhere enter a node's board: peers' events from the mesh, every
session's from git, this session's own from its log and journal at a restart.

A mixin of :class:`~ifmesh.node.runtime.node.Node`, the counterpart of
:mod:`ifmesh.node.runtime.publishing`; kept apart because receiving has its own ordering rule:
a mesh message is acked first and folded next, before anything reads the board
(:mod:`ifmesh.node.runtime.arrivals`, :meth:`Receiving.fold_arrived`).
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import Callable, Iterable, Sequence

import structlog

from ifmesh.node import errors
from ifmesh.node.board.errors import ForkedLog
from ifmesh.node.board.log import order_key
from ifmesh.node.board.replica import Replica
from ifmesh.node.control.running import BoardChanged
from ifmesh.node.control.server import EventFeed
from ifmesh.node.control.views import effect_document, event_for_stream
from ifmesh.node.mesh.events import MessageReceived
from ifmesh.node.protocol.messages import Envelope

log = structlog.get_logger(__name__)


class Receiving:
    session: str
    feed: EventFeed
    changed: BoardChanged
    _wake: asyncio.Event

    def replica_or_fail(self) -> Replica:
        raise NotImplementedError

    def stop(self, reason: str) -> None:
        raise NotImplementedError

    def receive(self, events: Iterable[Envelope], origin: str, *, tell: bool = True) -> None:
        """Folds ``events``; ``tell=False`` leaves waking the rest of the node to the caller
        (:meth:`fold_arrived`, once for a batch)."""
        replica = self.replica_or_fail()
        new = 0
        with replica.batch():  # many late events from git: one re-fold, not one each
            for event in events:
                try:
                    if replica.receive(event):
                        new += 1
                        self.feed.publish(event_for_stream(event, own=False))
                except ForkedLog as exc:
                    if event.source == self.session:  # another process writes *our* log
                        self.stop(str(exc))
                        return
                    # Another session's log forked (it restarted and reused a seq it had sent
                    # but not saved): keep the first, refuse the second, and say so.
                    log.warning("node.peer_log_forked", origin=origin, error=str(exc))
                    self.feed.publish({"type": "fork", "source": event.source, "message": str(exc)})
                except errors.IfmeshError as exc:
                    log.warning("node.event_refused", origin=origin, event=event.id, error=str(exc))
        if new and tell:
            self._after_change()

    def fold_arrived(self, arrived: Sequence[MessageReceived]) -> None:
        """Peers' messages, acked already (node.runtime.arrivals): folded in the order they
        arrived as one batch (a catch-up of k late events costs one re-fold), and what they
        change told once."""
        replica = self.replica_or_fail()
        held = len(replica.log)
        with replica.batch():
            for received in arrived:
                try:
                    self.receive([received.message], f"mesh:{received.peer}", tell=False)
                except Exception:  # a bug in a fold must not lose the messages after it
                    log.exception("node.fold_failed", peer=received.peer, id=received.message.id)
        if len(replica.log) > held:  # any new (a duplicate adds nothing)
            self._after_change()

    def _after_change(self) -> None:
        replica = self.replica_or_fail()
        for effect in replica.effects():
            self.feed.publish(effect_document(effect))
        self._wake.set()
        self.changed.notify()


class StartupFold:
    """Folds a start-up read as it streams in. The other sessions' events come from git in
    the board's order, a chunk at a time (``GitSync.read_first``); this session's own earlier
    events (its log and its journal, in the same order: a session's lamport rises with its
    seq) are merged in among them as they are reached. So the board appends nearly every event
    and folds it once, and no more than a chunk is ever decoded beside the board: read session
    by session, most events would land among the ones before, each inserted, the whole day
    decoded and folded again at its end."""

    def __init__(
        self, receive: Callable[[Iterable[Envelope], str], None], own: Iterable[Envelope]
    ) -> None:
        self._receive = receive
        self._own = iter(own)
        self._next = next(self._own, None)  # the first own event not folded yet

    def chunk(self, events: list[Envelope]) -> None:
        """Folds ``events`` (in the board's order) with the own events ordered before their
        last."""
        if not events:
            return
        last, before = order_key(events[-1]), []
        while self._next is not None and order_key(self._next) <= last:
            before.append(self._next)
            self._next = next(self._own, None)
        self._receive(heapq.merge(before, events, key=order_key), "git")

    def finish(self) -> None:
        """Folds the own events after the last chunk (all of them when nothing came)."""
        first, self._next = self._next, None
        self._receive(itertools.chain([first] if first is not None else [], self._own), "own log")
