"""Backpressure bounds what a sender buffers; close() drains before it hangs up."""

from __future__ import annotations

import pytest

from ifmesh.node.mesh.events import DownReason, MessageReceived, PeerDown
from ifmesh.node.protocol import codec, messages
from tests.integration.mesh.conftest import (
    TIMEOUT,
    MeshFactory,
    claim_of_size,
    full_mesh,
    next_event,
    take,
)

pytestmark = pytest.mark.integration


async def test_send_waits_at_the_high_water_mark_instead_of_buffering(
    make_mesh: MeshFactory,
) -> None:
    high_water = 32 * 1024
    a = await make_mesh("alpha", high_water=high_water, low_water=8 * 1024)
    b = await make_mesh("bravo")
    await a.wait_ready(TIMEOUT, {"bravo"})
    events = b.events()
    batch = [claim_of_size("alpha", 24 * 1024, fill=str(i % 10)) for i in range(12)]
    size = len(codec.encode(batch[0]))
    peak = 0
    for message in batch:
        await a.send("bravo", message)
        peak = max(peak, a.metrics()["bravo"].buffered)
    assert len(batch) * size > 4 * high_water, "far more than the mark was sent"
    assert high_water // 2 < peak <= high_water, "the buffer filled up to the mark, never past"
    received = await take(events, MessageReceived, len(batch), timeout=30)
    assert [e.message.id for e in received] == [m.id for m in batch], "all of them, in order"


async def test_close_right_after_a_large_send_loses_nothing(make_mesh: MeshFactory) -> None:
    a, b = await full_mesh(make_mesh, ["alpha", "bravo"])
    events = b.events()
    big = claim_of_size("alpha", messages.MAX_ENCODED_BYTES)
    await a.send("bravo", big)
    await a.close()  # aiortc would drop the queued chunks if this did not drain first
    received = await next_event(events, MessageReceived, timeout=30)
    assert received.message == big
    left = await next_event(events, PeerDown)
    assert left.reason is DownReason.LEFT
