"""Which network destinations a traced browser tried to reach, from ``strace -f -yy`` output.

A capture runs the browser under ``strace -f -qq -yy -e trace=connect,sendto,sendmsg,sendmmsg``
(``STRACE_ARGS``) and hands the log to ``outside_attempts``. Every call on an IP socket whose
destination lies outside the allowed networks (loopback and the capture namespace's own
addresses) is reported. A ``connect`` on a UDP socket sends no packet — Firefox does that
to 8.8.8.8:53 to learn which local address routes out — so it is kept apart as a probe.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass

STRACE_ARGS = ("-f", "-qq", "-yy", "-e", "trace=connect,sendto,sendmsg,sendmmsg")

ALLOWED = tuple(
    ipaddress.ip_network(n)
    for n in ("127.0.0.0/8", "::1/128", "0.0.0.0/32", "::/128", "10.77.0.0/24", "fd77::/64")
)

# "1234  connect(21<UDP:[0.0.0.0:40484]>, {sa_family=AF_INET, …" (-yy names the socket).
_CALL = re.compile(
    r"^\s*(?P<pid>\d+)\s+(?P<call>connect|sendto|sendmsg|sendmmsg)"
    r"\(\d+<(?P<proto>UDP|TCP|UDPv6|TCPv6):\[(?P<socket>.*?)\]>(?P<rest>.*)$"
)
_ADDRESS = re.compile(r'inet_addr\("([^"]+)"\)|inet_pton\(AF_INET6, "([^"]+)"')
_RESUMED = re.compile(r"^\s*(?P<pid>\d+)\s+<\.\.\. \w+ resumed>(?P<rest>.*)$")
_UNFINISHED = " <unfinished ...>"
# The peer of a connected socket, as -yy shows it: "10.77.0.1:5000->10.77.0.2:6000".
_PEER = re.compile(r"->\[?([0-9a-fA-F:.]+?)\]?:\d+$")


@dataclass(frozen=True)
class Attempt:
    pid: int
    call: str
    protocol: str
    destination: str
    line: str

    @property
    def sends_packet(self) -> bool:
        """A UDP connect only picks a route; anything else puts a packet on the wire."""
        return not (self.call == "connect" and self.protocol.startswith("UDP"))


def allowed(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in ALLOWED)


def _joined(lines: Iterable[str]) -> Iterable[str]:
    """Whole calls: with -f, strace splits a call other threads interrupted in two lines."""
    pending: dict[str, str] = {}
    for raw in lines:
        line = raw.rstrip("\n")
        resumed = _RESUMED.match(line)
        if resumed:
            start = pending.pop(resumed["pid"], None)
            if start is not None:
                yield start + resumed["rest"]
        elif line.endswith(_UNFINISHED):
            pending[line.split()[0]] = line.removesuffix(_UNFINISHED)
        else:
            yield line
    yield from pending.values()


def outside_attempts(lines: Iterable[str]) -> list[Attempt]:
    """Calls on IP sockets whose destination is neither loopback nor the namespace's."""
    found = []
    for line in _joined(lines):
        match = _CALL.match(line)
        if match is None:
            continue
        destinations = [v4 or v6 for v4, v6 in _ADDRESS.findall(match["rest"])]
        peer = _PEER.search(match["socket"])
        if peer:
            destinations.append(peer.group(1))
        for destination in destinations:
            if not allowed(destination):
                found.append(
                    Attempt(
                        int(match["pid"]), match["call"], match["proto"], destination, line.strip()
                    )
                )
    return found
