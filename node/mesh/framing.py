"""Sans-IO framing of one data channel: what the mesh puts in each data-channel message.

Every data-channel message is one *frame*: a kind byte, then a body. IFMessages travel as their
canonical JSON (:func:`node.codec.encode`); transport frames (ping, pong, bye, ack) are small
JSON objects and are never IFMessages, so they never reach the board.

====  ==========  ==============================================================
kind  name        body
====  ==========  ==============================================================
M     message     canonical IFMessage JSON
K     acked       same; the receiver answers with an ``A`` frame naming its id
Q     request     same; the receiver's application answers with an ``R`` frame
R     reply       u16 length + id of the request (UTF-8), then IFMessage JSON
C     chunk       u32 transfer, u32 index, u32 count (big-endian), then a piece
N     batch       frames of the kinds above but C and N, each after its u32 length
P     ping        ``{"n": seq, "t": sender clock, "rtt": seconds or null}``
O     pong        ``{"n": seq, "t": the ping's "t"}``
B     bye         ``{"id": token, "reason": text}``; acknowledged like a message
A     ack         the acknowledged id (UTF-8)
====  ==========  ==============================================================

Why chunk: a frame above ``chunk_threshold`` (16 KiB) is cut into ``C`` frames of at most
``chunk_size`` bytes, sent back to back and glued together by the reader, because browsers
only promise 16 KiB per data-channel message and aiortc refuses anything above the peer's
``max-message-size``. The reader accepts frames up to ``max_frame`` (256 KiB) and reassembles up
to ``max_message`` (1 MiB, the IFMessage bound) plus room for a reply header.

Why batch: aiortc puts every data-channel message in its own SCTP packet and acknowledges each
one, so a burst of small messages costs a packet and a SACK apiece; a sender that is already
busy coalesces the frames of one loop iteration into an ``N`` frame (up to ``chunk_threshold``).

The reader never raises on bad input: a bad frame becomes a :class:`FrameRejected` event with a
typed error, is counted in ``malformed``, and the reader carries on (the connection stays up).
Use: ``reader.receive_frame(data)`` then ``for event in reader.events(): ...``; the writer's
methods return the frames (bytes) to send, in order.
"""

from __future__ import annotations

import enum
import struct
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import orjson

from node import codec
from node.errors import ProtocolError
from node.mesh.errors import MalformedFrame
from node.messages import MAX_ENCODED_BYTES, Envelope

CHUNK_THRESHOLD = 16 * 1024
MAX_FRAME = 256 * 1024
_CHUNK_HEADER = struct.Struct(">III")
_REPLY_HEADER = struct.Struct(">H")
# A reassembled frame holds an IFMessage plus at most a kind byte and a reply header.
_HEADER_ROOM = 1 + _REPLY_HEADER.size + 4 * 4096
# Several transfers may interleave only if a sender interleaves them; ours never does, so a
# few partial transfers are plenty and the bound keeps a hostile peer from hoarding memory.
_MAX_PARTIAL_TRANSFERS = 4


class Delivery(enum.Enum):
    """How the sender wants a message handled, carried in the frame kind."""

    PLAIN = b"M"
    ACKED = b"K"
    REQUEST = b"Q"
    REPLY = b"R"


_MESSAGE_KINDS = {d.value[0]: d for d in Delivery}
# Enum members and .value go through Python-level descriptors; the per-message paths use
# these plain module constants instead.
_KIND_BYTES = {d: d.value for d in Delivery}
_REPLY = Delivery.REPLY
KIND_CHUNK = ord("C")
KIND_PING = ord("P")
KIND_PONG = ord("O")
KIND_BYE = ord("B")
KIND_ACK = ord("A")
KIND_BATCH = ord("N")
_BATCH_LENGTH = struct.Struct(">I")
BATCH_OVERHEAD = _BATCH_LENGTH.size  # per frame; plus one kind byte per batch


@dataclass(frozen=True, slots=True)
class Limits:
    """Sizes the framing enforces; validated once so the hot paths need not check."""

    chunk_threshold: int = CHUNK_THRESHOLD
    chunk_size: int = CHUNK_THRESHOLD
    max_frame: int = MAX_FRAME
    max_message: int = MAX_ENCODED_BYTES

    def __post_init__(self) -> None:
        if not 1024 <= self.chunk_size <= self.max_frame - _CHUNK_HEADER.size - 1:
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
class FrameRejected:
    error: ProtocolError
    size: int


FrameEvent = MessageArrived | PingArrived | PongArrived | ByeArrived | AckArrived | FrameRejected


# --- writing ---------------------------------------------------------------------------------


class FrameWriter:
    """Builds frames. One writer per node: transfer ids only need to be unique per sender."""

    def __init__(self, limits: Limits | None = None) -> None:
        self.limits = limits or Limits()
        self._transfer = 0
        # The largest message that goes out as one frame (its kind byte included).
        self._single_frame = min(self.limits.chunk_threshold - 1, self.limits.max_message)

    def message(
        self, encoded: bytes, delivery: Delivery = Delivery.PLAIN, *, in_reply_to: str = ""
    ) -> list[bytes]:
        """Frames for one encoded IFMessage (chunked when large); the same for every peer."""
        if len(encoded) <= self._single_frame and delivery is not _REPLY:
            return [_KIND_BYTES[delivery] + encoded]  # the usual case: one frame, no checks
        limits = self.limits
        if len(encoded) > limits.max_message:
            raise MalformedFrame(
                f"message is {len(encoded)} bytes; the limit is {limits.max_message}"
            )
        if delivery is Delivery.REPLY:
            reply_id = in_reply_to.encode()
            if not reply_id or len(reply_id) > 0xFFFF:
                raise MalformedFrame("a reply names the id of its request (1..65535 bytes)")
            frame = b"R" + _REPLY_HEADER.pack(len(reply_id)) + reply_id + encoded
        else:
            frame = _KIND_BYTES[delivery] + encoded
        if len(frame) <= limits.chunk_threshold:
            return [frame]
        return self._chunks(frame)

    def _chunks(self, frame: bytes) -> list[bytes]:
        self._transfer = (self._transfer + 1) & 0xFFFFFFFF
        size = self.limits.chunk_size
        count = -(-len(frame) // size)
        return [
            b"C" + _CHUNK_HEADER.pack(self._transfer, index, count) + frame[start : start + size]
            for index, start in enumerate(range(0, len(frame), size))
        ]

    @staticmethod
    def ping(seq: int, sent: float, rtt: float | None) -> bytes:
        return b"P" + orjson.dumps({"n": seq, "t": sent, "rtt": rtt})

    @staticmethod
    def pong(seq: int, sent: float) -> bytes:
        return b"O" + orjson.dumps({"n": seq, "t": sent})

    @staticmethod
    def bye(token: str, reason: str) -> bytes:
        return b"B" + orjson.dumps({"id": token, "reason": reason})

    @staticmethod
    def ack(message_id: str) -> bytes:
        return b"A" + message_id.encode()

    @staticmethod
    def batch(frames: list[bytes]) -> bytes:
        """One ``N`` frame carrying ``frames`` (none of them a chunk or a batch)."""
        return b"N" + b"".join(_BATCH_LENGTH.pack(len(f)) + f for f in frames)


# --- reading ---------------------------------------------------------------------------------


@dataclass(slots=True)
class _Transfer:
    count: int
    next_index: int
    size: int
    pieces: list[bytes]


class FrameReader:
    """Turns the frames of one peer into events. One reader per connection (it holds chunks)."""

    def __init__(self, limits: Limits | None = None) -> None:
        self.limits = limits or Limits()
        self.malformed = 0
        self._events: deque[FrameEvent] = deque()
        self._transfers: dict[int, _Transfer] = {}
        self._reassembly_cap = self.limits.max_message + _HEADER_ROOM
        self._max_frame = self.limits.max_frame

    def receive_frame(self, data: bytes | str) -> None:
        """Feeds one data-channel message (a browser may send text; it is read as UTF-8)."""
        frame = data.encode() if isinstance(data, str) else data
        try:
            if len(frame) > self.limits.max_frame:
                raise MalformedFrame(
                    f"frame is {len(frame)} bytes; the limit is {self.limits.max_frame}"
                )
            if not frame:
                raise MalformedFrame("empty frame")
            if frame[0] == KIND_CHUNK:
                whole = self._chunk(frame)
                if whole is not None:
                    self._events.append(self._parse(whole, len(whole)))
            elif frame[0] == KIND_BATCH:
                self._batch(frame)
            else:
                self._events.append(self._parse(frame, len(frame)))
        except ProtocolError as error:
            self._reject(error, len(frame))

    def read(self, data: bytes | str) -> list[FrameEvent]:
        """Feeds one frame and returns its events: ``receive_frame`` then ``events()`` in one
        call. A whole single frame (the usual case) is parsed without the event queue, and a
        message frame (the most frequent) without a detour through ``_parse``."""
        size = len(data)
        if type(data) is bytes and 0 < size <= self._max_frame and not self._events:
            kind = data[0]
            try:
                delivery = _MESSAGE_KINDS.get(kind)
                if delivery is not None and delivery is not _REPLY:
                    return [MessageArrived(codec.decode(data[1:]), delivery, size)]
                if kind != KIND_CHUNK and kind != KIND_BATCH:
                    return [self._parse(data, size)]
            except ProtocolError as error:
                self.malformed += 1
                return [FrameRejected(error, size)]
        self.receive_frame(data)
        events = list(self._events)
        self._events.clear()
        return events

    def _batch(self, frame: bytes) -> None:
        position = 1
        while position < len(frame):
            if position + _BATCH_LENGTH.size > len(frame):
                raise MalformedFrame("batch frame ends inside a length")
            (length,) = _BATCH_LENGTH.unpack_from(frame, position)
            position += _BATCH_LENGTH.size
            inner = frame[position : position + length]
            position += length
            if len(inner) != length or not inner:
                raise MalformedFrame("batch frame with a truncated or empty frame")
            if inner[0] in (KIND_CHUNK, KIND_BATCH):
                raise MalformedFrame("a batch carries no chunks and no batches")
            try:  # one bad frame in a batch does not cost the others
                self._events.append(self._parse(inner, len(inner)))
            except ProtocolError as error:
                self._reject(error, len(inner))

    def events(self) -> Iterator[FrameEvent]:
        """Events produced by the frames fed so far, oldest first (drains them)."""
        while self._events:
            yield self._events.popleft()

    def _reject(self, error: ProtocolError, size: int) -> None:
        self.malformed += 1
        self._events.append(FrameRejected(error, size))

    def _chunk(self, frame: bytes) -> bytes | None:
        if len(frame) <= _CHUNK_HEADER.size + 1:
            raise MalformedFrame("chunk frame without a piece")
        transfer_id, index, count = _CHUNK_HEADER.unpack_from(frame, 1)
        piece = frame[1 + _CHUNK_HEADER.size :]
        if index == 0:
            if count < 2:
                raise MalformedFrame(f"a chunked transfer has at least 2 chunks, not {count}")
            if transfer_id in self._transfers:
                del self._transfers[transfer_id]
                raise MalformedFrame(f"transfer {transfer_id} restarted before it completed")
            if len(self._transfers) >= _MAX_PARTIAL_TRANSFERS:
                oldest = next(iter(self._transfers))
                del self._transfers[oldest]
                self._reject(MalformedFrame(f"transfer {oldest} abandoned unfinished"), 0)
            transfer = _Transfer(count=count, next_index=0, size=0, pieces=[])
            self._transfers[transfer_id] = transfer
        else:
            found = self._transfers.get(transfer_id)
            if found is None:
                raise MalformedFrame(f"chunk {index} of unknown transfer {transfer_id}")
            transfer = found
        if index != transfer.next_index or count != transfer.count:
            del self._transfers[transfer_id]
            raise MalformedFrame(
                f"chunk {index}/{count} of transfer {transfer_id} out of order"
                f" (expected {transfer.next_index}/{transfer.count})"
            )
        transfer.size += len(piece)
        if transfer.size > self._reassembly_cap:
            del self._transfers[transfer_id]
            raise MalformedFrame(f"chunked transfer exceeds {self._reassembly_cap} bytes; dropped")
        transfer.pieces.append(piece)
        transfer.next_index += 1
        if transfer.next_index < transfer.count:
            return None
        del self._transfers[transfer_id]
        whole = b"".join(transfer.pieces)
        if whole[:1] == b"C":
            raise MalformedFrame("a chunked transfer cannot carry another chunk")
        return whole

    def _parse(self, frame: bytes, size: int) -> FrameEvent:
        kind = frame[0]
        delivery = _MESSAGE_KINDS.get(kind)
        if delivery is not None:
            if delivery is not _REPLY:
                return MessageArrived(codec.decode(frame[1:]), delivery, size)
            body = memoryview(frame)[1:]
            if len(body) < _REPLY_HEADER.size:
                raise MalformedFrame("reply frame without its request id")
            (length,) = _REPLY_HEADER.unpack_from(body)
            raw_id = bytes(body[_REPLY_HEADER.size : _REPLY_HEADER.size + length])
            if length == 0 or len(raw_id) != length:
                raise MalformedFrame("reply frame with a truncated request id")
            in_reply_to = _text(raw_id, "request id")
            body = body[_REPLY_HEADER.size + length :]
            return MessageArrived(codec.decode(bytes(body)), delivery, size, in_reply_to)
        if kind == KIND_PING:
            doc = _json_object(frame, ("n", "t"))
            rtt = doc.get("rtt")
            if rtt is not None and not _is_number(rtt):
                raise MalformedFrame("ping rtt is a number or null")
            return PingArrived(_int(doc["n"]), _float(doc["t"]), None if rtt is None else rtt)
        if kind == KIND_PONG:
            doc = _json_object(frame, ("n", "t"))
            return PongArrived(_int(doc["n"]), _float(doc["t"]))
        if kind == KIND_BYE:
            doc = _json_object(frame, ("id",))
            reason = doc.get("reason", "")
            if not isinstance(doc["id"], str) or not isinstance(reason, str):
                raise MalformedFrame("bye id and reason are strings")
            return ByeArrived(doc["id"], reason)
        if kind == KIND_ACK:
            if len(frame) == 1:
                raise MalformedFrame("ack frame without an id")
            return AckArrived(_text(frame[1:], "ack id"))
        raise MalformedFrame(f"unknown frame kind {frame[:1]!r}")


def _json_object(frame: bytes, required: tuple[str, ...]) -> dict[str, Any]:
    try:
        doc = orjson.loads(frame[1:])
    except orjson.JSONDecodeError:
        raise MalformedFrame(f"{frame[:1].decode()} frame body is not JSON") from None
    if not isinstance(doc, dict):
        raise MalformedFrame(f"{frame[:1].decode()} frame body is not a JSON object")
    missing = [key for key in required if key not in doc]
    if missing:
        raise MalformedFrame(f"{frame[:1].decode()} frame lacks {', '.join(missing)}")
    return doc


def _text(raw: bytes, what: str) -> str:
    try:
        return raw.decode()
    except UnicodeDecodeError:
        raise MalformedFrame(f"{what} is not UTF-8") from None


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _int(value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise MalformedFrame("ping/pong sequence number is an integer")
    return value


def _float(value: object) -> float:
    if not _is_number(value):
        raise MalformedFrame("ping/pong clock is a number")
    return float(value)  # type: ignore[arg-type]
