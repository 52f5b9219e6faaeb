"""Writing frames: one IFMessage as one frame or as chunks, transport frames, batches.

The frame format is described in :mod:`ifmesh.node.mesh.framing`. Every method returns the frames
(bytes) to send, in order; a message is encoded once and its frames are the same for every peer.
"""

from __future__ import annotations

import orjson

from ifmesh.node.mesh.errors import MalformedFrame
from ifmesh.node.mesh.framing import BATCH_LENGTH, CHUNK_HEADER, REPLY_HEADER, Delivery, Limits

# Enum members and .value go through Python-level descriptors; the per-message path uses
# these plain module constants instead.
_KIND_BYTES = {d: d.value for d in Delivery}
_REPLY = Delivery.REPLY


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
            frame = b"R" + REPLY_HEADER.pack(len(reply_id)) + reply_id + encoded
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
            b"C" + CHUNK_HEADER.pack(self._transfer, index, count) + frame[start : start + size]
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
    def hint(topic: str, data: dict[str, object]) -> bytes:
        return b"H" + orjson.dumps({"topic": topic, "data": data})

    @staticmethod
    def caught_up(count: int) -> bytes:
        return b"U" + orjson.dumps({"n": count})

    @staticmethod
    def ack(message_id: str) -> bytes:
        return b"A" + message_id.encode()

    @staticmethod
    def nack(message_id: str) -> bytes:
        return b"X" + message_id.encode()

    @staticmethod
    def batch(frames: list[bytes]) -> bytes:
        """One ``N`` frame carrying ``frames`` (none of them a chunk or a batch)."""
        return b"N" + b"".join(BATCH_LENGTH.pack(len(f)) + f for f in frames)
