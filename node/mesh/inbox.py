"""What becomes of the frames the pairs receive, and who is waiting for them.

The :class:`Inbox` owns the receiving half of the mesh: it checks each IFMessage (it must come
from the peer it claims as ``source``, and be live under its ``ttl``), drops duplicates by id,
answers ``acked`` messages and byes, hands replies to the request awaiting them, counts acks for
``broadcast(ack=True)`` and ``close()``, and publishes events to every subscription. Bad input
is logged and counted, never raised: the connection it came on stays up.

A ``gate`` (set by the runtime when events are signed, node.identity) sees each message, with
the pair epoch it came on (an authenticated pair vouches for its peer's events), after those
checks and before the dedupe: one it does not admit (refused, or held until its key is
pinned) is neither marked seen nor delivered nor acked, so the genuine message with that id is
still taken when it comes.

Every frame handled here came on one link (one pair epoch), which is passed along: an ack we
send goes back on that link, behind everything the pair queued on it before (catch-up
included, see :mod:`ifmesh.node.mesh.outbox`), and an ack we receive counts only if it came on
the link that carried the message (:mod:`ifmesh.node.mesh.acks`).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import structlog

from ifmesh.node.errors import ProtocolError, TransportError
from ifmesh.node.mesh.acks import AckWait
from ifmesh.node.mesh.dedupe import SeenIds
from ifmesh.node.mesh.errors import PeerUnavailable
from ifmesh.node.mesh.events import MeshEvent, MessageReceived, Subscription
from ifmesh.node.mesh.frame_writer import FrameWriter
from ifmesh.node.mesh.framing import (
    AckArrived,
    ByeArrived,
    Delivery,
    FrameEvent,
    FrameRejected,
    HintArrived,
    MessageArrived,
    NackArrived,
)
from ifmesh.node.protocol import codec
from ifmesh.node.protocol.messages import Envelope

if TYPE_CHECKING:
    from ifmesh.node.mesh.pair import Pair
    from ifmesh.node.mesh.peer import PeerLink
    from ifmesh.node.mesh.roles import RoleGate

log = structlog.get_logger(__name__)

MessageHandler = Callable[[MessageReceived], None]
DeclinePolicy = Callable[[Envelope], bool]  # True: answer this acked message with a nack
HintHandler = Callable[[str, dict[str, object]], None]  # (peer, data)
MessageGate = Callable[[str, int, Envelope], bool]  # (peer, pair epoch, message) → deliver now

# Module constants: an Enum member lookup costs a metaclass descriptor call per message.
_ACKED, _REPLY, _REQUEST = Delivery.ACKED, Delivery.REPLY, Delivery.REQUEST


class Inbox:
    def __init__(self, writer: FrameWriter, dedupe_capacity: int) -> None:
        self.writer = writer
        self.seen = SeenIds(dedupe_capacity)
        self._first = Subscription()  # buffers from the start for the first events() caller
        self._subscribers: list[Subscription] = [self._first]
        self._first_taken = False
        self._replies: dict[tuple[str, str], asyncio.Future[Envelope]] = {}
        self._acks: dict[str, list[AckWait]] = {}  # id → its waiters
        self.message_handler: MessageHandler | None = None
        self.decline: DeclinePolicy | None = None
        self.hint_handlers: dict[str, HintHandler] = {}  # topic → handler
        self.roles: RoleGate | None = None  # who may send what (node.mesh.roles)
        self.gate: MessageGate | None = None
        # Called after a delivered message's ack is queued: what the consumer wakes for its
        # message then runs behind the ack's transmission, not ahead of it.
        self.after_delivery: Callable[[], None] | None = None

    # --- subscriptions ---------------------------------------------------------------------

    def subscribe(self, closed: bool) -> Subscription:
        if not self._first_taken:
            self._first_taken = True
            return self._first
        subscription = Subscription()
        if closed:
            subscription.end()
        self._subscribers.append(subscription)
        return subscription

    def emit(self, event: MeshEvent) -> None:
        for subscription in self._subscribers:
            subscription.put(event)

    # --- waiting for peers -----------------------------------------------------------------

    def expect_acks(self, key: str) -> AckWait:
        wait = AckWait()
        self._acks.setdefault(key, []).append(wait)
        return wait

    def forget_acks(self, key: str, wait: AckWait) -> None:
        waits = self._acks.get(key)
        if waits is not None and wait in waits:
            waits.remove(wait)
            if not waits:
                del self._acks[key]

    def link_retired(self, link: PeerLink) -> None:
        """``link`` ended: acks awaited on it will never come."""
        for waits in self._acks.values():
            for wait in waits:
                wait.link_retired(link)

    def expect_reply(self, peer: str, request_id: str) -> asyncio.Future[Envelope]:
        future: asyncio.Future[Envelope] = asyncio.get_running_loop().create_future()
        self._replies[(peer, request_id)] = future
        return future

    def forget_reply(self, peer: str, request_id: str) -> None:
        self._replies.pop((peer, request_id), None)

    def fail_replies(self, error: TransportError, peer: str | None = None) -> None:
        """Requests to ``peer`` (default: all) end with ``error`` instead of waiting on."""
        for (to, _), future in self._replies.items():
            if (peer is None or to == peer) and not future.done():
                future.set_exception(error)

    def close(self) -> None:
        for subscription in self._subscribers:
            subscription.end()

    # --- frames from a pair ----------------------------------------------------------------

    def on_frame_event(self, pair: Pair, link: PeerLink, event: FrameEvent) -> None:
        if isinstance(event, MessageArrived):
            self.on_message(pair, link, event)
        elif isinstance(event, AckArrived):
            for wait in self._acks.get(event.id, ()):
                wait.add(pair.peer, link)
        elif isinstance(event, NackArrived):
            for wait in self._acks.get(event.id, ()):
                wait.declined(pair.peer)
        elif isinstance(event, ByeArrived):
            self._ack(link, event.token)
            pair.said_bye()
        elif isinstance(event, HintArrived):
            handler = self.hint_handlers.get(event.topic)
            if handler is not None:
                try:
                    handler(pair.peer, event.data)
                except Exception:
                    log.exception("hint_handler_failed", peer=pair.peer, topic=event.topic)
        elif isinstance(event, FrameRejected):
            self._rejected(pair, event.error)

    def _rejected(self, pair: Pair, error: ProtocolError) -> None:
        log.warning("frame_dropped", peer=pair.peer, code=error.code, error=str(error))

    def on_message(self, pair: Pair, link: PeerLink, event: MessageArrived) -> None:
        """An IFMessage from ``pair``'s peer on ``link``: checked, deduplicated, then
        delivered. (Pairs call this directly for messages, the most frequent frame, and
        on_frame_event for the rest.)"""
        message = event.message
        if message.source != pair.peer:
            pair.metrics.malformed += 1
            pair.reader.malformed += 1
            self._rejected(pair, ProtocolError(
                f"message {message.id} claims source {message.source!r} but came from"
                f" {pair.peer!r}", path="source",
            ))  # fmt: skip
            return
        # Epoch float arithmetic first (every message pays it); check_live, which builds the
        # typed error, only for one that looks expired.
        if time.time() > message.timestamp.timestamp() + message.ttl:
            try:
                codec.check_live(message, datetime.now(UTC))
            except ProtocolError as error:
                pair.metrics.expired += 1
                self._rejected(pair, error)
                return
        # The sender's role first: an observer's event is refused for that (and told so)
        # whatever its signature, and an operator's answer is the holder's node's to give.
        roles = self.roles
        if roles is not None and not roles.admits(pair, link, message):
            return  # not delivered, not acked (node.mesh.roles)
        gate = self.gate
        if gate is not None and not _admits(gate, pair.peer, link.epoch, message):
            return
        delivery, handed = event.delivery, False
        if not self.seen.first_time(message.source, message.id):
            pair.metrics.duplicates += 1
        elif delivery is _REPLY:
            pair.metrics.messages_in += 1
            self._reply_arrived(pair, message, event.in_reply_to)
        else:
            pair.metrics.messages_in += 1
            request = delivery is _REQUEST
            received = MessageReceived(pair.peer, message, event.size, request, time.monotonic())
            if self.message_handler is None:
                self.emit(received)
            else:
                self._hand_over(received)
                handed = True
        # Acked after delivery, not before: aiortc transmits only once this callback returns,
        # so the ack leaves no later, and the message is not kept waiting behind it. A
        # duplicate is acked too (our earlier ack may be what got lost). The decline policy
        # is asked after the handler took the message (a node folds it later:
        # node.runtime.arrivals).
        if delivery is _ACKED:
            decline = self.decline
            if decline is not None and _declines(decline, message):
                with contextlib.suppress(PeerUnavailable):
                    link.enqueue([self.writer.nack(message.id)])
            else:
                self._ack(link, message.id)
        if handed and self.after_delivery is not None:
            try:
                self.after_delivery()
            except Exception:  # as for the handler: the channel stays up
                log.exception("after_delivery_failed", peer=pair.peer, id=message.id)

    def _ack(self, link: PeerLink, key: str) -> None:
        """An ack on the link the acknowledged frame came on: queued in order behind what
        the link already holds, never dropped while the link lives."""
        # A link that ended raises: the sender counts no ack from it anyway.
        with contextlib.suppress(PeerUnavailable):
            link.enqueue([self.writer.ack(key)])

    def _hand_over(self, received: MessageReceived) -> None:
        assert self.message_handler is not None
        try:
            self.message_handler(received)
        except Exception:  # a bug in the handler must not take the peer's channel down
            log.exception("message_handler_failed", peer=received.peer, id=received.message.id)

    def _reply_arrived(self, pair: Pair, message: Envelope, request_id: str | None) -> None:
        assert request_id is not None
        future = self._replies.get((pair.peer, request_id))
        if future is not None and not future.done():
            future.set_result(message)
        else:
            log.info("late_reply_dropped", peer=pair.peer, request=request_id)


def _admits(gate: MessageGate, peer: str, epoch: int, message: Envelope) -> bool:
    try:
        return gate(peer, epoch, message)
    except Exception:  # a bug in the gate must not take the channel down; refuse (safe)
        log.exception("message_gate_failed", peer=peer, id=message.id)
        return False


def _declines(decline: DeclinePolicy, message: Envelope) -> bool:
    try:
        return decline(message)
    except Exception:  # a bug in the policy must not take the channel down; decline (safe)
        log.exception("decline_policy_failed", id=message.id)
        return True
