"""One writer order per pair epoch, on real aiortc channels: catch-up before any ack, acks
queued (never dropped) behind a full channel, duplicates acked again, an ack counted only on
the epoch that carried the message, and catch-up exchange reported."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from ifmesh.node.mesh.catchup import catch_up_frames
from ifmesh.node.mesh.config import LOOPBACK, MeshConfig
from ifmesh.node.mesh.events import MessageReceived, PeerCaughtUp, PeerDown, PeerUp
from ifmesh.node.mesh.frame_writer import FrameWriter
from ifmesh.node.mesh.framing import AckArrived, Delivery, FrameEvent
from ifmesh.node.mesh.inbox import Inbox
from ifmesh.node.mesh.mesh import Mesh
from ifmesh.node.mesh.pair import Pair
from ifmesh.node.mesh.peer import PeerLink, Role
from ifmesh.node.mesh.reconnect import PairEpochs
from ifmesh.node.protocol import codec, messages
from ifmesh.signaling.protocol import Offer
from tests.integration.mesh.conftest import (
    TIMEOUT,
    MeshFactory,
    claim_of_size,
    full_mesh,
    next_event,
    progress,
)

pytestmark = pytest.mark.integration


def link_to(mesh: Mesh, peer: str) -> PeerLink:
    link = mesh.pairs[peer].link
    assert link is not None
    return link


def spy_on_acks(mesh: Mesh, monkeypatch: pytest.MonkeyPatch, log: list[Any]) -> None:
    """Appends ("ack", id, peer) to ``log`` as each ack frame is handled by ``mesh``."""
    original = mesh.inbox.on_frame_event

    def spy(pair: Pair, link: PeerLink, event: FrameEvent) -> None:
        if isinstance(event, AckArrived):
            log.append(("ack", event.id, pair.peer))
        original(pair, link, event)

    monkeypatch.setattr(mesh.inbox, "on_frame_event", spy)


async def test_catch_up_frames_precede_the_first_ack_on_a_fresh_pair(
    make_mesh: MeshFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    alpha = await make_mesh("alpha")
    # Enough to take a while on the wire, one of them chunked.
    catch_up = [progress("alpha", str(i)) for i in range(40)] + [claim_of_size("alpha", 100_000)]
    alpha.on_catch_up(lambda peer: catch_up)
    bravo = await make_mesh("bravo")
    events = bravo.events()
    log: list[Any] = []
    bravo.on_message(lambda e: log.append(("message", e.message.id, "alpha" in bravo.caught_up)))
    spy_on_acks(bravo, monkeypatch, log)
    original_caught_up = bravo.on_pair_caught_up
    monkeypatch.setattr(
        bravo, "on_pair_caught_up", lambda pair: (log.append(("U",)), original_caught_up(pair))
    )
    await next_event(events, PeerUp, lambda e: e.peer == "alpha")
    claim = progress("bravo", "as early as bravo can")  # sent the moment the pair is up
    acks = await bravo.broadcast_acked(claim, timeout=TIMEOUT)
    assert acks.acked == {"alpha"}
    first_ack = log.index(("ack", claim.id, "alpha"))
    before = log[:first_ack]
    assert [entry[1] for entry in before if entry[0] == "message"] == [e.id for e in catch_up]
    assert ("U",) in before, "the caught-up mark came after the catch-up, before the ack"
    assert "alpha" in bravo.caught_up


async def test_a_full_channel_queues_acks_in_order_instead_of_dropping_them(
    make_mesh: MeshFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    alpha, bravo = await full_mesh(make_mesh, ["alpha", "bravo"])
    bravo_link = link_to(bravo, "alpha")
    backlog_when_acked: list[int] = []
    bravo.on_message(lambda e: backlog_when_acked.append(len(bravo_link.outbox.waiting)))
    log: list[Any] = []
    alpha.on_message(lambda e: log.append(("message", e.message.id, e.peer)))
    spy_on_acks(alpha, monkeypatch, log)
    big = [claim_of_size("bravo", messages.MAX_ENCODED_BYTES, fill=str(i)) for i in range(3)]
    sending = asyncio.gather(*(bravo.send("alpha", m) for m in big))
    await asyncio.sleep(0)  # each send has queued its chunks: megabytes wait behind 64 KiB
    assert len(bravo_link.outbox.waiting) > 100
    claims = [progress("alpha", f"claim {i}") for i in range(3)]
    results = await asyncio.gather(*(alpha.broadcast_acked(c, timeout=TIMEOUT) for c in claims))
    await sending
    assert [r.acked for r in results] == [{"bravo"}] * 3, "no ack was dropped"
    assert len(backlog_when_acked) == 3 and min(backlog_when_acked) > 0, "acked into a backlog"
    assert log == [
        *(("message", m.id, "bravo") for m in big),
        *(("ack", c.id, "bravo") for c in claims),
    ], "the acks waited behind what bravo had queued before, in order"


async def test_a_duplicate_message_is_acked_again(make_mesh: MeshFactory) -> None:
    alpha, bravo = await full_mesh(make_mesh, ["alpha", "bravo"])
    delivered: list[MessageReceived] = []
    bravo.on_message(delivered.append)
    claim = progress("alpha", "claim")
    first = await alpha.broadcast_acked(claim, timeout=TIMEOUT)
    again = await alpha.broadcast_acked(claim, timeout=TIMEOUT)
    assert first.acked == again.acked == {"bravo"}
    assert [d.message.id for d in delivered] == [claim.id], "delivered once"
    assert bravo.metrics()["alpha"].duplicates == 1


async def test_an_ack_on_a_later_pair_epoch_does_not_count(make_mesh: MeshFactory) -> None:
    alpha, bravo, charlie = await full_mesh(make_mesh, ["alpha", "bravo", "charlie"])
    watch = alpha.events()
    received = alpha.events()
    # Expired on arrival: the peers drop it without acking, so the test says when acks come.
    long_ago = datetime.now(UTC) - timedelta(hours=1)
    payload = messages.TaskProgress(task_id="P0.5.2", epoch=1, percent=50)
    stale = messages.make_message(payload, source="alpha", timestamp=long_ago, ttl=1)
    first_epoch = link_to(alpha, "bravo").epoch
    waiting = asyncio.ensure_future(alpha.broadcast_acked(stale, timeout=60))
    await asyncio.sleep(0)  # handed to both links: the epochs that carry it are fixed
    await link_to(bravo, "alpha").pc.close()  # alpha-bravo breaks and is rebuilt
    await next_event(watch, PeerDown, lambda e: e.peer == "bravo")
    up = await next_event(watch, PeerUp, lambda e: e.peer == "bravo")
    assert up.epoch > first_epoch
    await bravo.wait_ready(TIMEOUT, {"alpha"})
    # bravo acks on the new epoch, then says something after it on the same channel.
    link_to(bravo, "alpha").enqueue([FrameWriter.ack(stale.id)])
    await bravo.send("alpha", progress("bravo", "after the ack"))
    await next_event(received, MessageReceived, lambda e: e.peer == "bravo")
    assert not waiting.done(), "charlie has not acked yet"
    link_to(charlie, "alpha").enqueue([FrameWriter.ack(stale.id)])  # on the carrying epoch
    acks = await asyncio.wait_for(waiting, TIMEOUT)
    assert acks.acked == {"charlie"}, "bravo's ack came on a later epoch: it does not count"
    assert acks.elsewhere == {"bravo"} and acks.lost == {"bravo"}
    assert acks.carried["bravo"] == first_epoch


async def test_catch_up_exchange_is_reported_per_pair_epoch(make_mesh: MeshFactory) -> None:
    alpha = await make_mesh("alpha")
    catch_up = [progress("alpha", str(i)) for i in range(3)]
    alpha.on_catch_up(lambda peer: catch_up)
    watch_a = alpha.events()
    bravo = await make_mesh("bravo")
    watch_b = bravo.events()
    delivered: list[str] = []
    bravo.on_message(lambda e: delivered.append(e.message.id))
    on_a = await next_event(watch_a, PeerCaughtUp)
    on_b = await next_event(watch_b, PeerCaughtUp)
    assert (on_a.peer, on_b.peer) == ("bravo", "alpha") and on_a.epoch == on_b.epoch
    assert delivered == [e.id for e in catch_up], "bravo had alpha's catch-up when told"
    assert alpha.caught_up == {"bravo"} and bravo.caught_up == {"alpha"}
    await link_to(bravo, "alpha").pc.close()
    await next_event(watch_a, PeerDown)
    assert "bravo" not in alpha.caught_up, "a broken channel ends the exchange"
    again = await next_event(watch_a, PeerCaughtUp)
    assert again.peer == "bravo" and again.epoch > on_a.epoch
    await next_event(watch_b, PeerCaughtUp, lambda e: e.epoch == again.epoch)
    assert alpha.caught_up == {"bravo"} and bravo.caught_up == {"alpha"}
    assert bravo.metrics()["alpha"].duplicates == len(catch_up), "sent again, folded once"


async def test_a_failed_catch_up_is_never_reported_as_exchanged(make_mesh: MeshFactory) -> None:
    alpha = await make_mesh("alpha")

    def broken(peer: str) -> list[messages.Envelope]:
        raise RuntimeError("the board is not ready")

    alpha.on_catch_up(broken)
    bravo = await make_mesh("bravo")
    await asyncio.gather(alpha.wait_ready(TIMEOUT, {"bravo"}), bravo.wait_ready(TIMEOUT, {"alpha"}))
    to_a, to_b = alpha.events(), bravo.events()
    # Anything a caught-up mark would have preceded on each channel has arrived after these.
    await bravo.send("alpha", progress("bravo", "after"))
    await alpha.send("bravo", progress("alpha", "after"))
    await next_event(to_a, MessageReceived)
    await next_event(to_b, MessageReceived)
    assert bravo.caught_up == frozenset(), "alpha sent no caught-up mark"
    assert alpha.caught_up == frozenset(), "alpha's own catch-up was not queued"


class Host:
    """The mesh side of one pair (a LocalPeer), for driving a Pair without a mesh."""

    session = "bravo"
    rng = random.Random(7)
    ice_servers = ()

    def __init__(self, catch_up: list[messages.Envelope]) -> None:
        self.config = MeshConfig("ws://127.0.0.1:9/ws", "room", "bravo", host_addresses=LOOPBACK)
        self.epochs = PairEpochs(start=1)
        self.inbox = Inbox(FrameWriter(), 100)
        self.catch_up = catch_up
        self.ups: list[int] = []
        self.closing: list[asyncio.Task[None]] = []

    def now(self) -> float:
        return asyncio.get_running_loop().time()

    async def signaling_joined(self) -> None:
        return None

    async def signal(self, frame: object) -> bool:
        return True

    def catch_up_frames(self, peer: str) -> list[bytes] | None:
        return catch_up_frames(lambda _: self.catch_up, peer, self.inbox.writer)

    def on_frame_event(self, pair: Pair, link: PeerLink, event: FrameEvent) -> None:
        self.inbox.on_frame_event(pair, link, event)

    def on_pair_up(self, pair: Pair) -> None:
        assert pair.link is not None
        self.ups.append(pair.link.epoch)

    def on_pair_caught_up(self, pair: Pair) -> None: ...
    def on_pair_suspect(self, pair: Pair, silence: float) -> None: ...
    def on_pair_down(self, pair: Pair, reason: object, detail: str) -> None: ...

    def close_later(self, link: PeerLink) -> None:
        self.closing.append(asyncio.ensure_future(link.close()))


async def test_a_frame_before_the_open_event_opens_the_link_with_catch_up_first() -> None:
    """aiortc delivers a DATA chunk that overtook the handshake's last packet before it reports
    the channel open: the pair opens the link on that frame, so its catch-up still goes
    first, ahead of the ack of that frame."""
    catch_up = [progress("bravo", str(i)) for i in range(2)]
    host = Host(catch_up)
    pair = Pair(host, "alpha")  # bravo answers alpha
    offerer = PeerLink(
        peer="bravo", epoch=5, role=Role.OFFERER, ice_servers=[], host_addresses=LOOPBACK,
        on_frame=lambda data: None, on_open=lambda: None, on_closed=lambda reason: None,
    )  # fmt: skip
    try:
        await pair.on_offer(Offer(to="bravo", epoch=5, sdp=await offerer.create_offer()))
        link = link_of(pair)
        assert not link.is_open and host.ups == []
        claim = progress("alpha", "claim")
        link.channel.emit("message", FrameWriter().message(codec.encode(claim), Delivery.ACKED)[0])
        assert host.ups == [5], "the frame opened the link"
        expected = [*(host.catch_up_frames("alpha") or []), FrameWriter.ack(claim.id)]
        assert list(link.outbox.waiting) == expected, "catch-up, its mark, then the ack"
    finally:
        await pair.stop(None, "test over")
        await offerer.close()
        await asyncio.gather(*host.closing)


def link_of(pair: Pair) -> PeerLink:
    assert pair.link is not None
    return pair.link
