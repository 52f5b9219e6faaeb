"""The mesh of a simulated room: the real per-pair queues, framing, inbox and ack waits over
channels whose delivery the simulation schedules.

What is real here: :class:`~ifmesh.node.mesh.outbox.Outbox` (one ordered queue per pair epoch,
batching, backpressure), :class:`~ifmesh.node.mesh.frame_writer.FrameWriter` and
:class:`~ifmesh.node.mesh.frame_reader.FrameReader`, :class:`~ifmesh.node.mesh.inbox.Inbox`
(dedupe, ack or nack after delivery), :mod:`ifmesh.node.mesh.acks` and
:class:`~ifmesh.node.mesh.messaging.Messaging` (``send_for_ack``), and catch-up
(:mod:`ifmesh.node.mesh.catchup`). What is simulated: the SCTP association under a channel —
reliable and ordered, with a per-pair delay, loss recovered by retransmission (a late frame
holds back the ones behind it), a small send buffer — and what :class:`~node.mesh.pair.Pair`
does on open, on a frame and on close, mirrored in :class:`SimPair` in a few lines.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable, Sequence

from aiortc.exceptions import InvalidStateError

from ifmesh.node.mesh.catchup import CatchUp, catch_up_frames
from ifmesh.node.mesh.events import PeerMetrics, PeerState
from ifmesh.node.mesh.frame_reader import FrameReader
from ifmesh.node.mesh.frame_writer import FrameWriter
from ifmesh.node.mesh.framing import CaughtUpArrived, MessageArrived
from ifmesh.node.mesh.inbox import Inbox
from ifmesh.node.mesh.messaging import Messaging
from ifmesh.node.mesh.outbox import Outbox
from ifmesh.node.protocol.messages import Envelope

HIGH_WATER, LOW_WATER = 1500, 500  # small, so the outbox queues often


class Path:
    """One direction of one pair epoch on the simulated network."""

    def __init__(self, rng: random.Random, latency: float, loss: float) -> None:
        self.rng, self.latency, self.loss = rng, latency, loss
        self.last_arrival = 0.0

    def arrival(self, now: float) -> float:
        delay = self.latency * self.rng.uniform(0.5, 1.5)
        if self.rng.random() < self.loss:  # lost, retransmitted after a timeout
            delay += self.rng.uniform(0.2, 1.0)
        # Ordered and reliable: nothing overtakes a frame still being retransmitted.
        self.last_arrival = max(self.last_arrival, now + delay)
        return self.last_arrival


class SimChannel:
    """What the outbox writes to (the W3C names aiortc's channel has)."""

    def __init__(self, path: Path, deliver: Callable[[bytes], None]) -> None:
        self.bufferedAmount = 0
        self.bufferedAmountLowThreshold = 0
        self.readyState = "open"
        self.path = path
        self._deliver = deliver
        self.outbox: Outbox | None = None

    def send(self, data: bytes) -> None:
        if self.readyState != "open":
            raise InvalidStateError("channel closed")
        self.bufferedAmount += len(data)
        loop = asyncio.get_running_loop()
        # The SCTP stack takes the bytes off the buffer soon (a few ms per kilobyte).
        loop.call_later(0.001 + len(data) / 2_000_000, self._left, len(data))
        loop.call_at(self.path.arrival(loop.time()), self._arrive, data)

    def _left(self, size: int) -> None:
        before = self.bufferedAmount
        self.bufferedAmount = max(0, before - size)
        threshold = self.bufferedAmountLowThreshold
        if before > threshold >= self.bufferedAmount and self.outbox is not None:
            self.outbox.on_low()

    def _arrive(self, data: bytes) -> None:
        if self.readyState == "open":
            self._deliver(data)

    def close(self) -> None:
        self.readyState = "closed"


class SimLink:
    """One build of a pair (one pair epoch), as :class:`~node.mesh.peer.PeerLink` is."""

    def __init__(self, peer: str, epoch: int, channel: SimChannel) -> None:
        self.peer, self.epoch, self.channel = peer, epoch, channel
        self.outbox = Outbox(
            channel, peer, high_water=HIGH_WATER, low_water=LOW_WATER, batch_limit=4096
        )
        channel.outbox = self.outbox
        self.enqueue = self.outbox.enqueue
        self.try_send = self.outbox.try_send
        self.send = self.outbox.send

    @property
    def is_open(self) -> bool:
        return self.channel.readyState == "open"

    def end(self) -> None:
        self.channel.close()
        self.outbox.end("closed")


class SimPair:
    """The pair to one peer: its current link, catch-up state and frame reader."""

    def __init__(self, peer: str) -> None:
        self.peer = peer
        self.link: SimLink | None = None
        self.up = False
        self.metrics = PeerMetrics()
        self.reader = FrameReader()
        self.catch_up: CatchUp | None = None

    @property
    def is_open(self) -> bool:
        return self.up and self.link is not None and self.link.is_open

    @property
    def caught_up(self) -> bool:
        return self.up and self.catch_up is not None and self.catch_up.exchanged

    def said_bye(self) -> None:
        self.up = False


class SimMesh(Messaging):
    """A node's mesh: its pairs, its inbox, and the room's signaling roster."""

    def __init__(
        self,
        session: str,
        roster: Callable[[], frozenset[str]],
        catch_up: Callable[[str], Sequence[Envelope]],
    ) -> None:
        self.session = session
        self.pairs: dict[str, SimPair] = {}  # type: ignore[assignment]
        self.writer = FrameWriter()
        self.inbox = Inbox(self.writer, 4096)
        self._closed = False
        self._roster = roster
        self._catch_up = catch_up

    @property
    def roster(self) -> frozenset[str]:
        return self._roster() - {self.session}

    @property
    def excused(self) -> frozenset[str]:
        return frozenset()  # every simulated peer is a node

    @property
    def decidable(self) -> frozenset[str]:
        return frozenset(
            p for p, pair in self.pairs.items()
            if pair.caught_up and pair.metrics.state is not PeerState.SUSPECT
        )  # fmt: skip

    # --- what Pair does --------------------------------------------------------------------

    def opened(self, link: SimLink) -> None:
        """A new link to ``link.peer`` is open: our catch-up goes first, then anything else."""
        pair = self.pairs.setdefault(link.peer, SimPair(link.peer))
        if pair.link is not None:
            self.retired(pair.link)
        pair.link, pair.up = link, True
        pair.reader = FrameReader()
        pair.metrics.state = PeerState.UP
        pair.catch_up = CatchUp(link.epoch)
        frames = catch_up_frames(self._catch_up, link.peer, self.writer)
        if frames is not None:
            link.enqueue(frames)
            pair.catch_up.sent = True

    def frame(self, link: SimLink, data: bytes) -> None:
        pair = self.pairs.get(link.peer)
        if pair is None or pair.link is not link:
            return
        for event in pair.reader.read(data):
            if type(event) is MessageArrived:
                self.inbox.on_message(pair, link, event)  # type: ignore[arg-type]
            elif isinstance(event, CaughtUpArrived):
                catch_up = pair.catch_up
                if catch_up is not None and catch_up.epoch == link.epoch:
                    catch_up.received = True
            else:
                self.inbox.on_frame_event(pair, link, event)  # type: ignore[arg-type]

    def retired(self, link: SimLink) -> None:
        pair = self.pairs.get(link.peer)
        if pair is not None and pair.link is link:
            pair.link, pair.up = None, False
            pair.metrics.state = PeerState.DOWN
        link.end()
        self.inbox.link_retired(link)  # type: ignore[arg-type]
