"""The peer layer's pure parts: who offers, and which SDPs are refused before aiortc sees them."""

from __future__ import annotations

import pytest
from aiortc import RTCConfiguration, RTCPeerConnection

from ifmesh.node.errors import SdpError
from ifmesh.node.mesh.peer import Role, check_sdp, role_towards


def test_the_lower_session_id_offers_on_both_sides() -> None:
    assert role_towards("session-1", "session-2") is Role.OFFERER
    assert role_towards("session-2", "session-1") is Role.ANSWERER


@pytest.fixture
async def aiortc_offer() -> str:
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    try:
        pc.createDataChannel("ifmesh", negotiated=True, id=0)
        await pc.setLocalDescription(await pc.createOffer())
        return str(pc.localDescription.sdp)
    finally:
        await pc.close()


def test_aiortc_offer_passes(aiortc_offer: str) -> None:
    check_sdp(aiortc_offer, "offer")


def test_offer_without_fingerprint_is_refused(aiortc_offer: str) -> None:
    stripped = "\r\n".join(
        line for line in aiortc_offer.splitlines() if not line.startswith("a=fingerprint")
    )
    with pytest.raises(SdpError, match="fingerprint"):
        check_sdp(stripped + "\r\n", "offer")


def test_offer_without_data_channel_is_refused(aiortc_offer: str) -> None:
    disabled = []
    for line in aiortc_offer.splitlines():
        if line.startswith("m=application"):
            parts = line.split()
            parts[1] = "0"
            line = " ".join(parts)
        disabled.append(line)
    with pytest.raises(SdpError, match="no active m=application"):
        check_sdp("\r\n".join(disabled) + "\r\n", "offer")


def test_garbage_is_refused() -> None:
    with pytest.raises(SdpError):
        check_sdp("this is not SDP", "offer")
