"""aiortc captured live, now: its SDP still negotiates as the committed aiortc fixtures say.

Only offers are made here (nothing remote is set), so no candidate is ever contacted.
"""

from __future__ import annotations

import pytest

from ifmesh.node.mesh.sdp_replay import CapturePeer, replay
from ifmesh.node.sdp.fixtures import sdp_fixture
from tests.integration.sdp.conftest import stable

pytestmark = pytest.mark.integration


@pytest.mark.parametrize(
    ("fixture", "kinds", "datachannel"),
    [("aiortc-datachannel-offer", (), True), ("aiortc-av-offer", ("audio", "video"), False)],
)
async def test_live_aiortc_offer_matches_the_committed_fixture(
    fixture: str, kinds: tuple[str, ...], datachannel: bool
) -> None:
    peer = CapturePeer(kinds=kinds, datachannel=datachannel)
    try:
        offer = await peer.offer()
    finally:
        await peer.close()
    report = await replay(offer, source="live aiortc")
    committed = sdp_fixture(fixture).meta.expect
    assert committed is not None
    assert stable(report.summary()) == stable(committed)
    assert report.summary()["candidate_count"] >= 1  # aiortc inlines its candidates
    assert report.aiortc_candidates_agree
