"""The outbox keeps one writer order per link: a frame that finds the channel full waits in
order behind what came before it (an ack is never dropped), frames queued before the channel
opens leave first, and skippable frames (pings) never overtake a waiting one."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from aiortc.exceptions import InvalidStateError

from ifmesh.node.mesh.errors import PeerUnavailable
from ifmesh.node.mesh.frame_reader import FrameReader
from ifmesh.node.mesh.frame_writer import FrameWriter
from ifmesh.node.mesh.framing import (
    AckArrived,
    CaughtUpArrived,
    FrameEvent,
    MessageArrived,
    PingArrived,
)
from ifmesh.node.mesh.outbox import Outbox
from ifmesh.node.protocol import codec, messages

HIGH, LOW = 64 * 1024, 16 * 1024
WRITER = FrameWriter()


class FakeChannel:
    """A data channel whose buffer empties only when the test transmits."""

    def __init__(self, state: str = "open") -> None:
        self.bufferedAmount = 0
        self.bufferedAmountLowThreshold = 0
        self.readyState = state
        self.wire: list[bytes] = []
        self.outbox: Outbox | None = None

    def send(self, data: bytes) -> None:
        if self.readyState != "open":
            raise InvalidStateError
        self.wire.append(data)
        self.bufferedAmount += len(data)

    def transmit(self) -> None:
        """SCTP took everything: the amount falls to 0 (bufferedamountlow if it crosses)."""
        crossed = self.bufferedAmount > self.bufferedAmountLowThreshold
        self.bufferedAmount = 0
        if crossed and self.outbox is not None:
            self.outbox.on_low()


def outbox_on(channel: FakeChannel, high: int = HIGH, low: int = LOW) -> Outbox:
    outbox = Outbox(channel, "bravo", high_water=high, low_water=low, batch_limit=16 * 1024)
    channel.outbox = outbox
    return outbox


async def drain_all(channel: FakeChannel, outbox: Outbox) -> None:
    """Transmits until nothing waits (each turn of the loop flushes a pending batch)."""
    async with asyncio.timeout(5):
        while outbox.waiting or outbox.buffered:
            channel.transmit()
            await asyncio.sleep(0)  # one loop turn: the outbox's batch flush runs


def on_the_wire(channel: FakeChannel) -> list[FrameEvent]:
    reader = FrameReader()
    return [event for frame in channel.wire for event in reader.read(frame)]


def claim(size: int) -> messages.Envelope:
    payload = messages.TaskClaim(
        task_id="P0.5.2", epoch=0, swarm_id="alpha", timestamp=datetime.now(UTC),
        metadata={"blob": "x" * size},
    )  # fmt: skip
    return messages.make_message(payload, source="alpha", timestamp=datetime.now(UTC))


async def test_a_full_channel_queues_acks_in_order_instead_of_dropping_them() -> None:
    channel = FakeChannel()
    outbox = outbox_on(channel)
    big = claim(512 * 1024)
    done = outbox.enqueue(WRITER.message(codec.encode(big)), track=True)
    assert done is not None and not done.done(), "half a MiB does not fit under 64 KiB"
    assert channel.bufferedAmount <= HIGH
    outbox.enqueue([WRITER.ack("m-1")])
    outbox.enqueue([WRITER.ack("m-2")])
    assert outbox.waiting[-2:] == (WRITER.ack("m-1"), WRITER.ack("m-2")), "kept, in order"
    assert not outbox.try_send([WRITER.ping(1, 0.0, None)]), "a ping never overtakes them"
    await drain_all(channel, outbox)
    assert done.done() and done.exception() is None
    events = on_the_wire(channel)
    assert [type(e) for e in events] == [MessageArrived, AckArrived, AckArrived]
    assert isinstance(events[0], MessageArrived) and events[0].message == big
    assert events[1:] == [AckArrived("m-1"), AckArrived("m-2")]
    assert not [e for e in events if isinstance(e, PingArrived)], "the ping was skipped"


async def test_frames_queued_before_the_channel_opens_leave_first() -> None:
    channel = FakeChannel(state="connecting")
    outbox = outbox_on(channel)
    assert not outbox.try_send([WRITER.ping(1, 0.0, None)]), "not open yet: skipped, no error"
    catch_up = [claim(10), claim(20)]
    for event in catch_up:
        assert outbox.enqueue(WRITER.message(codec.encode(event))) is None
    outbox.enqueue([WRITER.caught_up(2)])
    assert not outbox.try_send([WRITER.ping(1, 0.0, None)]), "skipped: it would overtake"
    assert channel.wire == [] and len(outbox.waiting) == 3
    channel.readyState = "open"
    outbox.opened()
    outbox.enqueue([WRITER.ack("m-1")])
    await drain_all(channel, outbox)
    events = on_the_wire(channel)
    assert [e.message for e in events[:2] if isinstance(e, MessageArrived)] == catch_up
    assert events[2:] == [CaughtUpArrived(2), AckArrived("m-1")]


async def test_a_frame_bigger_than_the_room_between_the_marks_still_leaves() -> None:
    # Marks so close that no bufferedamountlow would come while a chunk waits: the outbox
    # must not wait for an event that cannot fire.
    channel = FakeChannel()
    outbox = outbox_on(channel, high=20 * 1024, low=18 * 1024)
    big = claim(100 * 1024)
    done = outbox.enqueue(WRITER.message(codec.encode(big)), track=True)
    await drain_all(channel, outbox)
    assert done is not None and done.done()
    [event] = on_the_wire(channel)
    assert isinstance(event, MessageArrived) and event.message == big


async def test_when_the_link_ends_waiting_senders_are_told_and_new_frames_refused() -> None:
    channel = FakeChannel()
    outbox = outbox_on(channel)
    sender = asyncio.ensure_future(outbox.send(WRITER.message(codec.encode(claim(512 * 1024)))))
    await asyncio.sleep(0)  # the sender is now waiting for room
    assert not sender.done() and outbox.waiting
    outbox.end("connection failed")
    with pytest.raises(PeerUnavailable, match="connection failed"):
        await sender
    assert outbox.waiting == ()
    with pytest.raises(PeerUnavailable):
        outbox.enqueue([WRITER.ack("m-1")])
