"""Framing: every frame kind round-trips, large messages chunk and reassemble, bad frames are
counted and dropped without stopping the reader."""

from __future__ import annotations

import struct
from datetime import UTC, datetime

import pytest

from ifmesh.node.errors import MalformedJSON, MessageTooLarge, UnknownMessageType
from ifmesh.node.mesh.errors import MalformedFrame
from ifmesh.node.mesh.frame_reader import FrameReader
from ifmesh.node.mesh.frame_writer import FrameWriter
from ifmesh.node.mesh.framing import (
    AckArrived,
    ByeArrived,
    CaughtUpArrived,
    Delivery,
    FrameEvent,
    FrameRejected,
    HintArrived,
    Limits,
    MessageArrived,
    NackArrived,
    PingArrived,
    PongArrived,
)
from ifmesh.node.protocol import codec, messages

T0 = datetime(2025, 11, 12, 14, 0, tzinfo=UTC)


def progress(milestone: str = "", **fields: object) -> messages.Envelope:
    payload = messages.TaskProgress(task_id="P0.5.2", epoch=1, percent=50, milestone=milestone)
    return messages.make_message(payload, source="session-2-webrtc", timestamp=T0, **fields)


def feed(reader: FrameReader, frames: list[bytes]) -> list[FrameEvent]:
    for frame in frames:
        reader.receive_frame(frame)
    return list(reader.events())


def test_small_message_is_one_frame_and_round_trips() -> None:
    message = progress("half way")
    frames = FrameWriter().message(codec.encode(message))
    assert len(frames) == 1
    assert frames[0] == b"M" + codec.encode(message)
    [event] = feed(FrameReader(), frames)
    assert isinstance(event, MessageArrived)
    assert event.message == message
    assert event.delivery is Delivery.PLAIN


@pytest.mark.parametrize("delivery", [Delivery.ACKED, Delivery.REQUEST])
def test_acked_and_request_kinds_survive(delivery: Delivery) -> None:
    message = progress()
    [event] = feed(FrameReader(), FrameWriter().message(codec.encode(message), delivery))
    assert isinstance(event, MessageArrived)
    assert event.delivery is delivery and event.message == message


def test_reply_names_its_request() -> None:
    message = progress()
    frames = FrameWriter().message(codec.encode(message), Delivery.REPLY, in_reply_to="req-1")
    [event] = feed(FrameReader(), frames)
    assert isinstance(event, MessageArrived)
    assert event.in_reply_to == "req-1" and event.message == message


def test_reply_without_request_id_is_refused_by_the_writer() -> None:
    with pytest.raises(MalformedFrame):
        FrameWriter().message(codec.encode(progress()), Delivery.REPLY)


def test_one_mebibyte_message_chunks_into_small_frames_and_reassembles() -> None:
    base = len(codec.encode(progress()))
    payload = messages.TaskClaim(
        task_id="P0.5.2",
        epoch=0,
        swarm_id="session-2-webrtc",
        timestamp=T0,
        metadata={"blob": "y" * (messages.MAX_ENCODED_BYTES - base - 200)},
    )
    message = messages.make_message(payload, source="session-2-webrtc", timestamp=T0)
    encoded = codec.encode(message)
    assert messages.MAX_ENCODED_BYTES - 1024 < len(encoded) <= messages.MAX_ENCODED_BYTES
    frames = FrameWriter().message(encoded)
    limits = Limits()
    assert len(frames) > 60
    assert all(len(frame) <= limits.chunk_size + 13 for frame in frames)
    reader = FrameReader()
    events = feed(reader, frames)
    assert len(events) == 1
    assert isinstance(events[0], MessageArrived) and events[0].message == message
    assert reader.malformed == 0


def test_transport_frames_round_trip() -> None:
    writer = FrameWriter()
    events = feed(
        FrameReader(),
        [
            writer.ping(7, 12.5, 0.002),
            writer.ping(8, 13.5, None),
            writer.pong(7, 12.5),
            writer.bye("tok", "shutdown"),
            writer.ack("m-1"),
            writer.nack("m-2"),
            writer.hint("gitsync.turn", {"landed": "ab" * 20}),
            writer.caught_up(3),
        ],
    )
    assert events == [
        PingArrived(7, 12.5, 0.002),
        PingArrived(8, 13.5, None),
        PongArrived(7, 12.5),
        ByeArrived("tok", "shutdown"),
        AckArrived("m-1"),
        NackArrived("m-2"),
        HintArrived("gitsync.turn", {"landed": "ab" * 20}),
        CaughtUpArrived(3),
    ]


@pytest.mark.parametrize(
    ("frame", "error"),
    [
        (b"", MalformedFrame),
        (b"Z{}", MalformedFrame),
        (b"X", MalformedFrame),
        (b"Mnot json", MalformedJSON),
        (b'M{"type": "no.such"}', UnknownMessageType),
        (b"P[1, 2]", MalformedFrame),
        (b'P{"n": "x", "t": 1}', MalformedFrame),
        (b'P{"n": 1, "t": 1, "rtt": "fast"}', MalformedFrame),
        (b'O{"n": 1}', MalformedFrame),
        (b"B{", MalformedFrame),
        (b'B{"id": 3}', MalformedFrame),
        (b"A", MalformedFrame),
        (b"A\xff\xfe", MalformedFrame),
        (b'H{"topic": "t"}', MalformedFrame),
        (b'H{"topic": 1, "data": {}}', MalformedFrame),
        (b'H{"topic": "t", "data": [1]}', MalformedFrame),
        (b"H[]", MalformedFrame),
        (b"U{}", MalformedFrame),
        (b'U{"n": -1}', MalformedFrame),
        (b'U{"n": true}', MalformedFrame),
        (b"U", MalformedFrame),
        (b"R\x00", MalformedFrame),
        (b"R\x00\x09abc", MalformedFrame),
        (b"C" + struct.pack(">III", 1, 0, 1) + b"x", MalformedFrame),
        (b"C" + struct.pack(">III", 1, 3, 4) + b"x", MalformedFrame),
        (b"C\x00\x01", MalformedFrame),
    ],
)
def test_malformed_frames_are_counted_and_dropped(frame: bytes, error: type[Exception]) -> None:
    reader = FrameReader()
    good = FrameWriter().message(codec.encode(progress()))
    events = feed(reader, [frame, *good])
    assert isinstance(events[0], FrameRejected)
    assert isinstance(events[0].error, error)
    assert isinstance(events[1], MessageArrived), "the reader keeps going after a bad frame"
    assert reader.malformed == 1


def test_oversized_frame_is_rejected() -> None:
    reader = FrameReader()
    reader.receive_frame(b"M" + b" " * (256 * 1024))
    [event] = reader.events()
    assert isinstance(event, FrameRejected)
    assert "limit" in str(event.error)


def test_reassembly_beyond_the_cap_is_dropped() -> None:
    limits = Limits(max_message=4096)
    writer = FrameWriter(Limits(chunk_size=1024, chunk_threshold=1024))
    # 64 KiB of "message": far above the receiver's cap; only one rejection, then silence.
    frames = writer._chunks(b"M" + b"x" * 65536)
    reader = FrameReader(limits)
    events = feed(reader, frames)
    rejected = [e for e in events if isinstance(e, FrameRejected)]
    assert rejected and "exceeds" in str(rejected[0].error)
    assert not [e for e in events if isinstance(e, MessageArrived)]


def test_out_of_order_chunk_drops_the_transfer_but_not_the_next_one() -> None:
    writer = FrameWriter(Limits(chunk_size=1024, chunk_threshold=1024))
    message = progress("z" * 5000)
    first = writer.message(codec.encode(message))
    second = writer.message(codec.encode(message))
    reader = FrameReader()
    events = feed(reader, [first[0], first[2], *second])
    assert isinstance(events[0], FrameRejected)
    assert [type(e) for e in events[1:]].count(MessageArrived) == 1


def test_writer_refuses_messages_above_the_cap() -> None:
    with pytest.raises(MalformedFrame):
        FrameWriter(Limits(max_message=2048)).message(b"{" + b" " * 4096 + b"}")


def test_decoded_message_too_large_for_codec_is_typed() -> None:
    # A reassembled frame over 1 MiB reaches the codec's own bound and gets its typed error.
    reader = FrameReader(Limits(max_message=2 * 1024 * 1024))
    writer = FrameWriter(Limits(max_message=2 * 1024 * 1024))
    events = feed(reader, writer.message(b"{" + b" " * (1024 * 1024 + 10) + b"}"))
    assert isinstance(events[0], FrameRejected)
    assert isinstance(events[0].error, MessageTooLarge)


def test_text_frames_from_browsers_are_read_as_utf8() -> None:
    message = progress()
    reader = FrameReader()
    reader.receive_frame("M" + codec.encode(message).decode())
    [event] = reader.events()
    assert isinstance(event, MessageArrived) and event.message == message


def test_a_batch_carries_several_frames_in_order() -> None:
    writer = FrameWriter()
    first, second = progress("one"), progress("two")
    frames = [writer.message(codec.encode(first))[0], writer.ping(1, 2.0, None)]
    frames += [writer.ack("m-9"), *writer.message(codec.encode(second))]
    batch = FrameWriter.batch(frames)
    events = feed(FrameReader(), [batch])
    assert [type(e) for e in events] == [MessageArrived, PingArrived, AckArrived, MessageArrived]
    assert events[0].message == first and events[3].message == second  # type: ignore[union-attr]


def test_a_bad_frame_inside_a_batch_costs_only_itself() -> None:
    good = FrameWriter().message(codec.encode(progress("kept")))[0]
    reader = FrameReader()
    events = feed(reader, [FrameWriter.batch([b"Mnot json", good])])
    assert [type(e) for e in events] == [FrameRejected, MessageArrived]
    assert reader.malformed == 1


@pytest.mark.parametrize(
    "frame",
    [
        b"N\x00\x00",  # ends inside a length
        b"N\x00\x00\x00\x09abc",  # truncated frame
        b"N\x00\x00\x00\x00",  # empty frame
        FrameWriter.batch([b"C" + struct.pack(">III", 1, 0, 2) + b"x"]),
        FrameWriter.batch([FrameWriter.batch([b"A1"])]),
    ],
)
def test_malformed_batches_are_rejected(frame: bytes) -> None:
    reader = FrameReader()
    events = feed(reader, [frame])
    assert isinstance(events[-1], FrameRejected)
    assert not [e for e in events if isinstance(e, MessageArrived)]


def _comparable(events: list[FrameEvent]) -> list[object]:
    return [
        (type(e.error), str(e.error), e.size) if isinstance(e, FrameRejected) else e for e in events
    ]


def test_read_gives_what_receive_frame_and_events_give() -> None:
    writer = FrameWriter(Limits(chunk_threshold=2048, chunk_size=1024))
    big = progress("x" * 5000)
    corpus: list[bytes | str] = [
        *writer.message(codec.encode(progress("one"))),
        *writer.message(codec.encode(progress()), Delivery.ACKED),
        *writer.message(codec.encode(progress()), Delivery.REPLY, in_reply_to="req-1"),
        *writer.message(codec.encode(big)),  # chunks
        FrameWriter.batch([b"M" + codec.encode(progress("a")), FrameWriter.ack("id-1")]),
        FrameWriter.ping(1, 2.5, None),
        FrameWriter.pong(1, 2.5),
        FrameWriter.bye("tok", "closing"),
        b"",
        b"M",
        b"M{not json",
        b'M{"type": "no.such"}',
        b"Z123",
        b"R\x00",
        ("M" + codec.encode(progress("text")).decode()),  # a browser's text frame
        b"M" + b"x" * (300 * 1024),  # above max_frame
    ]
    by_read, by_queue = FrameReader(), FrameReader()
    for frame in corpus:
        by_queue.receive_frame(frame)
        assert _comparable(by_read.read(frame)) == _comparable(list(by_queue.events()))
    assert by_read.malformed == by_queue.malformed > 0


def test_a_message_above_max_message_is_refused_even_below_the_chunk_threshold() -> None:
    writer = FrameWriter(Limits(max_message=1024))
    with pytest.raises(MalformedFrame, match="limit is 1024"):
        writer.message(b"{" + b" " * 2000 + b"}")
