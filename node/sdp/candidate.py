"""ICE candidate attributes (RFC 8839 section 5.1), parsed strictly.

The same grammar serves ``a=candidate:`` lines inside an SDP and candidates trickled on
their own (``candidate:…`` as browsers hand them to ``onicecandidate``).
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field

from ifmesh.node.sdp.errors import BadCandidate

CANDIDATE_TYPES = frozenset({"host", "srflx", "prflx", "relay"})
TCP_TYPES = frozenset({"active", "passive", "so"})
# ice-char = ALPHA / DIGIT / "+" / "/"; a foundation is 1 to 32 of them.
_FOUNDATION = re.compile(r"^[A-Za-z0-9+/]{1,32}$")
_TOKEN = re.compile(r"^[!#$%&'*+\-.^_`{|}~0-9A-Za-z]+$")
_HOSTNAME = re.compile(
    r"^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)*[A-Za-z0-9-]+$"
)


@dataclass(frozen=True)
class Candidate:
    """One ICE candidate; ``line`` is where it sits in its file (1-based)."""

    foundation: str
    component: int
    transport: str
    priority: int
    address: str
    port: int
    type: str
    line: int
    related_address: str | None = None
    related_port: int | None = None
    tcptype: str | None = None
    extensions: tuple[tuple[str, str], ...] = field(default=())

    @property
    def address_family(self) -> str:
        """``ipv4``, ``ipv6`` or ``mdns``/``fqdn`` for a name (mDNS names end in .local)."""
        try:
            return f"ipv{ipaddress.ip_address(self.address).version}"
        except ValueError:
            return "mdns" if self.address.lower().endswith(".local") else "fqdn"

    def as_dict(self) -> dict[str, object]:
        return {
            "foundation": self.foundation,
            "component": self.component,
            "transport": self.transport.lower(),
            "priority": self.priority,
            "address": self.address,
            "port": self.port,
            "type": self.type,
            "family": self.address_family,
            "related_address": self.related_address,
            "related_port": self.related_port,
            "tcptype": self.tcptype,
            "line": self.line,
        }


def parse_candidate(text: str, *, line: int) -> Candidate:
    """Parse ``candidate:…`` or its value alone (``a=`` already removed); raise BadCandidate."""
    value = text.removeprefix("a=").removeprefix("candidate:")
    bits = value.split()
    if len(bits) < 8:
        raise BadCandidate(
            f"candidate has {len(bits)} fields, needs at least 8 "
            "(foundation component transport priority address port typ type)",
            line=line,
        )
    foundation, component, transport, priority, address, port, typ, cand_type = bits[:8]
    if not _FOUNDATION.match(foundation):
        raise BadCandidate(f"foundation {foundation!r} is not 1-32 ice-chars", line=line)
    component_id = _number(component, "component id", 1, 256, line)
    if not _TOKEN.match(transport):
        raise BadCandidate(f"transport {transport!r} is not a token", line=line)
    priority_value = _number(priority, "priority", 1, 2**31 - 1, line)
    _check_address(address, "connection address", line)
    port_value = _number(port, "port", 0, 65535, line)
    if typ != "typ":
        raise BadCandidate(f"expected 'typ' as 7th field, found {typ!r}", line=line)
    if cand_type not in CANDIDATE_TYPES:
        raise BadCandidate(
            f"candidate type {cand_type!r} is not one of {sorted(CANDIDATE_TYPES)}", line=line
        )
    rest = bits[8:]
    if len(rest) % 2:
        raise BadCandidate(f"extension {rest[-1]!r} has no value", line=line)
    related_address: str | None = None
    related_port: int | None = None
    tcptype: str | None = None
    extensions: list[tuple[str, str]] = []
    for name, ext_value in zip(rest[::2], rest[1::2], strict=True):
        if name == "raddr":
            _check_address(ext_value, "raddr", line)
            related_address = ext_value
        elif name == "rport":
            related_port = _number(ext_value, "rport", 0, 65535, line)
        elif name == "tcptype":
            if ext_value not in TCP_TYPES:
                raise BadCandidate(f"tcptype {ext_value!r} is not active/passive/so", line=line)
            tcptype = ext_value
        else:
            extensions.append((name, ext_value))
    if cand_type != "host" and (related_address is None) != (related_port is None):
        raise BadCandidate("raddr and rport must come together", line=line)
    if transport.lower() == "tcp" and tcptype is None:
        raise BadCandidate("a TCP candidate needs tcptype (RFC 6544)", line=line)
    return Candidate(
        foundation=foundation,
        component=component_id,
        transport=transport,
        priority=priority_value,
        address=address,
        port=port_value,
        type=cand_type,
        line=line,
        related_address=related_address,
        related_port=related_port,
        tcptype=tcptype,
        extensions=tuple(extensions),
    )


def _number(text: str, what: str, low: int, high: int, line: int) -> int:
    if not text.isdigit():
        raise BadCandidate(f"{what} {text!r} is not a number", line=line)
    value = int(text)
    if not low <= value <= high:
        raise BadCandidate(f"{what} {value} is outside {low}..{high}", line=line)
    return value


def _check_address(text: str, what: str, line: int) -> None:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        if not _HOSTNAME.match(text) or text.replace(".", "").isdigit():
            raise BadCandidate(
                f"{what} {text!r} is neither an IP address nor a host name", line=line
            ) from None
