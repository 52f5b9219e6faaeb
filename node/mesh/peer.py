"""One build of one pair: an RTCPeerConnection and its single data channel (the aiortc edge).

Rules this module keeps (measured with aiortc 1.16, see DESIGN.md "Mesh rules"):

* The channel is negotiated out of band (``negotiated=True``, id 0, reliable, ordered), so
  both sides can send the moment it opens; nobody waits for a DCEP open message.
* ICE servers are always explicit, and host candidates come from :mod:`ifmesh.node.mesh.ice`.
* aiortc has no rollback or restartIce: a link is used for one negotiation only. A failed
  link is closed and a new one built (the mesh bumps the pair's epoch).
* One writer order: every frame to the peer goes through the link's
  :class:`~node.mesh.outbox.Outbox` (``enqueue``, ``send``, ``try_send``), which keeps the
  order of the calls on the wire and applies backpressure (high-water mark, woken by
  ``bufferedamountlow``, never by polling; large messages paced chunk by chunk).
* Drain: ``pc.close()`` right after ``send()`` can lose queued data, so :meth:`drain` waits for
  the queue and ``bufferedAmount == 0`` first (bounded).
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
from ifmesh.node.mesh.framing import CHUNK_THRESHOLD
from ifmesh.node.mesh.outbox import Outbox
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
        self._host_addresses = host_addresses
        self._on_closed = on_closed
        self._closed_reason: str | None = None
        self.opened = asyncio.Event()
        self.ended = asyncio.Event()
        self._on_open = on_open
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=list(ice_servers)))
        self.channel = self.pc.createDataChannel(
            CHANNEL_LABEL, negotiated=True, id=CHANNEL_ID, ordered=True
        )
        self.outbox = Outbox(
            self.channel, peer, high_water=high_water, low_water=low_water,
            batch_limit=batch_limit,
        )  # fmt: skip
        # Every frame to the peer goes through the outbox, in one order (see node.mesh.outbox):
        # bound here so the per-message path costs no extra call.
        self.enqueue = self.outbox.enqueue
        self.try_send = self.outbox.try_send
        self.send = self.outbox.send
        self.channel.on("open", self._opened)
        self.channel.on("message", on_frame)
        self.channel.on("bufferedamountlow", self.outbox.on_low)
        self.channel.on("close", lambda: self._end("channel closed"))
        self.pc.on("connectionstatechange", self._on_state)

    @property
    def is_open(self) -> bool:
        return self._closed_reason is None and self.channel.readyState == "open"

    def _opened(self) -> None:
        if self._closed_reason is None:
            self.opened.set()
            self.outbox.opened()  # frames queued before the channel opened leave first
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

    # --- sending: one ordered queue per link (node.mesh.outbox) ----------------------------

    @property
    def buffered(self) -> int:
        """Bytes accepted but not yet handed to SCTP (aiortc's queue, our batch, the queue)."""
        return self.outbox.buffered

    async def drain(self, timeout: float) -> bool:
        """Waits until every queued byte was handed to SCTP; False if it timed out or closed."""
        return await self.outbox.drain(timeout)

    @property
    def ice_pair(self) -> str | None:
        """The candidate pair ICE nominated, ``TYPE HOST:PORT -> TYPE HOST:PORT`` (local, then
        remote; TYPE is host, srflx, prflx or relay), None before one is. aiortc has no
        getStats for it, so it is read from aioice's connection; a read only, for operators
        and the TURN test (is this pair going through the relay?)."""
        ice_transport = self.pc.sctp.transport.transport if self.pc.sctp is not None else None
        connection = getattr(ice_transport, "_connection", None)
        nominated = getattr(connection, "_nominated", {}).get(1)
        if nominated is None:
            return None
        local, remote = nominated.local_candidate, nominated.remote_candidate
        return (
            f"{local.type} {local.host}:{local.port} -> {remote.type} {remote.host}:{remote.port}"
        )

    # --- ending ------------------------------------------------------------------------------

    def _on_state(self) -> None:
        state = self.pc.connectionState
        if state in ("failed", "closed"):
            self._end(f"connection {state}")

    def _end(self, reason: str) -> None:
        if self._closed_reason is not None:
            return
        self._closed_reason = reason
        self.outbox.end(reason)  # waiting senders are told the link ended
        self.ended.set()
        log.debug("link_ended", peer=self.peer, epoch=self.epoch, reason=reason)
        self._on_closed(reason)

    async def close(self) -> None:
        """Closes the connection; the link reports its end once (reason: closed locally)."""
        self._end("closed locally")
        await self.pc.close()
