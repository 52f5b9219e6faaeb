"""Subscriptions deliver every event in order, wait without polling, and end with the mesh."""

from __future__ import annotations

import asyncio

from ifmesh.node.mesh.events import DownReason, MeshReady, PeerDown, PeerUp, Subscription
from ifmesh.node.mesh.frame_writer import FrameWriter
from ifmesh.node.mesh.inbox import Inbox


async def test_a_subscription_yields_in_order_and_ends() -> None:
    subscription = Subscription()
    subscription.put(PeerUp("a", 1, 0))
    subscription.put(PeerDown("a", DownReason.LEFT))
    subscription.end()
    subscription.put(MeshReady(frozenset()))  # after the end: not delivered
    assert [e async for e in subscription] == [PeerUp("a", 1, 0), PeerDown("a", DownReason.LEFT)]
    assert [e async for e in subscription] == [], "an ended subscription stays ended"


async def test_a_waiting_consumer_is_woken_by_the_next_event() -> None:
    subscription = Subscription()
    consumer = asyncio.create_task(anext(subscription))
    await asyncio.sleep(0)
    assert not consumer.done()
    subscription.put(PeerUp("b", 2, 0))
    assert await asyncio.wait_for(consumer, 1.0) == PeerUp("b", 2, 0)


async def test_the_first_subscriber_gets_what_happened_before_it_subscribed() -> None:
    inbox = Inbox(FrameWriter(), dedupe_capacity=16)
    inbox.emit(PeerUp("a", 1, 0))
    first = inbox.subscribe(closed=False)
    second = inbox.subscribe(closed=False)
    inbox.emit(PeerUp("b", 1, 0))
    inbox.close()
    assert [e async for e in first] == [PeerUp("a", 1, 0), PeerUp("b", 1, 0)]
    assert [e async for e in second] == [PeerUp("b", 1, 0)]
