"""The pair with one remote peer: its builds over time, liveness, and the frames it receives.

A :class:`Pair` lives as long as the peer matters to us (it is in the room, or it offered);
each build of it is a :class:`~node.mesh.peer.PeerLink` numbered by an epoch. The offerer side
(lower session id) runs a loop: build, wait for the channel to open, wait for it to end, back
off, build again. The answerer builds when an offer with a newer epoch arrives, which also
retires the link it had (the peer restarted or rebuilt). Frames from anything but the current
link are ignored, so a late event from a retired link never touches the new one.

Each link gets one down report at most (``left`` for a bye, ``dead`` for silence or a closed
channel, ``replaced`` when a newer build takes its place).

A link is *opened* once, by its channel's open event or by its first frame, whichever comes
first (aiortc can deliver a DATA chunk that overtook the handshake's last packet before it
reports the channel open). Opening queues our catch-up (:mod:`ifmesh.node.mesh.catchup`) before
anything is read from the link, so every ack we send on it comes after our catch-up.

A pair reaches the rest of the node only through its :class:`LocalPeer` (in practice the
:class:`~node.mesh.mesh.Mesh`, which holds the pairs).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Sequence
from typing import Protocol

import structlog
from aiortc import RTCIceServer

from ifmesh.node.errors import ProtocolError, SdpError
from ifmesh.node.mesh import ice
from ifmesh.node.mesh.catchup import CatchUp
from ifmesh.node.mesh.config import MeshConfig
from ifmesh.node.mesh.errors import PeerUnavailable
from ifmesh.node.mesh.events import DownReason, PeerMetrics, PeerState
from ifmesh.node.mesh.frame_reader import FrameReader
from ifmesh.node.mesh.frame_writer import FrameWriter
from ifmesh.node.mesh.framing import (
    CaughtUpArrived,
    FrameEvent,
    MessageArrived,
    PingArrived,
    PongArrived,
)
from ifmesh.node.mesh.liveness import Liveness, PingDue, Presence, PresenceChanged
from ifmesh.node.mesh.peer import PeerLink, Role, role_towards
from ifmesh.node.mesh.reconnect import Backoff, PairEpochs
from ifmesh.signaling.protocol import Answer, Candidate, Offer

log = structlog.get_logger(__name__)


class MessageInbox(Protocol):
    """Where a pair hands each message it reads: called directly, as no wrapper belongs on the
    path every message takes."""

    def on_message(self, pair: Pair, link: PeerLink, event: MessageArrived) -> None: ...


class LocalPeer(Protocol):
    """This node's end of every pair: what a :class:`Pair` needs of the mesh that holds it.

    Named here, on the pair's side, so that the import points one way: the mesh imports its
    pairs, a pair never imports the mesh. It is the node's identity, configuration and clock,
    the signaling it negotiates through, the epochs it builds under, what it sends first on a
    new channel (its catch-up), and where it reports: its messages, its other frames, and the
    pair coming up, exchanging catch-up, turning suspect and going down.
    """

    @property
    def session(self) -> str: ...
    @property
    def config(self) -> MeshConfig: ...
    @property
    def rng(self) -> random.Random: ...
    @property
    def ice_servers(self) -> Sequence[RTCIceServer]: ...
    @property
    def epochs(self) -> PairEpochs: ...
    @property
    def inbox(self) -> MessageInbox: ...
    def now(self) -> float: ...
    async def signaling_joined(self) -> None: ...
    async def signal(self, frame: Offer | Answer | Candidate) -> bool: ...
    def catch_up_frames(self, peer: str) -> list[bytes] | None: ...
    def on_frame_event(self, pair: Pair, link: PeerLink, event: FrameEvent) -> None: ...
    def on_pair_up(self, pair: Pair) -> None: ...
    def on_pair_caught_up(self, pair: Pair) -> None: ...
    def on_pair_suspect(self, pair: Pair, silence: float) -> None: ...
    def on_pair_down(self, pair: Pair, reason: DownReason, detail: str) -> None: ...
    def close_later(self, link: PeerLink) -> None: ...


class Pair:
    def __init__(self, host: LocalPeer, peer: str) -> None:
        self.host = host
        self.peer = peer
        self.role = role_towards(host.session, peer)
        self.link: PeerLink | None = None
        self.liveness: Liveness | None = None
        self.reader = FrameReader(host.config.limits)
        self.metrics = PeerMetrics()
        self.backoff = Backoff(host.config.backoff, host.rng)
        self.in_room = True  # on the signaling roster (a rebuild needs it)
        self.left = False  # said bye: no rebuild until it joins again
        self.up = False  # current link open and not yet reported down
        self.catch_up: CatchUp | None = None  # of the current link, once opened
        self._opened: PeerLink | None = None  # the last link opened
        self._ever_up = False
        self._wake = asyncio.Event()
        self._link_ended = asyncio.Event()
        self._pending_candidates: list[Candidate] = []
        self._task: asyncio.Task[None] | None = None
        self._watchdogs: set[asyncio.Task[None]] = set()
        if self.role is Role.OFFERER:
            self._task = asyncio.create_task(self._offer_loop(), name=f"pair-{peer}")

    @property
    def is_open(self) -> bool:
        return self.up and self.link is not None and self.link.is_open

    @property
    def caught_up(self) -> bool:
        """Catch-up exchanged both ways on the current link (see node.mesh.catchup)."""
        return self.up and self.catch_up is not None and self.catch_up.exchanged

    def wake(self) -> None:
        """The roster changed in this peer's favour: rebuild now rather than after backoff."""
        self.backoff.reset()
        self._wake.set()

    # --- offerer ---------------------------------------------------------------------------

    async def _offer_loop(self) -> None:
        while True:
            self._wake.clear()
            if self.in_room and not self.left and self.link is None:
                await self.host.signaling_joined()
                try:
                    opened = await self._offer()
                except Exception:  # an aiortc failure must not end the loop: rebuild later
                    log.exception("offer_failed", peer=self.peer)
                    if self.link is not None:
                        self._retire(self.link, None, "offer failed")
                    opened = False
                if opened:
                    self.backoff.reset()
                    await self._link_ended.wait()
                delay = self.backoff.next_delay()
            else:
                delay = None
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(delay):
                    await self._wake.wait()

    async def _offer(self) -> bool:
        epoch = self.host.epochs.bump(self.peer)
        link = self._new_link(epoch)
        sdp = await link.create_offer()
        if self.link is not link:
            return False
        if not await self.host.signal(Offer(to=self.peer, epoch=epoch, sdp=sdp)):
            self._retire(link, None, "offer not sent: signaling unavailable")
            return False
        if not await link.wait_open(self.host.config.connect_timeout):
            self._retire(link, None, "channel did not open in time")
            return False
        return True

    async def on_answer(self, frame: Answer) -> None:
        link = self.link
        if link is None or link.epoch != frame.epoch or self.role is not Role.OFFERER:
            log.debug("stale_answer", peer=self.peer, epoch=frame.epoch)
            return
        if link.pc.signalingState != "have-local-offer":
            return  # a duplicate answer
        try:
            await link.accept_answer(frame.sdp)
        except SdpError as exc:
            log.warning("answer_refused", peer=self.peer, epoch=frame.epoch, error=str(exc))
            self._retire(link, None, f"bad answer: {exc}")
            return
        await self._apply_pending(link)

    # --- answerer --------------------------------------------------------------------------

    async def on_offer(self, frame: Offer) -> None:
        if self.role is not Role.ANSWERER:
            log.warning("offer_from_answerer_ignored", peer=self.peer, epoch=frame.epoch)
            return
        if not self.host.epochs.adopt(self.peer, frame.epoch):
            log.debug("stale_offer", peer=self.peer, epoch=frame.epoch)
            return
        if self.link is not None:
            self._retire(self.link, DownReason.REPLACED, f"new build epoch {frame.epoch}")
        self.left = False
        link = self._new_link(frame.epoch)
        try:
            answer = await link.accept_offer(frame.sdp)
        except SdpError as exc:
            log.warning("offer_refused", peer=self.peer, epoch=frame.epoch, error=str(exc))
            self._retire(link, None, f"bad offer: {exc}")
            return
        if self.link is not link:
            return
        await self._apply_pending(link)
        await self.host.signal(Answer(to=self.peer, epoch=frame.epoch, sdp=answer))
        # Not awaited here: the signaling dispatcher must not wait on one pair's ICE.
        watchdog = asyncio.create_task(self._abandon_unless_open(link))
        self._watchdogs.add(watchdog)
        watchdog.add_done_callback(self._watchdogs.discard)

    async def _abandon_unless_open(self, link: PeerLink) -> None:
        if not await link.wait_open(self.host.config.connect_timeout):
            self._retire(link, None, "channel did not open in time")

    # --- both ------------------------------------------------------------------------------

    async def on_candidate(self, frame: Candidate) -> None:
        link = self.link
        if link is None or link.epoch != frame.epoch:
            return
        if link.pc.remoteDescription is None:
            self._pending_candidates.append(frame)
            return
        await self._add_candidate(link, frame)

    async def _apply_pending(self, link: PeerLink) -> None:
        pending, self._pending_candidates = self._pending_candidates, []
        for frame in pending:
            if frame.epoch == link.epoch:
                await self._add_candidate(link, frame)

    async def _add_candidate(self, link: PeerLink, frame: Candidate) -> None:
        try:
            candidate = ice.parse_candidate(frame.candidate, frame.sdp_mid, frame.sdp_mline_index)
            await link.add_candidate(candidate)
        except (ProtocolError, SdpError) as exc:
            log.warning("candidate_refused", peer=self.peer, error=str(exc))

    def _new_link(self, epoch: int) -> PeerLink:
        config = self.host.config
        link: PeerLink
        link = PeerLink(
            peer=self.peer,
            epoch=epoch,
            role=self.role,
            ice_servers=self.host.ice_servers,
            host_addresses=config.host_addresses,
            on_frame=lambda data: self._on_frame(link, data),
            on_open=lambda: self._on_open(link),
            on_closed=lambda reason: self._on_closed(link, reason),
            high_water=config.high_water,
            low_water=config.low_water,
            batch_limit=config.limits.chunk_threshold,
        )
        self.link = link
        self.up = False
        self._link_ended.clear()
        self._pending_candidates = [c for c in self._pending_candidates if c.epoch == epoch]
        self.metrics.epoch = epoch
        self.metrics.state = PeerState.CONNECTING
        return link

    def _on_open(self, link: PeerLink) -> None:
        if link is not self.link or link is self._opened:
            return
        self._opened = link
        now = self.host.now()
        self.liveness = Liveness(self.host.config.liveness, now)
        self.reader = FrameReader(self.host.config.limits)
        # Our catch-up goes first on the new link, before any frame is read from it (so before
        # any ack we could send on it): a link's frames leave in the order they were queued.
        self.catch_up = CatchUp(link.epoch)
        frames = self.host.catch_up_frames(self.peer)
        if frames is not None:
            try:
                link.enqueue(frames)
                self.catch_up.sent = True
            except PeerUnavailable:
                pass  # the link ended already; its close is reported on its own
        if self._ever_up:
            self.metrics.reconnects += 1
        self._ever_up = True
        self.up = True
        self.metrics.state = PeerState.UP
        log.info("peer_up", peer=self.peer, epoch=link.epoch, role=self.role.value)
        self.host.on_pair_up(self)

    def _peer_caught_up(self, link: PeerLink, event: CaughtUpArrived) -> None:
        catch_up = self.catch_up
        if catch_up is None or catch_up.epoch != link.epoch or catch_up.received:
            log.warning("caught_up_frame_ignored", peer=self.peer, epoch=link.epoch)
            return
        catch_up.received = True
        log.info("peer_caught_up", peer=self.peer, epoch=link.epoch, messages=event.count)
        if catch_up.exchanged and self.up:
            self.host.on_pair_caught_up(self)

    def _on_closed(self, link: PeerLink, reason: str) -> None:
        if link is self.link:
            self._retire(link, DownReason.DEAD, reason)

    def _retire(self, link: PeerLink, reason: DownReason | None, detail: str) -> None:
        """Ends ``link``; reports the pair down once if it was up (``reason`` None: quietly)."""
        if link is self.link:
            self.link = None
            self.liveness = None
            self._link_ended.set()
            self.metrics.state = PeerState.DOWN
            if self.up:
                self.up = False
                self.host.on_pair_down(self, reason or DownReason.DEAD, detail)
        self.host.close_later(link)

    def said_bye(self) -> None:
        """A bye on the current link: report ``left`` now; the leaver closes the link."""
        self.left = True
        if self.up:
            self.up = False
            self.metrics.state = PeerState.DOWN
            self.host.on_pair_down(self, DownReason.LEFT, "bye")

    # --- frames and liveness -----------------------------------------------------------------

    def _on_frame(self, link: PeerLink, data: bytes | str) -> None:
        if link is not self.link:
            return
        if link is not self._opened:  # a frame before the open event: open first
            self._on_open(link)
        now = self.host.now()
        self.metrics.bytes_in += len(data)
        liveness = self.liveness
        if liveness is not None:
            change = liveness.heard(now)
            if change is not None:
                self._presence(change)
        self._read(link, data, now, liveness)

    def _read(
        self, link: PeerLink, data: bytes | str, now: float, liveness: Liveness | None
    ) -> None:
        reader = self.reader
        for event in reader.read(data):
            if type(event) is MessageArrived:
                self.host.inbox.on_message(self, link, event)
            elif isinstance(event, PingArrived):
                link.try_send([FrameWriter.pong(event.seq, event.sent)])  # skipped when busy
            elif isinstance(event, PongArrived):
                if liveness is not None and liveness.pong(event.seq, event.sent, now) is not None:
                    self.metrics.rtt = liveness.rtt
                    self.metrics.smoothed_rtt = liveness.smoothed_rtt
            elif isinstance(event, CaughtUpArrived):
                self._peer_caught_up(link, event)
            else:
                self.host.on_frame_event(self, link, event)
        self.metrics.malformed = reader.malformed

    def handle_timer(self, now: float) -> None:
        liveness, link = self.liveness, self.link
        if liveness is None or link is None:
            return
        for event in liveness.handle_timer(now):
            if isinstance(event, PingDue):
                # Skipped under backpressure: the queued data will tell the peer we are alive.
                link.try_send([FrameWriter.ping(event.seq, event.sent, event.rtt)])
            else:
                self._presence(event)

    def _presence(self, change: PresenceChanged) -> None:
        if change.new is Presence.DEAD:
            if self.link is not None:
                self._retire(self.link, DownReason.DEAD, f"silent for {change.silence:.1f} s")
        elif change.new is Presence.SUSPECT:
            self.metrics.state = PeerState.SUSPECT
            self.host.on_pair_suspect(self, change.silence)
        elif self.up:
            self.metrics.state = PeerState.UP
            self.host.on_pair_up(self)

    async def stop(self, reason: DownReason | None, detail: str) -> None:
        """The pair is no longer wanted: stop rebuilding and end the current link."""
        tasks = [*self._watchdogs, *([self._task] if self._task is not None else [])]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self.link is not None:
            self._retire(self.link, reason, detail)
