"""The one ordered queue of frames to a peer, for one build of the pair (one PeerLink).

Why it exists: a claim is won on the mesh only if every member acked it and no lower-ordered
competing claim arrived first (DESIGN.md, "Data flow of one claim"). That holds only if a peer's
frames — its events, its catch-up replay, its acks — reach us in the order the peer produced
them: a competing claim it sent before it received ours must arrive before its ack of ours.
aiortc's channel is FIFO, but we keep its buffer small (every queued byte delays the next ping),
so a frame that finds it full has to wait somewhere; if it waited in a task of its own, or were
dropped, a later frame could overtake it. Here every frame either goes to the channel at once or
joins the end of one queue, synchronously, so the order on the wire is the order of the calls.

Rules:

* :meth:`Outbox.enqueue` never drops and is never overtaken: the frames go to the channel now if
  nothing waits and they fit under ``high_water``, else they wait here, in order, and leave as
  ``bufferedamountlow`` makes room. A large message is paced chunk by chunk rather than handed
  to aiortc whole, which bounds what sits in aiortc's buffer to ``high_water``: the peer hears
  our data at least every high_water / throughput, so a busy link never looks silent to its
  liveness. Frames queued before the channel opens leave when it opens. When the link ends,
  what waits is lost with it (those frames belonged to that pair epoch) and their senders get
  :class:`~node.mesh.errors.PeerUnavailable`.
* :meth:`Outbox.try_send` is for frames that may be skipped (pings, pongs, hints): only if nothing
  waits, the channel is open and there is room; it never overtakes a waiting frame.
* Busy channel: what is handed over in one loop iteration is coalesced into one batch frame
  (see :mod:`ifmesh.node.mesh.framing`) instead of one SCTP packet per frame.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Sequence
from typing import Protocol

from aiortc.exceptions import InvalidStateError

from ifmesh.node.mesh.errors import PeerUnavailable
from ifmesh.node.mesh.frame_writer import FrameWriter
from ifmesh.node.mesh.framing import BATCH_OVERHEAD, KIND_CHUNK


class Channel(Protocol):
    """What the outbox needs of a data channel (aiortc's RTCDataChannel, or a test double);
    the names are the W3C API's."""

    @property
    def bufferedAmount(self) -> int: ...
    @property
    def bufferedAmountLowThreshold(self) -> int: ...
    @bufferedAmountLowThreshold.setter
    def bufferedAmountLowThreshold(self, value: int) -> None: ...
    @property
    def readyState(self) -> str: ...
    def send(self, data: bytes) -> None: ...


_Waiting = tuple[bytes, "asyncio.Future[None] | None"]


class Outbox:
    """Frames to one peer over one channel, in the order they were handed over."""

    def __init__(
        self, channel: Channel, peer: str, *, high_water: int, low_water: int, batch_limit: int
    ) -> None:
        self.channel = channel
        self.peer = peer
        self.high_water = high_water
        self.batch_limit = batch_limit
        channel.bufferedAmountLowThreshold = low_water
        self._waiting: deque[_Waiting] = deque()  # frames that found no room, oldest first
        self._waiting_size = 0
        self._pending: list[bytes] = []  # frames handed over, leaving as one batch
        self._pending_size = 0
        self._flush_handle: asyncio.Handle | None = None
        self._drained = asyncio.Event()
        self._ended: str | None = None
        self._pumping = False

    @property
    def buffered(self) -> int:
        """Bytes accepted but not yet handed to SCTP (aiortc's queue, our batch, the queue)."""
        return int(self.channel.bufferedAmount) + self._pending_size + self._waiting_size

    @property
    def waiting(self) -> tuple[bytes, ...]:
        """Frames waiting for room or for the channel to open, oldest first."""
        return tuple(frame for frame, _ in self._waiting)

    # --- handing frames over -------------------------------------------------------------------

    def try_send(self, frames: Sequence[bytes], size: int = -1) -> bool:
        """Sends at once if nothing waits, the channel is open and ``frames`` (``size`` bytes
        in all, counted here if not given) fit under the mark; else False. PeerUnavailable if
        the link has ended."""
        if size < 0:
            size = sum(map(len, frames))
        channel = self.channel
        buffered = channel.bufferedAmount
        if self._waiting or buffered + self._pending_size + size > self.high_water:
            return False
        if buffered == 0 and not self._pending and len(frames) == 1:
            # The usual case on every message's path: an idle channel takes the frame as is
            # (aiortc raises InvalidStateError itself unless the channel is open).
            if self._ended is not None:
                self._check_open()
            try:
                channel.send(frames[0])
            except InvalidStateError:
                return False  # not open yet
            return True
        self._check_open()
        if channel.readyState != "open":
            return False
        for frame in frames:
            self._hand_over(frame)
        return True

    def enqueue(
        self, frames: Sequence[bytes], size: int = -1, *, track: bool = False
    ) -> asyncio.Future[None] | None:
        """Hands ``frames`` over in order behind everything handed over before: to the channel
        now if it can take them, else to the queue. Never dropped while the link lives.

        Returns None when they went to the channel at once; otherwise, with ``track``, a future
        done once the last of them has been handed to the channel (failing with PeerUnavailable
        if the link ends first). PeerUnavailable at once if the link has ended."""
        if not self._waiting and self.try_send(frames, size):
            return None
        self._check_open()
        done = asyncio.get_running_loop().create_future() if track else None
        last = len(frames) - 1
        for index, frame in enumerate(frames):
            self._waiting.append((frame, done if index == last else None))
            self._waiting_size += len(frame)
        self._pump()
        return done

    async def send(self, frames: Sequence[bytes]) -> None:
        """:meth:`enqueue`, then waits until the frames were handed to the channel."""
        done = self.enqueue(frames, track=True)
        if done is not None:
            await done

    # --- the queue -------------------------------------------------------------------------

    def _pump(self) -> None:
        """Moves waiting frames to the channel while there is room (never re-entered)."""
        if self._pumping or self._ended is not None or self.channel.readyState != "open":
            return
        self._pumping = True
        try:
            channel, waiting = self.channel, self._waiting
            while waiting:
                frame, done = waiting[0]
                in_flight = channel.bufferedAmount + self._pending_size
                full = in_flight > 0 and in_flight + len(frame) > self.high_water
                # Wait for room only if something will wake us: the channel crossing its
                # low-water mark (bufferedamountlow), or the batch about to be flushed.
                if full and (self._pending or channel.bufferedAmount > self._low_mark()):
                    return
                waiting.popleft()
                self._waiting_size -= len(frame)
                self._hand_over(frame)
                if done is not None and not done.done():
                    done.set_result(None)
        except InvalidStateError:
            self.end("channel closed while sending")
        finally:
            self._pumping = False

    def _hand_over(self, frame: bytes) -> None:
        # An idle channel sends at once (no added latency); a busy one coalesces what is handed
        # over in the same loop iteration into one batch frame (see node.mesh.framing).
        if not self._pending and self.channel.bufferedAmount == 0:
            self.channel.send(frame)
            return
        size = len(frame) + BATCH_OVERHEAD
        if frame[0] == KIND_CHUNK or size > self.batch_limit:
            self._flush_batch()
            self.channel.send(frame)
            return
        if self._pending_size + size > self.batch_limit:
            self._flush_batch()
        self._pending.append(frame)
        self._pending_size += size
        if self._flush_handle is None:
            self._flush_handle = asyncio.get_running_loop().call_soon(self._flush_later)

    def _flush_batch(self) -> None:
        if self._flush_handle is not None:
            self._flush_handle.cancel()
            self._flush_handle = None
        pending, self._pending, self._pending_size = self._pending, [], 0
        if not pending or self.channel.readyState != "open":
            return  # nothing to send, or the link ended: unsent data is lost with it
        self.channel.send(pending[0] if len(pending) == 1 else FrameWriter.batch(pending))

    def _flush_later(self) -> None:
        self._flush_handle = None
        try:
            self._flush_batch()
        except InvalidStateError:
            self.end("channel closed while sending")
            return
        self._pump()

    def _low_mark(self) -> int:
        return int(self.channel.bufferedAmountLowThreshold)

    def _check_open(self) -> None:
        """PeerUnavailable if the link ended (frames may wait for a channel not open yet)."""
        if self._ended is not None:
            raise PeerUnavailable(f"no open channel to {self.peer} ({self._ended})")

    # --- channel events --------------------------------------------------------------------

    def opened(self) -> None:
        """The channel opened: what was queued before leaves now, first."""
        self._pump()

    def on_low(self) -> None:
        """``bufferedamountlow``: room again."""
        self._pump()
        if self.channel.bufferedAmount == 0 and not self._waiting:
            self._drained.set()

    def end(self, reason: str) -> None:
        """The link ended: waiting frames are lost with it; their senders are told."""
        if self._ended is not None:
            return
        self._ended = reason
        self._drained.set()
        waiting, self._waiting, self._waiting_size = self._waiting, deque(), 0
        for _, done in waiting:
            if done is not None and not done.done():
                done.set_exception(PeerUnavailable(f"channel to {self.peer} ended ({reason})"))
                done.exception()  # retrieved: a sender that stopped waiting logs nothing

    async def drain(self, timeout: float) -> bool:
        """Waits until every frame was handed to SCTP; False if it timed out or the link ended."""
        if self._ended is None and self.channel.readyState == "open":
            self._flush_batch()
            self._pump()
        if self.channel.bufferedAmount == 0 and not self._waiting:
            return True
        if self._ended is not None:
            return False
        # bufferedamountlow fires when the amount crosses the threshold: lower it to 0 so the
        # event marks the empty buffer, then restore it for backpressure.
        channel = self.channel
        previous = channel.bufferedAmountLowThreshold
        channel.bufferedAmountLowThreshold = 0
        self._drained.clear()
        try:
            async with asyncio.timeout(timeout):
                while (channel.bufferedAmount > 0 or self._waiting) and self._ended is None:
                    await self._drained.wait()
                    self._drained.clear()
        except TimeoutError:
            return False
        finally:
            channel.bufferedAmountLowThreshold = previous
        return channel.bufferedAmount == 0 and not self._waiting
