"""One client's WebSocket as the server sees it: its state, its token bucket and its outbox.

Frames to a client go through a bounded outbox drained by one writer task, so a client that
stops reading slows nobody else: once its outbox holds ``send_queue`` frames it is closed as a
slow consumer. Closing is a frame like any other, queued after whatever was sent before it, so
an ``error`` or ``server-closing`` frame always arrives before the close.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from aiohttp import WSCloseCode, web

from ifmesh.signaling import errors
from ifmesh.signaling.limits import TokenBucket
from ifmesh.signaling.protocol import Frame, Role, encode_frame, error_frame

__all__ = ["Connection", "FrameSocket"]

log = logging.getLogger(__name__)

# Seconds a slow consumer gets to start reading its error frame before it is cut off.
SLOW_CONSUMER_GRACE = 2.0


class FrameSocket(web.WebSocketResponse):
    """aiohttp closes a connection itself when a frame breaks the WebSocket layer (too large,
    invalid UTF-8 text, a protocol violation) before the application sees the frame; this
    sends the matching ``error`` frame first, as the protocol promises."""

    frame_limit: int = 0
    on_refused: Callable[[str], None] | None = None

    async def close(
        self, *, code: int = WSCloseCode.OK, message: bytes = b"", drain: bool = True
    ) -> bool:
        error = self._transport_error(code)
        if error is not None and not self.closed:
            if self.on_refused is not None:
                self.on_refused(error.code)
            # If the peer is already gone, closing is all that is left to do.
            with contextlib.suppress(ConnectionError, RuntimeError):
                await self.send_str(encode_frame(error_frame(error)))
        return await super().close(code=code, message=message, drain=drain)

    def _transport_error(self, code: int) -> errors.SignalingError | None:
        if code == WSCloseCode.MESSAGE_TOO_BIG:
            return errors.FrameTooLarge(f"frame exceeds the limit of {self.frame_limit} bytes")
        if code == WSCloseCode.INVALID_TEXT:
            return errors.MalformedFrame("text frame is not valid UTF-8")
        if code == WSCloseCode.PROTOCOL_ERROR:
            return errors.MalformedFrame("WebSocket protocol violation")
        return None


@dataclass(frozen=True)
class _Close:
    code: int
    reason: str


@dataclass(frozen=True)
class _Outgoing:
    text: str
    # Wall-clock time the relayed frame reached the server, for the latency histogram.
    received_at: float | None


class Connection:
    def __init__(
        self,
        conn_id: str,
        ws: web.WebSocketResponse,
        bucket: TokenBucket,
        *,
        send_queue: int,
        on_error: Callable[[str], None],
        on_relay_sent: Callable[[float], None],
        transport: asyncio.Transport | None = None,
    ) -> None:
        self.id = conn_id
        self.ws = ws
        self.bucket = bucket
        self.room: str | None = None
        self.session: str | None = None
        self.capabilities: tuple[str, ...] = ()
        self.role: Role = "node"
        self.joining = False
        # The roster version this client has seen; older roster changes are not sent to it.
        self.roster_version = 0
        # Removed from its room by someone else (replaced, expired): already announced.
        self.evicted = False
        self._send_queue = send_queue
        self._transport = transport
        self._on_error = on_error
        self._on_relay_sent = on_relay_sent
        self._outbox: deque[_Outgoing | _Close] = deque()
        self._wakeup = asyncio.Event()
        self._closing = False
        self.writer = asyncio.get_running_loop().create_task(self._drain(), name=f"ws-{conn_id}")

    @property
    def joined(self) -> bool:
        return self.room is not None

    @property
    def closing(self) -> bool:
        return self._closing

    def send(self, frame: Frame) -> None:
        self.send_text(encode_frame(frame))

    def send_text(self, text: str, *, received_at: float | None = None) -> None:
        if self._closing:
            return
        if len(self._outbox) >= self._send_queue:
            log.warning(
                "slow_consumer conn=%s session=%s room=%s", self.id, self.session, self.room
            )
            self.send_error(
                errors.SlowConsumer(
                    f"{self._send_queue} frames were waiting for this client to read them"
                )
            )
            # The error and the close wait behind what the client does not read; if it does
            # not start reading soon, nothing will reach it: cut the connection instead.
            asyncio.get_running_loop().call_later(SLOW_CONSUMER_GRACE, self._abort_if_stuck)
            return
        self._enqueue(_Outgoing(text, received_at))

    def send_error(self, error: errors.SignalingError, *, ref: str | None = None) -> None:
        """Sends the error frame; closes after it when the error ends the connection."""
        if self._closing:
            return
        self._on_error(error.code)
        self._enqueue(_Outgoing(encode_frame(error_frame(error, ref=ref)), None))
        if error.close_code is not None:
            self.close(error.close_code, error.code)

    def close(self, code: int, reason: str) -> None:
        if not self._closing:
            self._enqueue(_Close(code, reason))

    def _abort_if_stuck(self) -> None:
        if not self.writer.done():
            log.warning("slow_consumer_aborted conn=%s session=%s", self.id, self.session)
            self.writer.cancel()
            if self._transport is not None:
                self._transport.abort()

    async def wait_closed(self, timeout: float) -> None:
        # asyncio.wait, not wait_for: a writer cancelled by _abort_if_stuck must not raise
        # CancelledError into the caller's cleanup.
        await asyncio.wait({self.writer}, timeout=timeout)
        if not self.writer.done():
            self.writer.cancel()

    def _enqueue(self, item: _Outgoing | _Close) -> None:
        if isinstance(item, _Close):
            self._closing = True
        self._outbox.append(item)
        self._wakeup.set()

    async def _drain(self) -> None:
        try:
            while True:
                await self._wakeup.wait()
                self._wakeup.clear()
                while self._outbox:
                    item = self._outbox.popleft()
                    if isinstance(item, _Close):
                        await self.ws.close(code=item.code, message=item.reason.encode()[:120])
                        return
                    if self.ws.closed:
                        return
                    await self.ws.send_str(item.text)
                    if item.received_at is not None:
                        self._on_relay_sent(time.time() - item.received_at)
        except (ConnectionError, RuntimeError) as exc:
            # The socket died under us; the reader side notices and cleans up.
            log.debug("send failed conn=%s error=%s", self.id, exc)
