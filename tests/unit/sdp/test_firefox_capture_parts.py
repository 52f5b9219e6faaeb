"""The pure parts of the Firefox capture: BiDi values, the profile's prefs, the strace reader."""

from __future__ import annotations

import re

import pytest

from ifmesh.node.sdp.capture.egress import allowed, outside_attempts
from ifmesh.node.sdp.capture.firefox import FirefoxError, from_remote, script_result
from ifmesh.node.sdp.capture.firefox_prefs import QUIET, WEBRTC, user_js

# --- WebDriver BiDi values -------------------------------------------------------------------


def test_remote_values_become_plain_json() -> None:
    value = {
        "type": "object",
        "value": [
            ["initial", {"type": "string", "value": "v=0\r\n"}],
            [
                "trickle",
                {
                    "type": "array",
                    "value": [
                        {
                            "type": "object",
                            "value": [
                                ["candidate", {"type": "null"}],
                                ["sdpMLineIndex", {"type": "number", "value": 0}],
                            ],
                        }
                    ],
                },
            ],
            ["open", {"type": "boolean", "value": True}],
            ["nan", {"type": "number", "value": "NaN"}],
            ["big", {"type": "bigint", "value": "12345678901234567890"}],
            ["gone", {"type": "undefined"}],
        ],
    }
    assert from_remote(value) == {
        "initial": "v=0\r\n",
        "trickle": [{"candidate": None, "sdpMLineIndex": 0}],
        "open": True,
        "nan": None,
        "big": 12345678901234567890,
        "gone": None,
    }


def test_a_map_with_a_non_string_key_is_keyed_by_its_text() -> None:
    key, item = {"type": "number", "value": 1}, {"type": "string", "value": "a"}
    value = {"type": "map", "value": [[key, item]]}
    assert from_remote(value) == {"1": "a"}


def test_a_value_json_cannot_hold_is_refused_by_name() -> None:
    with pytest.raises(FirefoxError, match="'node'"):
        from_remote({"type": "node", "sharedId": "x"})


def test_a_thrown_page_exception_carries_the_page_message() -> None:
    result = {
        "type": "exception",
        "exceptionDetails": {
            "text": "InvalidStateError: Cannot set remote answer in state stable",
            "exception": {"type": "error"},
        },
    }
    with pytest.raises(FirefoxError, match="Cannot set remote answer in state stable"):
        script_result(result)
    assert script_result({"type": "success", "result": {"type": "string", "value": "open"}}) == (
        "open"
    )


# --- the profile ----------------------------------------------------------------------------

_LINE = re.compile(r'^user_pref\("([^"]+)", (true|false|-?\d+|"[^"]*")\);$')


def parsed_user_js(**options: bool) -> dict[str, str]:
    prefs = {}
    for line in user_js(**options).splitlines():
        match = _LINE.match(line)
        assert match, f"not a user_pref line: {line!r}"
        prefs[match[1]] = match[2]
    return prefs


def test_user_js_turns_off_every_background_fetch() -> None:
    prefs = parsed_user_js()
    assert len(prefs) == len(QUIET) + len(WEBRTC) + 1
    # One pref per service that would otherwise phone out, as the capture's brief lists them.
    off = {
        "remote settings": ("services.settings.server", '"data:,#remote-settings-dummy/v1"'),
        "telemetry": ("toolkit.telemetry.enabled", "false"),
        "telemetry upload": ("datareporting.healthreport.uploadEnabled", "false"),
        "captive portal": ("network.captive-portal-service.enabled", "false"),
        "connectivity": ("network.connectivity-service.enabled", "false"),
        "safe browsing": ("browser.safebrowsing.update.enabled", "false"),
        "app updates": ("app.update.disabledForTesting", "true"),
        "add-on updates": ("extensions.update.enabled", "false"),
        "normandy": ("app.normandy.enabled", "false"),
        "push": ("dom.push.connection.enabled", "false"),
        "DNS over HTTPS": ("network.trr.mode", "5"),
        "prefetch": ("network.prefetch-next", "false"),
        "DNS prefetch": ("network.dns.disablePrefetch", "true"),
        "speculative connections": ("network.http.speculative-parallel-limit", "0"),
        "OpenH264 download": ("media.gmp-manager.updateEnabled", "false"),
        "OCSP": ("security.OCSP.enabled", "0"),
    }
    assert {what: prefs.get(key) for what, (key, _) in off.items()} == {
        what: value for what, (_, value) in off.items()
    }


def test_user_js_shows_real_host_addresses_and_no_stun_server() -> None:
    prefs = parsed_user_js()
    assert prefs["media.peerconnection.ice.obfuscate_host_addresses"] == "false"
    assert prefs["media.peerconnection.ice.default_address_only"] == "false"
    assert prefs["media.peerconnection.default_iceservers"] == '"[]"'
    assert prefs["media.peerconnection.ice.loopback"] == "false"
    assert parsed_user_js(loopback=True)["media.peerconnection.ice.loopback"] == "true"


# --- what strace saw ------------------------------------------------------------------------

DNS_LOOKUP = (
    '1170  connect(56<UDP:[0.0.0.0:40484]>, {sa_family=AF_INET, sin_port=htons(53), '
    'sin_addr=inet_addr("10.255.255.53")}, 16) = 0\n'
    "1170  sendmmsg(56<UDP:[10.77.0.1:40484->10.255.255.53:53]>, [{msg_hdr={msg_name=NULL, "
    'msg_iov=[{iov_base="VB\\1\\0\\0\\1\\7firefox\\10settings"..., iov_len=55}]}}], 2, '
    "MSG_NOSIGNAL) = 2\n"
)  # fmt: skip
ROUTE_PROBE = (
    '1224  connect(21<UDP:[0.0.0.0:40484]>, {sa_family=AF_INET, sin_port=htons(53), '
    'sin_addr=inet_addr("8.8.8.8")}, 16) = 0\n'
    "1224  connect(28<UDPv6:[[::]:36873]>, {sa_family=AF_INET6, sin6_port=htons(53), "
    'sin6_flowinfo=htonl(0), inet_pton(AF_INET6, "2001:4860:4860::8888", &sin6_addr), '
    "sin6_scope_id=0}, 28) = 0\n"
)  # fmt: skip
INSIDE = (
    "1175  sendto(54<TCP:[127.0.0.1:33533->127.0.0.1:51814]>, \"HTTP/1.1 101\"..., 166, 0, "
    "NULL, 0) = 166\n"
    "1221  sendto(70<UDPv6:[[fd77::1]:5000]>, \"\\0\\1\"..., 20, 0, {sa_family=AF_INET6, "
    'sin6_port=htons(6000), inet_pton(AF_INET6, "fd77::2", &sin6_addr)}, 28) = 20\n'
    "1221  sendmsg(10<UNIX-STREAM:[1234->1235]>, {msg_name=NULL}, 0) = 9\n"
)  # fmt: skip


def test_a_dns_lookup_is_a_packet_sent_outside() -> None:
    attempts = outside_attempts(DNS_LOOKUP.splitlines(keepends=True))
    assert [(a.call, a.destination) for a in attempts] == [
        ("connect", "10.255.255.53"),
        ("sendmmsg", "10.255.255.53"),
    ]
    assert [a.sends_packet for a in attempts] == [False, True]


def test_a_udp_connect_is_only_a_route_probe() -> None:
    attempts = outside_attempts(ROUTE_PROBE.splitlines())
    assert [a.destination for a in attempts] == ["8.8.8.8", "2001:4860:4860::8888"]
    assert not any(a.sends_packet for a in attempts)


def test_a_tcp_connect_outside_sends_a_packet() -> None:
    line = (
        '900  connect(30<TCP:[0.0.0.0:0]>, {sa_family=AF_INET, sin_port=htons(443), '
        'sin_addr=inet_addr("34.107.221.82")}, 16) = -1 ENETUNREACH (Network is unreachable)'
    )  # fmt: skip
    (attempt,) = outside_attempts([line])
    assert (attempt.protocol, attempt.destination, attempt.sends_packet) == (
        "TCP",
        "34.107.221.82",
        True,
    )


def test_loopback_and_namespace_traffic_is_not_reported() -> None:
    assert outside_attempts(INSIDE.splitlines()) == []
    assert allowed("10.77.0.2") and allowed("fd77::1") and allowed("127.0.0.1")
    assert not allowed("10.77.1.1") and not allowed("224.0.0.251") and not allowed("bogus")


def test_a_call_split_by_another_thread_is_joined_again() -> None:
    lines = [
        "1170  sendto(56<UDP:[0.0.0.0:4000]>, \"x\", 1, 0,  <unfinished ...>",
        "1171  futex(0x7f, FUTEX_WAKE_PRIVATE, 1) = 0",
        '1170  <... sendto resumed>{sa_family=AF_INET, sin_port=htons(53), '
        'sin_addr=inet_addr("9.9.9.9")}, 16) = 1',
    ]  # fmt: skip
    (attempt,) = outside_attempts(lines)
    assert (attempt.call, attempt.destination, attempt.sends_packet) == ("sendto", "9.9.9.9", True)
