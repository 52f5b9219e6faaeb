"""ICE configuration in one place: which host addresses to gather, which STUN/TURN servers.

Host addresses. aioice gathers a host candidate for every address of every interface except
127.0.0.1 (``aioice.ice.get_host_addresses`` skips it on purpose), and aiortc offers no
setting for it. Tests, the demo and the benchmarks must keep all traffic on 127.0.0.1, so we
replace that one function with a wrapper that consults a context variable: inside
``with gather_from(["127.0.0.1"]):`` gathering uses exactly those addresses; outside it (or with
``None``) aioice's own choice stands. aiortc gathers inside ``setLocalDescription`` in tasks it
spawns from the caller's task, and tasks copy the caller's context, so the choice follows the
one connection being described and several meshes in one process may differ.

ICE servers. Always explicit (default: none). aiortc's default is a public STUN host, which
is unreachable here and costs 5 s per connection. STUN and TURN URLs with credentials are
accepted; aiortc uses at most one of each.

Trickled candidates. aiortc puts all its candidates in the SDP, but a browser peer trickles
them: ``candidate:<foundation> …`` lines (prefix stripped here) and an empty string meaning
end-of-candidates.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar

import aioice.ice
from aiortc import RTCIceCandidate, RTCIceServer
from aiortc.rtcicetransport import parse_stun_turn_uri
from aiortc.sdp import candidate_from_sdp
from pydantic import BaseModel, ConfigDict, Field

from ifmesh.node.errors import ConfigError, ProtocolError

LOOPBACK = ("127.0.0.1",)

_gather_addresses: ContextVar[tuple[str, ...] | None] = ContextVar(
    "ifmesh_ice_host_addresses", default=None
)
_aioice_get_host_addresses = aioice.ice.get_host_addresses


def _get_host_addresses(use_ipv4: bool, use_ipv6: bool) -> list[str]:
    chosen = _gather_addresses.get()
    if chosen is None:
        return _aioice_get_host_addresses(use_ipv4, use_ipv6)
    return [
        address
        for address in chosen
        if (use_ipv4 and ipaddress.ip_address(address).version == 4)
        or (use_ipv6 and ipaddress.ip_address(address).version == 6)
    ]


def _install() -> None:
    if aioice.ice.get_host_addresses is not _get_host_addresses:
        aioice.ice.get_host_addresses = _get_host_addresses


_install()


def machine_addresses() -> tuple[str, ...]:
    """This machine's own IPv4 addresses but loopback: what aioice gathers when left to
    choose, and what a browser on this machine gathers too (Chromium gathers no loopback
    candidates). A node that advertises them can be reached from a browser here, and the
    traffic never leaves the machine: the kernel delivers a packet to its own address locally."""
    return tuple(
        address
        for address in _aioice_get_host_addresses(True, False)
        if not ipaddress.ip_address(address).is_loopback
    )


def check_host_addresses(addresses: Sequence[str] | None) -> tuple[str, ...] | None:
    """Validated IP literals (None: let aioice choose the host's interfaces)."""
    if addresses is None:
        return None
    checked = []
    for address in addresses:
        try:
            checked.append(str(ipaddress.ip_address(address)))
        except ValueError:
            raise ConfigError(
                f"host address {address!r} is not an IP address (e.g. 127.0.0.1)"
            ) from None
    if not checked:
        raise ConfigError("host addresses may not be empty; omit them to use every interface")
    return tuple(checked)


@contextmanager
def gather_from(addresses: Sequence[str] | None) -> Iterator[None]:
    """Within the block, ICE gathering in this context uses only ``addresses``."""
    token = _gather_addresses.set(None if addresses is None else tuple(addresses))
    try:
        yield
    finally:
        _gather_addresses.reset(token)


class IceServer(BaseModel):
    """One STUN or TURN server, as in the W3C ``RTCIceServer`` dictionary."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    urls: list[str] = Field(min_length=1)
    username: str | None = None
    credential: str | None = None


def rtc_ice_servers(servers: Sequence[IceServer]) -> list[RTCIceServer]:
    """aiortc's form of ``servers``; raises ConfigError naming a bad URL or missing secret."""
    result = []
    for server in servers:
        for url in server.urls:
            try:
                parsed = parse_stun_turn_uri(url)
            except ValueError:
                raise ConfigError(
                    f"ICE server URL {url!r} is not a stun:, turn: or turns: URL"
                    " (e.g. stun:stun.example.org:3478)"
                ) from None
            if parsed["scheme"] in ("turn", "turns") and (
                server.username is None or server.credential is None
            ):
                raise ConfigError(f"TURN server {url!r} needs a username and a credential")
        result.append(
            RTCIceServer(urls=list(server.urls), username=server.username,
                         credential=server.credential)
        )  # fmt: skip
    return result


def parse_candidate(line: str, sdp_mid: str | None, sdp_mline_index: int | None) -> (
    RTCIceCandidate | None
):  # fmt: skip
    """A trickled candidate; None for end-of-candidates. Raises ProtocolError when garbled."""
    text = line.strip()
    if text.startswith("a="):
        text = text[2:]
    if text.startswith("candidate:"):
        text = text[len("candidate:") :]
    if not text:
        return None
    try:
        candidate = candidate_from_sdp(text)
        ipaddress.ip_address(candidate.ip)  # mDNS (.local) names cannot be resolved here
    except (AssertionError, ValueError, IndexError):
        raise ProtocolError(
            f"not an ICE candidate line: {line[:120]!r}", path="candidate"
        ) from None
    if sdp_mid is None and sdp_mline_index is None:
        sdp_mline_index = 0  # a data-channel-only session has one m-line
    candidate.sdpMid = sdp_mid
    candidate.sdpMLineIndex = sdp_mline_index
    return candidate
