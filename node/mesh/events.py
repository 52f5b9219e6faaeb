"""What a mesh reports to its owner: typed, immutable events, and per-peer metrics.

Events are local observations of this node (presence, deliveries); none of them is an
IFMessage or a board event, except the message a :class:`MessageReceived` carries.
"""

from __future__ import annotations

import asyncio
import enum
from dataclasses import dataclass

from node.messages import Envelope


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
    (answer with ``await mesh.reply(event, message)``)."""

    peer: str
    message: Envelope
    size: int
    request: bool = False


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


MeshEvent = PeerUp | PeerSuspect | PeerDown | MessageReceived | MeshReady | SignalingChanged


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
    reconnects: int = 0
    buffered: int = 0

    def snapshot(self) -> PeerMetrics:
        return PeerMetrics(**{name: getattr(self, name) for name in self.__slots__})


_END = object()


class Subscription:
    """An async iterator over the events a mesh reports from the moment of subscribing.

    The queue is unbounded on purpose: events are small, and dropping a MessageReceived
    would lose an accepted message. The iteration ends when the mesh closes.
    """

    def __init__(self) -> None:
        self._queue: asyncio.Queue[object] = asyncio.Queue()
        self.closed = False

    def put(self, event: MeshEvent) -> None:
        if not self.closed:
            self._queue.put_nowait(event)

    def end(self) -> None:
        if not self.closed:
            self.closed = True
            self._queue.put_nowait(_END)

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> MeshEvent:
        item = await self._queue.get()
        if item is _END:
            self._queue.put_nowait(_END)  # later calls end too
            raise StopAsyncIteration
        return item  # type: ignore[return-value]

    def pending(self) -> int:
        return self._queue.qsize()
