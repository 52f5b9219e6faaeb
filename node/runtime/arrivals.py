"""Peers' messages acked before they are folded: the ack leaves first, the fold follows once the
node has nothing else to do, and nothing reads the board in between.

Why. A claim is decided on the mesh when every member has acked it (docs/claims.md), so a peer's
work before its ack is on every claim's path. On this kind of machine the claimant and its peers
share a core: the kernel runs a woken peer on the core of the process that woke it, so a peer
that folds before acking holds the claimant up twice, before the ack and before the claimant
can send the claim's next copy. Acked first, the peer's fold waits until its loop would sleep,
and the claimant goes on (the N = 3 figures are in docs/claims.md, "How long it takes").

Why it is safe. An ack promises the claimant two things. Everything the peer sent before the ack
is ahead of it on the channel: the outbox's order, which this does not touch. And everything the
peer does after the ack is done on a board that holds the claim: a competing claim it makes
later is refused by its fold, or ordered after ours. The second holds because every read of the
board first folds what has arrived (:meth:`Arrivals.fold_now`, called by the node's
``replica_or_fail``, its one way to the replica): a command, a timer, a git read, a catch-up or
a decision never sees a board that lacks a message this node has acked. What waits is only
what a look at the board would fold first.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

from ifmesh.node.mesh.events import MessageReceived

FOLD_DELAY = 0.001
"""Seconds from a message's ack until its fold, unless the board is read sooner. Any delay
lets the loop sleep, and the claimant run, once the ack is on its way; it bounds how long the
event stream and the timers hear of a peer's event later than before. A trade, measured in
docs/claims.md: folding at once answers the claimant 0.6 ms later and shows the claim on every
node's event stream 1.6 ms sooner (3 nodes, 2 cores)."""


class Arrivals:
    """The messages the mesh delivered and acked that the board has not folded yet, in the
    order they arrived."""

    def __init__(
        self, fold: Callable[[Sequence[MessageReceived]], None], delay: float = FOLD_DELAY
    ) -> None:
        self._fold = fold
        self._delay = delay
        self._waiting: list[MessageReceived] = []
        self._timer: asyncio.TimerHandle | None = None

    def __len__(self) -> int:
        return len(self._waiting)

    def arrived(self, received: MessageReceived) -> None:
        """The mesh's message handler: called in its delivery callback, before the ack."""
        self._waiting.append(received)

    def acked(self) -> None:
        """Called by the mesh once the message's ack is queued: the fold is due soon."""
        if self._timer is None and self._waiting:
            self._timer = asyncio.get_running_loop().call_later(self._delay, self.fold_now)

    def fold_now(self) -> None:
        """Folds every message waiting, oldest first (before any read of the board)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._waiting:
            # Taken first: the fold reads the board, and that read must find nothing waiting.
            waiting, self._waiting = self._waiting, []
            self._fold(waiting)
