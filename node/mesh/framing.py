"""Sans-IO framing of one data channel: what the mesh puts in each data-channel message.

Every data-channel message is one *frame*: a kind byte, then a body. IFMessages travel as their
canonical JSON (:func:`ifmesh.node.protocol.codec.encode`); transport frames (ping, pong, bye,
ack, caught up) are small JSON objects and are never IFMessages, so they never reach the board.

====  ==========  ==============================================================
kind  name        body
====  ==========  ==============================================================
M     message     canonical IFMessage JSON
K     acked       same; the receiver answers with an ``A`` frame naming its id
Q     request     same; the receiver's application answers with an ``R`` frame
R     reply       u16 length + id of the request (UTF-8), then IFMessage JSON
C     chunk       u32 transfer, u32 index, u32 count (big-endian), then a piece
N     batch       frames of any kind but C and N, each after its u32 length
P     ping        ``{"n": seq, "t": sender clock, "rtt": seconds or null}``
O     pong        ``{"n": seq, "t": the ping's "t"}``
B     bye         ``{"id": token, "reason": text}``; acknowledged like a message
A     ack         the acknowledged id (UTF-8)
X     nack        the id (UTF-8) of an acked message the receiver declines to
                  ack: it holds a git confirm record for a competing claim
H     hint        ``{"topic": name, "data": JSON object}``: advice between two
                  parts of the peers, never acknowledged or relayed
U     caught up   ``{"n": count}``: the sender's catch-up for this channel is
                  complete (``count`` messages came before it); once per channel
====  ==========  ==============================================================

Order: every frame to a peer (messages, catch-up, acks, markers) leaves through one queue per
channel, in the order it was produced (:mod:`ifmesh.node.mesh.outbox`); only pings, pongs and
hints may be skipped when the channel is busy, and none of them overtakes a queued frame. So
when a peer acks a message, every message the peer sent us on that channel before it received
ours is already here. An ack counts only on the channel (pair epoch) that carried the message.

Why catch-up: when a channel opens, each side first queues what the other may have missed (the
runtime's recent events of its own session) and then a ``U`` frame, before it sends anything
else on that channel, acks included. A side that has received the peer's ``U`` and queued its
own has *exchanged catch-up* with that peer for the channel's epoch.

Why hints: a part of a node (the git bridge) may want to tell its twins in the other nodes
something that is not state and not worth a message in any log, as pings are not (the bridge
says when its push landed, so the next writer need not poll git). A hint goes to the peers
whose channels are open at that moment; if it is lost, the receiver falls back on what it did
without hints.

Why chunk: a frame above ``chunk_threshold`` (16 KiB) is cut into ``C`` frames of at most
``chunk_size`` bytes, sent back to back and glued together by the reader, because browsers
only promise 16 KiB per data-channel message and aiortc refuses anything above the peer's
``max-message-size``. The reader accepts frames up to ``max_frame`` (256 KiB) and reassembles up
to ``max_message`` (1 MiB, the IFMessage bound) plus room for a reply header.

Why batch: aiortc puts every data-channel message in its own SCTP packet and acknowledges each
one, so a burst of small messages costs a packet and a SACK apiece; a sender that is already
busy coalesces the frames of one loop iteration into an ``N`` frame (up to ``chunk_threshold``).

The format lives here: the kinds, how a message's delivery is carried, the size limits and the
events a reader yields. :mod:`ifmesh.node.mesh.frame_writer` builds frames (chunking, batches) and
:mod:`ifmesh.node.mesh.frame_reader` reads them (reassembly, malformed-frame accounting). The reader
never raises on bad input: a bad frame becomes a :class:`FrameRejected` event with a typed
error, is counted in ``malformed``, and the reader carries on (the connection stays up).
"""

from __future__ import annotations

import enum
import struct
from dataclasses import dataclass

from ifmesh.node.errors import ProtocolError
from ifmesh.node.protocol.messages import MAX_ENCODED_BYTES, Envelope

CHUNK_THRESHOLD = 16 * 1024
MAX_FRAME = 256 * 1024
CHUNK_HEADER = struct.Struct(">III")
REPLY_HEADER = struct.Struct(">H")
BATCH_LENGTH = struct.Struct(">I")
BATCH_OVERHEAD = BATCH_LENGTH.size  # per frame; plus one kind byte per batch
KIND_CHUNK = ord("C")
KIND_PING = ord("P")
KIND_PONG = ord("O")
KIND_BYE = ord("B")
KIND_ACK = ord("A")
KIND_NACK = ord("X")
KIND_BATCH = ord("N")
KIND_HINT = ord("H")
KIND_CAUGHT_UP = ord("U")


class Delivery(enum.Enum):
    """How the sender wants a message handled, carried in the frame kind."""

    PLAIN = b"M"
    ACKED = b"K"
    REQUEST = b"Q"
    REPLY = b"R"


@dataclass(frozen=True, slots=True)
class Limits:
    """Sizes the framing enforces; validated once so the hot paths need not check."""

    chunk_threshold: int = CHUNK_THRESHOLD
    chunk_size: int = CHUNK_THRESHOLD
    max_frame: int = MAX_FRAME
    max_message: int = MAX_ENCODED_BYTES

    def __post_init__(self) -> None:
        if not 1024 <= self.chunk_size <= self.max_frame - CHUNK_HEADER.size - 1:
            raise ValueError(f"chunk_size {self.chunk_size} must fit in one frame")
        if not self.chunk_threshold <= self.max_frame:
            raise ValueError("chunk_threshold must not exceed max_frame")
        if self.max_message < 1024:
            raise ValueError("max_message must be at least 1 KiB")


# --- events the reader yields ----------------------------------------------------------------


@dataclass(slots=True)  # not frozen: built for every message, and frozen init costs ~4x
class MessageArrived:
    message: Envelope
    delivery: Delivery
    size: int
    in_reply_to: str | None = None


@dataclass(frozen=True, slots=True)
class PingArrived:
    seq: int
    sent: float
    rtt: float | None


@dataclass(frozen=True, slots=True)
class PongArrived:
    seq: int
    sent: float


@dataclass(frozen=True, slots=True)
class ByeArrived:
    token: str
    reason: str


@dataclass(frozen=True, slots=True)
class AckArrived:
    id: str


@dataclass(frozen=True, slots=True)
class NackArrived:
    id: str


@dataclass(frozen=True, slots=True)
class HintArrived:
    topic: str
    data: dict[str, object]


@dataclass(frozen=True, slots=True)
class CaughtUpArrived:
    count: int


@dataclass(frozen=True, slots=True)
class FrameRejected:
    error: ProtocolError
    size: int


FrameEvent = (
    MessageArrived
    | PingArrived
    | PongArrived
    | ByeArrived
    | AckArrived
    | NackArrived
    | HintArrived
    | CaughtUpArrived
    | FrameRejected
)
