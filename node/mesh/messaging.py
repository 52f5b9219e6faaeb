"""The owner's way to talk to peers: ``send``, ``broadcast`` (optionally acknowledged),
``request`` and ``reply``.

:class:`Messaging` is a base of :class:`~node.mesh.mesh.Mesh` rather than an object it holds so
that a send costs no extra call: the methods run on the mesh's own pairs, writer and inbox. A
message is encoded once and its frames go to every peer's link queue
(:mod:`ifmesh.node.mesh.outbox`), all in the same loop iteration, so the order of calls is the
order on every channel; a channel with room takes them at once (aiortc transmits when we yield
to the loop), and the caller waits for a full one. Acknowledgements and replies are matched by
the :class:`~node.mesh.inbox.Inbox`; an ack counts only on the link that carried the message
(:mod:`ifmesh.node.mesh.acks`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Coroutine
from typing import TYPE_CHECKING, Any

from ifmesh.node.mesh.acks import Acks, AckWait
from ifmesh.node.mesh.errors import MeshClosed, PeerUnavailable, ReplyTimeout
from ifmesh.node.mesh.events import MessageReceived
from ifmesh.node.mesh.framing import Delivery
from ifmesh.node.protocol import codec
from ifmesh.node.protocol.messages import Envelope

if TYPE_CHECKING:
    from ifmesh.node.mesh.frame_writer import FrameWriter
    from ifmesh.node.mesh.inbox import Inbox
    from ifmesh.node.mesh.pair import Pair


class Messaging:
    """Sending, for a mesh that sets these attributes."""

    pairs: dict[str, Pair]
    writer: FrameWriter
    inbox: Inbox
    _closed: bool

    def _open_pair(self, peer: str) -> Pair:
        if self._closed:
            raise MeshClosed("the mesh is closed")
        pair = self.pairs.get(peer)
        if pair is None or not pair.is_open:
            state = "not in the room" if pair is None else pair.metrics.state.value
            raise PeerUnavailable(f"no open channel to {peer!r} ({state})")
        return pair

    async def _send(self, pair: Pair, frames: list[bytes], size: int) -> None:
        assert pair.link is not None
        await pair.link.send(frames)
        pair.metrics.messages_out += 1
        pair.metrics.bytes_out += size

    async def send(self, peer: str, message: Envelope) -> None:
        """Sends ``message`` to one peer; PeerUnavailable if its channel is not open."""
        pair = self._open_pair(peer)
        encoded = codec.encode(message)
        await self._send(pair, self.writer.message(encoded), len(encoded))

    async def broadcast(
        self, message: Envelope, *, ack: bool = False, timeout: float = 5.0
    ) -> frozenset[str]:
        """Sends ``message`` to every open peer. Returns the peers it went to or, with
        ``ack=True``, those that acknowledged it within ``timeout`` on the pair channel (pair
        epoch) that carried it (:meth:`broadcast_acked` tells the rest)."""
        if ack:
            return (await self.broadcast_acked(message, timeout=timeout)).acked
        return await self._broadcast(message, Delivery.PLAIN, None)

    async def broadcast_acked(self, message: Envelope, *, timeout: float = 5.0) -> Acks:
        """Sends ``message`` to every open peer for acknowledgement and waits until each peer
        it went to has acked it on the link that carried it, or lost that link, or nacked it,
        or ``timeout`` passed. Reports, per peer, the pair epoch that carried it and whether
        the ack came back on that epoch (an ack on a later epoch, after a reconnect, does not
        count)."""
        return await self.send_for_ack(message).outcome(timeout)

    def send_for_ack(self, message: Envelope) -> AckedSend:
        """:meth:`broadcast_acked` in two halves: the copies are in every open peer's link
        queue when this returns (synchronously, so nothing received after this call can be
        answered ahead of them); await :meth:`AckedSend.outcome` for the acks."""
        acks = self.inbox.expect_acks(message.id)
        try:
            size, sent, blocked = self._enqueue(message, Delivery.ACKED, acks)
        except BaseException:
            self.inbox.forget_acks(message.id, acks)
            raise
        return AckedSend(self, message.id, acks, self._settle(size, sent, blocked))

    async def _broadcast(
        self, message: Envelope, delivery: Delivery, acks: AckWait | None
    ) -> frozenset[str]:
        return await self._settle(*self._enqueue(message, delivery, acks))

    def _enqueue(
        self, message: Envelope, delivery: Delivery, acks: AckWait | None
    ) -> tuple[int, set[str], list[tuple[Pair, asyncio.Future[None]]]]:
        if self._closed:
            raise MeshClosed("the mesh is closed")
        encoded = codec.encode(message)
        frames = self.writer.message(encoded, delivery)
        size, frame_bytes = len(encoded), sum(map(len, frames))
        sent: set[str] = set()
        blocked: list[tuple[Pair, asyncio.Future[None]]] = []
        # Every peer's copy is handed to its link queue in this loop iteration, with no task in
        # between (the order of broadcasts is the order on each channel). In the common case
        # every channel has room and takes it at once: aiortc transmits once we yield.
        for pair in self.pairs.values():
            link = pair.link
            if link is None or not pair.up:
                continue
            try:
                done = link.enqueue(frames, frame_bytes, track=True)
            except PeerUnavailable:  # its channel closed; the pair will report it down
                continue
            if acks is not None:
                acks.carried_by(pair.peer, link)
            if done is not None:
                blocked.append((pair, done))
                continue
            sent.add(pair.peer)
            pair.metrics.messages_out += 1
            pair.metrics.bytes_out += size
        return size, sent, blocked

    async def _settle(
        self, size: int, sent: set[str], blocked: list[tuple[Pair, asyncio.Future[None]]]
    ) -> frozenset[str]:
        """Waits for the copies that found their channel full; the peers they all went to."""
        if blocked:
            results = await asyncio.gather(*(done for _, done in blocked), return_exceptions=True)
            for (pair, _), result in zip(blocked, results, strict=True):
                if result is None:
                    sent.add(pair.peer)
                    pair.metrics.messages_out += 1
                    pair.metrics.bytes_out += size
        return frozenset(sent)

    def hint(self, topic: str, data: dict[str, object]) -> frozenset[str]:
        """Advice for the peers (a ``H`` frame, see :mod:`ifmesh.node.mesh.framing`): sent now to
        every open channel with room, never queued or retried; returns the peers it went to."""
        if self._closed:
            raise MeshClosed("the mesh is closed")
        frame = self.writer.hint(topic, data)
        sent = set()
        for pair in self.pairs.values():
            link = pair.link
            if link is None or not pair.up:
                continue
            try:
                if link.try_send([frame], len(frame)):
                    sent.add(pair.peer)
            except PeerUnavailable:
                continue
        return frozenset(sent)

    async def request(self, peer: str, message: Envelope, timeout: float) -> Envelope:
        """Sends ``message`` to ``peer`` and returns its reply; ReplyTimeout after ``timeout``."""
        pair = self._open_pair(peer)
        future = self.inbox.expect_reply(peer, message.id)
        try:
            encoded = codec.encode(message)
            await self._send(pair, self.writer.message(encoded, Delivery.REQUEST), len(encoded))
            async with asyncio.timeout(timeout):
                return await future
        except TimeoutError:
            raise ReplyTimeout(f"{peer} did not reply to {message.id} in {timeout:g} s") from None
        finally:
            self.inbox.forget_reply(peer, message.id)

    async def reply(self, to: MessageReceived, message: Envelope) -> None:
        """Answers a request received as ``to``."""
        pair = self._open_pair(to.peer)
        encoded = codec.encode(message)
        frames = self.writer.message(encoded, Delivery.REPLY, in_reply_to=to.message.id)
        await self._send(pair, frames, len(encoded))


class AckedSend:
    """A message already queued to every open peer, whose acknowledgements are awaited."""

    def __init__(
        self,
        owner: Messaging,
        message_id: str,
        acks: AckWait,
        delivered: Coroutine[Any, Any, frozenset[str]],
    ) -> None:
        self._owner = owner
        self._id = message_id
        self._acks = acks
        self._delivered = delivered

    @property
    def carried_to(self) -> frozenset[str]:
        """The peers a copy was handed to (some may still wait for room on their channel)."""
        return frozenset(self._acks.report().carried)

    async def outcome(self, timeout: float, peers: Collection[str] | None = None) -> Acks:
        """The acks, once every peer the copy went to (of ``peers``, if given) acked, lost its
        link or nacked, or at ``timeout``."""
        try:
            sent = set(await self._delivered)
            return await self._acks.until(sent if peers is None else sent & set(peers), timeout)
        finally:
            self._owner.inbox.forget_acks(self._id, self._acks)

    def abandon(self) -> None:
        """Stops waiting (the copies already queued still go)."""
        self._delivered.close()
        self._owner.inbox.forget_acks(self._id, self._acks)
