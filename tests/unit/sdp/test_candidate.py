from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ifmesh.node.sdp.candidate import parse_candidate
from ifmesh.node.sdp.errors import BadCandidate


def test_chromium_host_candidate_with_extensions() -> None:
    c = parse_candidate(
        "candidate:2154662704 1 udp 2113937151 10.77.0.1 54651 typ host generation 0 "
        "ufrag LD55 network-cost 999",
        line=3,
    )
    assert (c.foundation, c.component, c.transport, c.priority) == (
        "2154662704",
        1,
        "udp",
        2113937151,
    )
    assert (c.address, c.port, c.type, c.address_family) == ("10.77.0.1", 54651, "host", "ipv4")
    assert dict(c.extensions) == {"generation": "0", "ufrag": "LD55", "network-cost": "999"}


def test_relay_and_mdns_and_tcp_candidates() -> None:
    relay = parse_candidate(
        "a=candidate:3 1 udp 33562623 203.0.113.9 60000 typ relay raddr 198.51.100.7 rport 51000",
        line=1,
    )
    assert (relay.related_address, relay.related_port) == ("198.51.100.7", 51000)
    mdns = parse_candidate(
        "candidate:1 1 udp 2113937151 945c11f5-8fc8-4cad-8723-16dda4389149.local 42008 typ host",
        line=1,
    )
    assert mdns.address_family == "mdns"
    tcp = parse_candidate("candidate:1 1 TCP 1518280447 fd77::1 9 typ host tcptype active", line=1)
    assert (tcp.tcptype, tcp.address_family) == ("active", "ipv6")


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("candidate:1 1 udp 2113937151 10.0.0.1 typ host", "needs at least 8"),
        ("candidate:1 1 udp 2113937151 10.0.0.300 5000 typ host", "neither an IP"),
        ("candidate:1 1 udp 2113937151 10.0.0.1 5000 typ hots", "'hots'"),
        ("candidate:1 1 udp 2113937151 10.0.0.1 70000 typ host", "port 70000"),
        ("candidate:1 0 udp 2113937151 10.0.0.1 5000 typ host", "component id 0"),
        ("candidate:1 1 udp x 10.0.0.1 5000 typ host", "priority 'x'"),
        ("candidate:1 1 udp 1 10.0.0.1 5000 type host", "expected 'typ'"),
        ("candidate:f@o 1 udp 1 10.0.0.1 5000 typ host", "foundation"),
        ("candidate:1 1 tcp 1 10.0.0.1 5000 typ host", "tcptype"),
        ("candidate:1 1 udp 1 10.0.0.1 5000 typ srflx raddr", "has no value"),
        ("candidate:1 1 udp 1 10.0.0.1 5000 typ srflx raddr 10.0.0.2 x y", "come together"),
    ],
)
def test_garbled_candidates_are_refused_with_their_line(text: str, reason: str) -> None:
    with pytest.raises(BadCandidate) as raised:
        parse_candidate(text, line=42)
    assert raised.value.line == 42
    assert reason in str(raised.value)


ADDRESSES = st.one_of(
    st.ip_addresses(v=4).map(str), st.ip_addresses(v=6).map(str), st.just("a-b.local")
)


@given(
    foundation=st.from_regex(r"[A-Za-z0-9+/]{1,32}", fullmatch=True),
    component=st.integers(1, 256),
    priority=st.integers(1, 2**31 - 1),
    address=ADDRESSES,
    port=st.integers(0, 65535),
    kind=st.sampled_from(["host", "srflx", "prflx", "relay"]),
)
def test_any_valid_candidate_parses_back_to_its_fields(
    foundation: str, component: int, priority: int, address: str, port: int, kind: str
) -> None:
    text = f"candidate:{foundation} {component} udp {priority} {address} {port} typ {kind}"
    c = parse_candidate(text, line=1)
    assert (c.foundation, c.component, c.priority, c.address, c.port, c.type) == (
        foundation, component, priority, address, port, kind,
    )  # fmt: skip
