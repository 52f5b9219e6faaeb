"""ICE configuration: loopback gathering on request, explicit servers, trickled candidates."""

from __future__ import annotations

import aioice.ice
import pytest
from aiortc import RTCConfiguration, RTCPeerConnection

from ifmesh.node.errors import ConfigError, ProtocolError
from ifmesh.node.mesh import ice


def test_gathering_uses_the_chosen_addresses_only_inside_the_block() -> None:
    with ice.gather_from(["127.0.0.1"]):
        assert aioice.ice.get_host_addresses(True, False) == ["127.0.0.1"]
        assert aioice.ice.get_host_addresses(False, True) == []
    assert "127.0.0.1" not in aioice.ice.get_host_addresses(True, False)


async def test_an_offer_made_inside_the_block_carries_a_loopback_candidate_only() -> None:
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    try:
        pc.createDataChannel("probe", negotiated=True, id=0)
        with ice.gather_from(ice.LOOPBACK):
            await pc.setLocalDescription(await pc.createOffer())
        candidates = [
            line for line in pc.localDescription.sdp.splitlines() if line.startswith("a=candidate")
        ]
        assert candidates and all(" 127.0.0.1 " in line for line in candidates)
    finally:
        await pc.close()


def test_host_addresses_are_validated() -> None:
    assert ice.check_host_addresses(None) is None
    assert ice.check_host_addresses(["127.0.0.1", "::1"]) == ("127.0.0.1", "::1")
    with pytest.raises(ConfigError, match="not an IP address"):
        ice.check_host_addresses(["localhost"])
    with pytest.raises(ConfigError):
        ice.check_host_addresses([])


def test_ice_servers_accept_stun_and_turn_with_credentials() -> None:
    servers = ice.rtc_ice_servers(
        [
            ice.IceServer(urls=["stun:stun.example.org:3478"]),
            ice.IceServer(urls=["turn:turn.example.org?transport=tcp"], username="u",
                          credential="p"),
        ]
    )  # fmt: skip
    assert [s.urls for s in servers] == [
        ["stun:stun.example.org:3478"],
        ["turn:turn.example.org?transport=tcp"],
    ]
    assert servers[1].username == "u" and servers[1].credential == "p"
    assert ice.rtc_ice_servers([]) == []


@pytest.mark.parametrize(
    ("server", "message"),
    [
        (ice.IceServer(urls=["http://example.org"]), "not a stun:"),
        (ice.IceServer(urls=["turn:turn.example.org"]), "username and a credential"),
    ],
)
def test_bad_ice_servers_get_config_errors(server: ice.IceServer, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        ice.rtc_ice_servers([server])


def test_trickled_browser_candidate_is_parsed() -> None:
    line = "candidate:842163049 1 udp 1677729535 10.77.0.1 46154 typ srflx raddr 0.0.0.0 rport 0"
    candidate = ice.parse_candidate(line, "0", 0)
    assert candidate is not None
    assert (candidate.ip, candidate.port, candidate.type) == ("10.77.0.1", 46154, "srflx")
    assert candidate.sdpMid == "0"
    assert ice.parse_candidate("a=" + line, None, None) is not None


def test_empty_candidate_means_end_of_candidates() -> None:
    assert ice.parse_candidate("", "0", 0) is None
    assert ice.parse_candidate("candidate:", "0", 0) is None


@pytest.mark.parametrize(
    "line",
    ["candidate:garbled", "candidate:1 1 udp x 10.0.0.1 5 typ host", "candidate:1 1 udp 5 "
     "abc.local 5000 typ host"],
)  # fmt: skip
def test_garbled_candidates_get_a_protocol_error(line: str) -> None:
    with pytest.raises(ProtocolError):
        ice.parse_candidate(line, "0", 0)
