"""One build of one pair: an RTCPeerConnection and its single data channel (the aiortc edge).

Rules this module keeps (measured with aiortc 1.16, see DESIGN.md "Mesh rules"):

* The channel is negotiated out of band (``negotiated=True``, id 0, reliable, ordered), so
  both sides can send the moment it opens; nobody waits for a DCEP open message.
* ICE servers are always explicit, and host candidates come from :mod:`ifmesh.node.mesh.ice`.
* aiortc has no rollback or restartIce: a link is used for one negotiation only. A failed
  link is closed and a new one built (the mesh bumps the pair's epoch).
* Backpressure: :meth:`PeerLink.send` waits while the channel's ``bufferedAmount`` is above the
  high-water mark, and is woken by ``bufferedamountlow`` (not by polling); large messages are
  paced chunk by chunk.
* Drain: ``pc.close()`` right after ``send()`` can lose queued data, so :meth:`drain` waits for
  ``bufferedAmount == 0`` first (bounded).
* aiortc accepts an SDP without a fingerprint or without ICE credentials; :func:`check_sdp`
  (built on :mod:`ifmesh.node.sdp`'s checks) refuses those before aiortc sees them.
"""

from __future__ import annotations

import asyncio
import enum
from collections.abc import Callable, Sequence
from typing import Literal

import structlog
from aiortc import (
    RTCConfiguration,
    RTCIceCandidate,
    RTCIceServer,
    RTCPeerConnection,
    RTCSessionDescription,
)
from aiortc.exceptions import InvalidStateError

from ifmesh.node.errors import SdpError
from ifmesh.node.mesh import ice
from ifmesh.node.mesh.errors import PeerUnavailable
from ifmesh.node.mesh.frame_writer import FrameWriter
from ifmesh.node.mesh.framing import BATCH_OVERHEAD, CHUNK_THRESHOLD, KIND_CHUNK
from ifmesh.node.sdp.checks import check
from ifmesh.node.sdp.parse import parse_sdp

log = structlog.get_logger(__name__)

CHANNEL_LABEL = "ifmesh"
CHANNEL_ID = 0
# Small on purpose: every byte queued here sits in front of the next ping. Under load aiortc
# moves well under 100 KB/s per association, so 64 KiB is about a second of backlog at most.
DEFAULT_HIGH_WATER = 64 * 1024
DEFAULT_LOW_WATER = 16 * 1024


class Role(enum.Enum):
    OFFERER = "offerer"
    ANSWERER = "answerer"


def role_towards(local: str, remote: str) -> Role:
    """The peer with the lower session id offers (both sides compute the same answer)."""
    return Role.OFFERER if local < remote else Role.ANSWERER


def check_sdp(sdp: str, kind: Literal["offer", "answer"]) -> None:
    """Refuses SDPs aiortc would accept but that cannot give an authenticated data channel
    (node.sdp's checks: fingerprint, ICE credentials, BUNDLE, ...) or that carry no channel."""
    description = parse_sdp(sdp)
    check(description, kind)
    if not any(media.kind == "application" and media.port != 0 for media in description.media):
        raise SdpError(f"{kind} has no active m=application section: it offers no data channel")


class PeerLink:
    """One RTCPeerConnection with the mesh's data channel; reports frames and its end."""

    def __init__(
        self,
        *,
        peer: str,
        epoch: int,
        role: Role,
        ice_servers: Sequence[RTCIceServer],
        host_addresses: Sequence[str] | None,
        on_frame: Callable[[bytes | str], None],
        on_open: Callable[[], None],
        on_closed: Callable[[str], None],
        high_water: int = DEFAULT_HIGH_WATER,
        low_water: int = DEFAULT_LOW_WATER,
        batch_limit: int = CHUNK_THRESHOLD,
    ) -> None:
        self.peer = peer
        self.epoch = epoch
        self.role = role
        self.high_water = high_water
        self.batch_limit = batch_limit
        self._host_addresses = host_addresses
        self._on_closed = on_closed
        self._closed_reason: str | None = None
        self.opened = asyncio.Event()
        self.ended = asyncio.Event()
        self._on_open = on_open
        self._writable = asyncio.Event()
        self._drained = asyncio.Event()
        self._send_lock = asyncio.Lock()
        self._waiting_senders = 0
        self._pending: list[bytes] = []  # frames waiting to leave as one batch
        self._pending_size = 0
        self._flush_handle: asyncio.Handle | None = None
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=list(ice_servers)))
        self.channel = self.pc.createDataChannel(
            CHANNEL_LABEL, negotiated=True, id=CHANNEL_ID, ordered=True
        )
        self.channel.bufferedAmountLowThreshold = low_water
        self.channel.on("open", self._opened)
        self.channel.on("message", on_frame)
        self.channel.on("bufferedamountlow", self._on_low)
        self.channel.on("close", lambda: self._end("channel closed"))
        self.pc.on("connectionstatechange", self._on_state)

    @property
    def is_open(self) -> bool:
        return self._closed_reason is None and self.channel.readyState == "open"

    @property
    def buffered(self) -> int:
        """Bytes accepted but not yet handed to SCTP (in aiortc's queue or our batch)."""
        return int(self.channel.bufferedAmount) + self._pending_size

    def _opened(self) -> None:
        if self._closed_reason is None:
            self.opened.set()
            self._on_open()

    async def wait_open(self, timeout: float) -> bool:
        """True once the channel is open; False if the link ended or ``timeout`` passed."""
        if self.opened.is_set():
            return self.is_open
        opened = asyncio.ensure_future(self.opened.wait())
        ended = asyncio.ensure_future(self.ended.wait())
        try:
            await asyncio.wait((opened, ended), timeout=timeout, return_when="FIRST_COMPLETED")
        finally:
            opened.cancel()
            ended.cancel()
        return self.is_open

    # --- negotiation ---------------------------------------------------------------------

    async def create_offer(self) -> str:
        with ice.gather_from(self._host_addresses):
            await self.pc.setLocalDescription(await self.pc.createOffer())
        return str(self.pc.localDescription.sdp)

    async def accept_offer(self, sdp: str) -> str:
        """Applies the remote offer and returns our answer (all candidates included)."""
        check_sdp(sdp, "offer")
        await self._set_remote(sdp, "offer")
        with ice.gather_from(self._host_addresses):
            await self.pc.setLocalDescription(await self.pc.createAnswer())
        return str(self.pc.localDescription.sdp)

    async def accept_answer(self, sdp: str) -> None:
        check_sdp(sdp, "answer")
        await self._set_remote(sdp, "answer")

    async def add_candidate(self, candidate: RTCIceCandidate | None) -> None:
        """A trickled candidate (None: end of candidates); only after the remote description."""
        try:
            await self.pc.addIceCandidate(candidate)
        except (ValueError, InvalidStateError) as exc:
            raise SdpError(f"candidate not applicable: {exc}") from None

    async def _set_remote(self, sdp: str, kind: str) -> None:
        try:
            await self.pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type=kind))
        except (ValueError, InvalidStateError) as exc:
            raise SdpError(f"{kind} refused by aiortc: {exc}") from None

    # --- sending -----------------------------------------------------------------------------

    def try_send(self, frames: Sequence[bytes], size: int = -1) -> bool:
        """Sends at once if nobody is waiting and ``frames`` (``size`` bytes in all, counted
        here if not given) fit under the mark; else False. PeerUnavailable if not open."""
        if size < 0:
            size = sum(map(len, frames))
        channel = self.channel
        buffered = channel.bufferedAmount
        if self._waiting_senders or buffered + self._pending_size + size > self.high_water:
            return False
        if buffered == 0 and not self._pending and len(frames) == 1:
            # The usual case on every message's path: an idle channel takes the frame as is
            # (aiortc raises InvalidStateError itself unless the channel is open).
            if self._closed_reason is not None:
                self._check_open()
            try:
                channel.send(frames[0])
            except InvalidStateError:
                raise PeerUnavailable(f"channel to {self.peer} closed while sending") from None
            return True
        self._send_now(frames)
        return True

    async def send(self, frames: Sequence[bytes]) -> None:
        """Sends ``frames`` back to back (FIFO among senders), each once there is room.

        Pacing the chunks of a large message, rather than queueing them all, bounds what sits
        in front of the next frame: a peer waits at most high_water / throughput to hear from
        us, which keeps a busy link from looking silent (dead) to the peer's liveness.
        """
        if self.try_send(frames):
            return
        self._waiting_senders += 1
        try:
            async with self._send_lock:
                for frame in frames:
                    while self.buffered + len(frame) > self.high_water and self.buffered > 0:
                        self._check_open()
                        self._writable.clear()
                        await self._writable.wait()
                    self._send_now((frame,))
        finally:
            self._waiting_senders -= 1

    def _send_now(self, frames: Sequence[bytes]) -> None:
        self._check_open()
        try:
            for frame in frames:
                self._queue(frame)
        except InvalidStateError:
            raise PeerUnavailable(f"channel to {self.peer} closed while sending") from None

    def _queue(self, frame: bytes) -> None:
        # An idle channel sends at once (no added latency); a busy one coalesces what is sent
        # in the same loop iteration into one batch frame (see node.mesh.framing).
        if not self._pending and self.channel.bufferedAmount == 0:
            self.channel.send(frame)
            return
        size = len(frame) + BATCH_OVERHEAD
        if frame[0] == KIND_CHUNK or size > self.batch_limit:
            self._flush()
            self.channel.send(frame)
            return
        if self._pending_size + size > self.batch_limit:
            self._flush()
        self._pending.append(frame)
        self._pending_size += size
        if self._flush_handle is None:
            self._flush_handle = asyncio.get_running_loop().call_soon(self._flush)

    def _flush(self) -> None:
        if self._flush_handle is not None:
            self._flush_handle.cancel()
            self._flush_handle = None
        pending, self._pending, self._pending_size = self._pending, [], 0
        if not pending or self.channel.readyState != "open":
            return  # nothing to send, or the link ended: unsent data is lost with it
        self.channel.send(pending[0] if len(pending) == 1 else FrameWriter.batch(pending))

    def _check_open(self) -> None:
        if not self.is_open:
            reason = self._closed_reason or "not open yet"
            raise PeerUnavailable(f"no open channel to {self.peer} ({reason})")

    def _on_low(self) -> None:
        self._writable.set()
        if self.channel.bufferedAmount == 0:
            self._drained.set()

    async def drain(self, timeout: float) -> bool:
        """Waits until every queued byte was handed to SCTP; False if it timed out or closed."""
        if self.is_open:
            self._flush()
        if self.channel.bufferedAmount == 0:
            return True
        if not self.is_open:
            return False
        # bufferedamountlow fires when the amount crosses the threshold: lower it to 0 so the
        # event marks the empty buffer, then restore it for backpressure.
        previous = self.channel.bufferedAmountLowThreshold
        self.channel.bufferedAmountLowThreshold = 0
        self._drained.clear()
        try:
            async with asyncio.timeout(timeout):
                while self.channel.bufferedAmount > 0 and self.is_open:
                    await self._drained.wait()
                    self._drained.clear()
        except TimeoutError:
            return False
        finally:
            self.channel.bufferedAmountLowThreshold = previous
        return self.channel.bufferedAmount == 0

    # --- ending ------------------------------------------------------------------------------

    def _on_state(self) -> None:
        state = self.pc.connectionState
        if state in ("failed", "closed"):
            self._end(f"connection {state}")

    def _end(self, reason: str) -> None:
        if self._closed_reason is not None:
            return
        self._closed_reason = reason
        self._writable.set()  # wake blocked senders: they will find the link closed
        self._drained.set()
        self.ended.set()
        log.debug("link_ended", peer=self.peer, epoch=self.epoch, reason=reason)
        self._on_closed(reason)

    async def close(self) -> None:
        """Closes the connection; the link reports its end once (reason: closed locally)."""
        self._end("closed locally")
        await self.pc.close()
