"""Reading frames: one peer's data-channel messages turned into events.

The frame format is described in :mod:`ifmesh.node.mesh.framing`. Use:
``reader.receive_frame(data)``
then ``for event in reader.events(): ...``, or ``reader.read(data)`` for both at once. Chunks
are reassembled here (bounded), batches unpacked, and a bad frame becomes a
:class:`~node.mesh.framing.FrameRejected` event counted in ``malformed``: the reader never
raises on bad input.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import orjson

from ifmesh.node.errors import ProtocolError
from ifmesh.node.mesh.errors import MalformedFrame
from ifmesh.node.mesh.framing import (
    BATCH_LENGTH,
    CHUNK_HEADER,
    KIND_ACK,
    KIND_BATCH,
    KIND_BYE,
    KIND_CAUGHT_UP,
    KIND_CHUNK,
    KIND_HINT,
    KIND_NACK,
    KIND_PING,
    KIND_PONG,
    REPLY_HEADER,
    AckArrived,
    ByeArrived,
    CaughtUpArrived,
    Delivery,
    FrameEvent,
    FrameRejected,
    HintArrived,
    Limits,
    MessageArrived,
    NackArrived,
    PingArrived,
    PongArrived,
)
from ifmesh.node.protocol import codec

# A reassembled frame holds an IFMessage plus at most a kind byte and a reply header.
_HEADER_ROOM = 1 + REPLY_HEADER.size + 4 * 4096
# Several transfers may interleave only if a sender interleaves them; ours never does, so a
# few partial transfers are plenty and the bound keeps a hostile peer from hoarding memory.
_MAX_PARTIAL_TRANSFERS = 4
_MESSAGE_KINDS = {d.value[0]: d for d in Delivery}
# Enum members go through Python-level descriptors; the per-message path uses a plain
# module constant instead.
_REPLY = Delivery.REPLY


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
            if position + BATCH_LENGTH.size > len(frame):
                raise MalformedFrame("batch frame ends inside a length")
            (length,) = BATCH_LENGTH.unpack_from(frame, position)
            position += BATCH_LENGTH.size
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
        if len(frame) <= CHUNK_HEADER.size + 1:
            raise MalformedFrame("chunk frame without a piece")
        transfer_id, index, count = CHUNK_HEADER.unpack_from(frame, 1)
        piece = frame[1 + CHUNK_HEADER.size :]
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
            if len(body) < REPLY_HEADER.size:
                raise MalformedFrame("reply frame without its request id")
            (length,) = REPLY_HEADER.unpack_from(body)
            raw_id = bytes(body[REPLY_HEADER.size : REPLY_HEADER.size + length])
            if length == 0 or len(raw_id) != length:
                raise MalformedFrame("reply frame with a truncated request id")
            in_reply_to = _text(raw_id, "request id")
            body = body[REPLY_HEADER.size + length :]
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
        if kind == KIND_HINT:
            doc = _json_object(frame, ("topic", "data"))
            if not isinstance(doc["topic"], str) or not isinstance(doc["data"], dict):
                raise MalformedFrame("a hint's topic is a string and its data a JSON object")
            return HintArrived(doc["topic"], doc["data"])
        if kind == KIND_CAUGHT_UP:
            doc = _json_object(frame, ("n",))
            count = doc["n"]
            if not isinstance(count, int) or isinstance(count, bool) or count < 0:
                raise MalformedFrame("a caught-up frame counts its messages (an integer >= 0)")
            return CaughtUpArrived(count)
        if kind == KIND_ACK:
            if len(frame) == 1:
                raise MalformedFrame("ack frame without an id")
            return AckArrived(_text(frame[1:], "ack id"))
        if kind == KIND_NACK:
            if len(frame) == 1:
                raise MalformedFrame("nack frame without an id")
            return NackArrived(_text(frame[1:], "nack id"))
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
