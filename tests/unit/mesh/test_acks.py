"""Acks count only on the link (pair epoch) that carried the message; the inbox acks on the
link a message came on, duplicates included; catch-up opens a channel with a caught-up mark."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime

from ifmesh.node.mesh.acks import AckWait
from ifmesh.node.mesh.catchup import CatchUp, catch_up_frames
from ifmesh.node.mesh.events import MessageReceived, PeerMetrics
from ifmesh.node.mesh.frame_reader import FrameReader
from ifmesh.node.mesh.frame_writer import FrameWriter
from ifmesh.node.mesh.framing import (
    AckArrived,
    CaughtUpArrived,
    Delivery,
    MessageArrived,
    NackArrived,
)
from ifmesh.node.mesh.inbox import Inbox
from ifmesh.node.protocol import codec, messages


@dataclass(eq=False)
class Link:
    """Stands in for a PeerLink: an epoch, and the frames queued on it."""

    epoch: int
    queued: list[bytes] = field(default_factory=list)

    def enqueue(self, frames: list[bytes]) -> None:
        self.queued += frames


@dataclass
class Pair:
    peer: str
    metrics: PeerMetrics = field(default_factory=PeerMetrics)
    reader: FrameReader = field(default_factory=FrameReader)


def progress(source: str = "bravo") -> messages.Envelope:
    payload = messages.TaskProgress(task_id="P0.5.2", epoch=1, percent=50)
    return messages.make_message(payload, source=source, timestamp=datetime.now(UTC))


async def test_an_ack_on_a_later_pair_epoch_does_not_count() -> None:
    first, rebuilt = Link(epoch=7), Link(epoch=8)
    wait = AckWait()
    wait.carried_by("bravo", first)
    wait.add("bravo", rebuilt)  # the pair was rebuilt and the ack came on the new channel
    report = wait.report()
    assert report.acked == frozenset() and report.elsewhere == {"bravo"}
    assert report.carried == {"bravo": 7}
    wait.add("bravo", first)
    assert wait.report().acked == {"bravo"} and wait.report().elsewhere == frozenset()


async def test_the_wait_ends_when_every_peer_acked_or_lost_its_carrying_link() -> None:
    bravo, charlie = Link(epoch=1), Link(epoch=1)
    wait = AckWait()
    wait.carried_by("bravo", bravo)
    wait.carried_by("charlie", charlie)
    waiting = asyncio.ensure_future(wait.until({"bravo", "charlie"}, timeout=60))
    wait.add("bravo", bravo)
    await asyncio.sleep(0)
    assert not waiting.done(), "charlie has neither acked nor lost its link"
    wait.link_retired(charlie)
    report = await asyncio.wait_for(waiting, 5)
    assert report.acked == {"bravo"} and report.lost == {"charlie"}


async def test_the_inbox_counts_an_ack_only_on_the_carrying_link() -> None:
    inbox = Inbox(FrameWriter(), 100)
    first, rebuilt = Link(epoch=1), Link(epoch=2)
    wait = inbox.expect_acks("m-1")
    wait.carried_by("bravo", first)
    pair = Pair("bravo")
    inbox.on_frame_event(pair, rebuilt, AckArrived("m-1"))
    assert wait.report().acked == frozenset()
    inbox.link_retired(first)
    assert wait.report().lost == {"bravo"}


async def test_a_duplicate_is_acked_again_on_the_link_it_came_on() -> None:
    inbox = Inbox(FrameWriter(), 100)
    delivered: list[MessageReceived] = []
    inbox.message_handler = delivered.append
    pair, link = Pair("bravo"), Link(epoch=3)
    message = progress()
    arrived = MessageArrived(message, Delivery.ACKED, len(codec.encode(message)))
    inbox.on_message(pair, link, arrived)
    inbox.on_message(pair, link, arrived)
    assert [d.message for d in delivered] == [message], "delivered once"
    assert link.queued == [FrameWriter.ack(message.id)] * 2, "acked both times"
    assert pair.metrics.duplicates == 1


async def test_the_decline_policy_answers_with_a_nack_after_the_message_is_delivered() -> None:
    inbox = Inbox(FrameWriter(), 100)
    delivered: list[str] = []
    inbox.message_handler = lambda received: delivered.append(received.message.id)
    # The policy sees the message already handed over (a board that folds it there holds it).
    inbox.decline = lambda message: message.id in delivered
    pair, link = Pair("bravo"), Link(epoch=3)
    message = progress()
    inbox.on_message(pair, link, MessageArrived(message, Delivery.ACKED, 10))
    assert link.queued == [FrameWriter.nack(message.id)]
    assert FrameReader().read(link.queued[0]) == [NackArrived(message.id)]


async def test_a_failing_decline_policy_nacks_and_keeps_the_channel() -> None:
    inbox = Inbox(FrameWriter(), 100)

    def broken(message: messages.Envelope) -> bool:
        raise RuntimeError("bug")

    inbox.decline = broken
    pair, link = Pair("bravo"), Link(epoch=1)
    message = progress()
    inbox.on_message(pair, link, MessageArrived(message, Delivery.ACKED, 10))
    assert link.queued == [FrameWriter.nack(message.id)]  # a nack sends the claim to git: safe


async def test_one_nack_ends_the_wait_whatever_the_other_peers_say() -> None:
    inbox = Inbox(FrameWriter(), 100)
    wait = inbox.expect_acks("m-1")
    wait.carried_by("bravo", Link(epoch=1))
    wait.carried_by("charlie", Link(epoch=1))
    waiting = asyncio.ensure_future(wait.until({"bravo", "charlie"}, timeout=60))
    await asyncio.sleep(0)
    assert not waiting.done()
    inbox.on_frame_event(Pair("charlie"), Link(epoch=9), NackArrived("m-1"))  # on any link
    report = await asyncio.wait_for(waiting, 5)
    assert report.nacked == {"charlie"} and report.acked == frozenset()


def test_catch_up_is_the_provider_events_then_a_caught_up_mark() -> None:
    events = [progress("alpha"), progress("alpha")]
    frames = catch_up_frames(lambda peer: events, "bravo", FrameWriter())
    assert frames is not None
    reader = FrameReader()
    read = [event for frame in frames for event in reader.read(frame)]
    assert [e.message for e in read if isinstance(e, MessageArrived)] == events
    assert read[-1] == CaughtUpArrived(2)
    assert catch_up_frames(None, "bravo", FrameWriter()) == [FrameWriter.caught_up(0)]


def test_a_failing_provider_sends_no_caught_up_mark() -> None:
    def broken(peer: str) -> list[messages.Envelope]:
        raise RuntimeError("the board is not ready")

    assert catch_up_frames(broken, "bravo", FrameWriter()) is None
    catch_up = CatchUp(epoch=1, received=True)
    assert not catch_up.exchanged, "exchanged needs ours queued too"


async def test_what_a_delivery_wakes_runs_after_its_ack_is_queued() -> None:
    """The consumer folds inside the handler; what the fold wakes (``after``) comes once the ack
    is queued, so the ack's transmission is scheduled ahead of it. A duplicate wakes nothing."""
    inbox = Inbox(FrameWriter(), 100)
    link, pair, order = Link(epoch=1), Pair("bravo"), []
    inbox.message_handler = lambda received: order.append(("fold", len(link.queued)))
    inbox.after_delivery = lambda: order.append(("after", len(link.queued)))
    message = progress()
    inbox.on_message(pair, link, MessageArrived(message, Delivery.ACKED, 10))
    assert order == [("fold", 0), ("after", 1)]  # folded before its ack, woken after it
    inbox.on_message(pair, link, MessageArrived(message, Delivery.ACKED, 10))
    assert order == [("fold", 0), ("after", 1)] and len(link.queued) == 2  # acked again only
