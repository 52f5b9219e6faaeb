"""Meshes of real aiortc peers in one process, rendezvousing through a real signaling server."""

from __future__ import annotations

import asyncio

import pytest

from ifmesh.node.mesh.errors import PeerUnavailable, ReplyTimeout
from ifmesh.node.mesh.events import DownReason, MessageReceived, PeerDown, PeerUp
from ifmesh.node.mesh.mesh import Mesh
from ifmesh.node.protocol import codec, messages
from tests.integration.mesh.conftest import (
    TIMEOUT,
    MeshFactory,
    claim_of_size,
    full_mesh,
    next_event,
    progress,
    take,
)

pytestmark = pytest.mark.integration

PER_SENDER = 5


@pytest.mark.parametrize("size", [2, 5, 8])
async def test_full_mesh_delivers_every_broadcast_once_in_order(
    make_mesh: MeshFactory, size: int
) -> None:
    sessions = [f"node-{i}" for i in range(size)]
    meshes = await full_mesh(make_mesh, sessions)
    streams = [mesh.events() for mesh in meshes]
    for round_ in range(PER_SENDER):
        for mesh in meshes:
            sent_to = await mesh.broadcast(progress(mesh.session, f"{round_}"))
            assert sent_to == frozenset(sessions) - {mesh.session}
    expected = (size - 1) * PER_SENDER
    received = await asyncio.gather(*(take(s, MessageReceived, expected) for s in streams))
    for mesh, events in zip(meshes, received, strict=True):
        by_sender: dict[str, list[str]] = {}
        for event in events:
            assert event.message.source == event.peer
            by_sender.setdefault(event.peer, []).append(event.message.payload.milestone)
        assert set(by_sender) == set(sessions) - {mesh.session}
        for milestones in by_sender.values():
            assert milestones == [str(r) for r in range(PER_SENDER)], "in order, exactly once"
    await asyncio.sleep(0)  # let any stray duplicate surface before checking
    for mesh in meshes:
        for metrics in mesh.metrics().values():
            assert metrics.duplicates == 0 and metrics.malformed == 0
            assert metrics.messages_in == PER_SENDER and metrics.messages_out == PER_SENDER


async def test_graceful_close_is_reported_as_left_within_one_second(
    make_mesh: MeshFactory,
) -> None:
    a, b = await full_mesh(make_mesh, ["alpha", "bravo"])
    events = a.events()
    loop = asyncio.get_running_loop()
    started = loop.time()
    await b.close()
    down = await next_event(events, PeerDown, timeout=1.0)
    assert (down.peer, down.reason) == ("bravo", DownReason.LEFT)
    assert loop.time() - started < 1.0
    with pytest.raises(PeerUnavailable):
        await a.send("bravo", progress("alpha"))


async def test_one_mebibyte_round_trips_through_request_and_reply(
    make_mesh: MeshFactory,
) -> None:
    a, b = await full_mesh(make_mesh, ["alpha", "bravo"])
    big = claim_of_size("alpha", messages.MAX_ENCODED_BYTES)
    assert len(codec.encode(big)) > messages.MAX_ENCODED_BYTES - 2048
    answer_message = claim_of_size("bravo", messages.MAX_ENCODED_BYTES, fill="y")

    async def answer() -> None:
        request = await next_event(b.events(), MessageReceived, lambda e: e.request)
        assert request.message == big and request.size > messages.MAX_ENCODED_BYTES - 2048
        await b.reply(request, answer_message)

    responder = asyncio.create_task(answer())
    reply = await a.request("bravo", big, timeout=TIMEOUT)
    await responder
    assert reply == answer_message
    assert a.metrics()["bravo"].bytes_out > messages.MAX_ENCODED_BYTES - 2048


async def test_request_without_reply_times_out(make_mesh: MeshFactory) -> None:
    a, _ = await full_mesh(make_mesh, ["alpha", "bravo"])
    with pytest.raises(ReplyTimeout):
        await a.request("bravo", progress("alpha"), timeout=0.3)


async def test_broadcast_with_ack_names_the_peers_that_acknowledged(
    make_mesh: MeshFactory,
) -> None:
    meshes = await full_mesh(make_mesh, ["alpha", "bravo", "charlie"])
    acked = await meshes[0].broadcast(progress("alpha"), ack=True, timeout=TIMEOUT)
    assert acked == {"bravo", "charlie"}


async def test_malformed_frames_are_dropped_and_the_peer_stays_up(
    make_mesh: MeshFactory,
) -> None:
    a, b = await full_mesh(make_mesh, ["alpha", "bravo"])
    events = b.events()
    link = a.pairs["bravo"].link
    assert link is not None
    link.channel.send(b"garbage that is no frame")
    link.channel.send(b'M{"type": "task.progress"}')
    spoofed = codec.encode(progress("charlie", "spoofed"))
    link.channel.send(b"M" + spoofed)
    await a.send("bravo", progress("alpha", "after"))
    received = await next_event(events, MessageReceived)
    assert received.message.payload.milestone == "after", "bad frames were not delivered"
    metrics = b.metrics()["alpha"]
    assert metrics.malformed == 3 and metrics.state == "up"
    assert "alpha" in b.peers_up


async def test_hints_reach_the_handler_of_their_topic_and_nothing_else(
    make_mesh: MeshFactory,
) -> None:
    """Hints (node.mesh.framing, kind H) go to every open peer and to the handler registered
    for their topic; they are no messages: nothing reaches events() or the message handler."""
    a, b, c = await full_mesh(make_mesh, ["alpha", "bravo", "charlie"])
    got: dict[str, list[tuple[str, dict[str, object]]]] = {"bravo": [], "charlie": []}
    arrived = asyncio.Event()
    messages_seen: list[MessageReceived] = []
    message_came = asyncio.Event()
    for mesh in (b, c):

        def handler(peer: str, data: dict[str, object], into: str = mesh.session) -> None:
            got[into].append((peer, data))
            if all(got.values()):
                arrived.set()

        mesh.on_hint("gitsync.turn", handler)
        mesh.on_message(lambda event: (messages_seen.append(event), message_came.set()))
    assert a.hint("other.topic", {"x": 1}) == {"bravo", "charlie"}  # no handler: dropped
    assert a.hint("gitsync.turn", {"landed": "ab" * 20}) == {"bravo", "charlie"}
    await asyncio.wait_for(arrived.wait(), TIMEOUT)
    assert got == {
        "bravo": [("alpha", {"landed": "ab" * 20})],
        "charlie": [("alpha", {"landed": "ab" * 20})],
    }
    await a.send("bravo", progress("alpha", "after the hints"))  # ordered behind them
    await asyncio.wait_for(message_came.wait(), TIMEOUT)
    assert [e.message.payload.milestone for e in messages_seen] == ["after the hints"]
    assert b.metrics()["alpha"].malformed == 0


async def test_restarted_offerer_rebuilds_its_pairs(make_mesh: MeshFactory) -> None:
    # "a-first" has the lowest id, so it offers to everyone; its new incarnation must be
    # accepted although the others saw an earlier build.
    first, second, _ = await full_mesh(make_mesh, ["a-first", "b-second", "c-third"])
    watch = second.events()
    await first.close()
    await next_event(watch, PeerDown, lambda e: e.peer == "a-first")
    again = await make_mesh("a-first")
    await again.wait_ready(TIMEOUT, {"b-second", "c-third"})
    up = await next_event(watch, PeerUp, lambda e: e.peer == "a-first")
    assert up.epoch > 0
    sent = await again.broadcast(progress("a-first", "back"), ack=True, timeout=TIMEOUT)
    assert sent == {"b-second", "c-third"}
    received = await next_event(watch, MessageReceived)
    assert received.message.payload.milestone == "back"


async def test_mesh_close_is_idempotent_and_refuses_later_sends(make_mesh: MeshFactory) -> None:
    mesh: Mesh = await make_mesh("solo")
    await mesh.close()
    await mesh.close()
    with pytest.raises(Exception, match="closed"):
        await mesh.broadcast(progress("solo"))


async def test_a_failed_connection_is_rebuilt_with_a_new_epoch(make_mesh: MeshFactory) -> None:
    a, b = await full_mesh(make_mesh, ["alpha", "bravo"])
    watch_a, watch_b = a.events(), b.events()
    first_epoch = a.pairs["bravo"].metrics.epoch
    link = b.pairs["alpha"].link
    assert link is not None
    await link.pc.close()  # the connection dies under the mesh (no bye)
    down = await next_event(watch_a, PeerDown)
    assert (down.peer, down.reason) == ("bravo", DownReason.DEAD)
    up = await next_event(watch_a, PeerUp)
    assert up.peer == "bravo" and up.reconnects == 1
    assert first_epoch is not None and up.epoch > first_epoch, "a rebuild bumps the epoch"
    await next_event(watch_b, PeerUp, lambda e: e.epoch == up.epoch)
    acked = await a.broadcast(progress("alpha", "again"), ack=True, timeout=TIMEOUT)
    assert acked == {"bravo"}


async def test_a_message_handler_takes_messages_in_the_delivery_callback(
    make_mesh: MeshFactory,
) -> None:
    a, b = await full_mesh(make_mesh, ["alpha", "bravo"])
    handled: list[str] = []
    arrived = {milestone: asyncio.Event() for milestone in ("3", "4")}

    def handle(event: MessageReceived) -> None:
        milestone = event.message.payload.milestone
        if milestone == "boom":
            raise RuntimeError("a bug in the handler")
        handled.append(milestone)
        if milestone in arrived:
            arrived[milestone].set()

    b.on_message(handle)
    events = b.events()
    for milestone in ("1", "boom", "2", "3"):
        await a.broadcast(progress("alpha", milestone))
    await asyncio.wait_for(arrived["3"].wait(), TIMEOUT)
    assert handled == ["1", "2", "3"], "in order; the raising handler lost only its own"
    assert b.metrics()["alpha"].messages_in == 4
    assert not [e for e in events.pending() if isinstance(e, MessageReceived)]
    await a.broadcast(progress("alpha", "4"))  # the channel is still up after the bug
    await asyncio.wait_for(arrived["4"].wait(), TIMEOUT)
