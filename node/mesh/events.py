"""What a mesh reports to its owner: typed, immutable events, and per-peer metrics.

Events are local observations of this node (presence, deliveries); none of them is an
IFMessage or a board event, except the message a :class:`MessageReceived` carries.
"""

from __future__ import annotations

import asyncio
import enum
from collections import deque
from dataclasses import dataclass

from ifmesh.node.protocol.messages import Envelope


class DownReason(enum.StrEnum):
    LEFT = "left"  # the peer said bye (or left the room)
    DEAD = "dead"  # silence past the dead threshold, or its channel closed without a bye
    REPLACED = "replaced"  # the peer restarted: a newer build of the pair took this one's place


@dataclass(frozen=True, slots=True)
class PeerUp:
    peer: str
    epoch: int
    reconnects: int


@dataclass(frozen=True, slots=True)
class PeerCaughtUp:
    """Catch-up with ``peer`` has been exchanged both ways on the channel of pair ``epoch``:
    we queued ours, and the peer's caught-up frame (after all of its catch-up) arrived."""

    peer: str
    epoch: int


@dataclass(frozen=True, slots=True)
class PeerSuspect:
    peer: str
    silence: float


@dataclass(frozen=True, slots=True)
class PeerDown:
    peer: str
    reason: DownReason
    detail: str = ""


@dataclass(frozen=True, slots=True)
class MessageReceived:
    """An IFMessage from ``peer``, delivered once. ``request``: the sender awaits a reply
    (answer with ``await mesh.reply(event, message)``). ``received_at``: ``time.monotonic()``
    when the mesh accepted it (checked, deduplicated), before the consumer was scheduled."""

    peer: str
    message: Envelope
    size: int
    request: bool = False
    received_at: float = 0.0


@dataclass(frozen=True, slots=True)
class MeshReady:
    """Every member of the room this node knows of has an open channel to it."""

    peers: frozenset[str]


@dataclass(frozen=True, slots=True)
class SignalingChanged:
    """The signaling server became reachable (joined) or not; ``fatal``: we stopped trying."""

    joined: bool
    detail: str = ""
    fatal: bool = False


MeshEvent = (
    PeerUp | PeerCaughtUp | PeerSuspect | PeerDown | MessageReceived | MeshReady | SignalingChanged
)


class PeerState(enum.StrEnum):
    CONNECTING = "connecting"
    UP = "up"
    SUSPECT = "suspect"
    DOWN = "down"


@dataclass(slots=True)
class PeerMetrics:
    """Counters of one peer since this node started (they survive rebuilds of the pair)."""

    state: PeerState = PeerState.CONNECTING
    epoch: int | None = None
    rtt: float | None = None
    smoothed_rtt: float | None = None
    messages_in: int = 0
    messages_out: int = 0
    bytes_in: int = 0
    bytes_out: int = 0
    duplicates: int = 0
    malformed: int = 0
    expired: int = 0
    refused: int = 0  # messages its role does not allow (node.mesh.roles)
    reconnects: int = 0
    buffered: int = 0
    ice_pair: str | None = None  # the candidate pair ICE nominated (PeerLink.ice_pair)

    def snapshot(self) -> PeerMetrics:
        return PeerMetrics(**{name: getattr(self, name) for name in self.__slots__})


class Subscription:
    """An async iterator over the events a mesh reports from the moment of subscribing.

    Unbounded on purpose: events are small, and dropping a MessageReceived would lose an
    accepted message. A deque and one waiter future rather than an asyncio.Queue, because this
    sits on every message's path and the queue's bookkeeping costs more than the delivery.
    The iteration ends when the mesh closes.
    """

    def __init__(self) -> None:
        self._events: deque[MeshEvent] = deque()
        self._waiter: asyncio.Future[None] | None = None
        self.closed = False

    def put(self, event: MeshEvent) -> None:
        if not self.closed:
            self._events.append(event)
            self._wake()

    def end(self) -> None:
        self.closed = True
        self._wake()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> MeshEvent:
        while not self._events:
            if self.closed:
                raise StopAsyncIteration
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        return self._events.popleft()

    def pending(self) -> list[MeshEvent]:
        """Events already queued, taken without waiting."""
        taken = list(self._events)
        self._events.clear()
        return taken
