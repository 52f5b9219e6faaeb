"""Network namespaces for the fault tests: every node on a host of its own, links a test cuts.

The kernel here has no netem qdisc, so faults are made of links: a veth pair set down is a
cut cable. Two shapes:

* :func:`two_sites` — two sites, each a bridge, joined by one trunk (a veth pair) in a hub
  namespace. Every node lives in a namespace of its own with one veth onto its site's bridge
  (10.91.0.0/24, one flat subnet: the nodes' ICE host candidates are these addresses). The
  services (signaling, git over ``git daemon``) listen on the hub's address on site A's bridge,
  10.91.0.1, so cutting the trunk cuts site B off from site A *and* from the services: the
  partition a site losing its uplink sees.
* :func:`islands` — hosts that cannot route to each other, each on its own /24 with one
  interface into a shared relay namespace (TURN, the impairment relay) that does not forward.

Every namespace is deleted on exit, and its veth ends with it; nothing routed there leaves
them. Needs root and iproute2's ``ip`` (as node/sdp/capture/netns.py, whose ``_ip`` this
follows).
"""

from __future__ import annotations

import os
import secrets
import subprocess
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field

DATA_NET = "10.91.0"
HUB_ADDRESS = f"{DATA_NET}.1"
ISLAND_NET = "10.93"  # island k: 10.93.k.0/24, the relay's end .1, the host's end .2
RELAY_ADDRESS = "10.93.250.1"  # the relay namespace's own address (on lo): nobody routes to it


class TopologyError(RuntimeError):
    """A namespace or link could not be set up (not root, no ``ip``, or the kernel refused)."""


def _ip(*args: str) -> None:
    done = subprocess.run(["ip", *args], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise TopologyError(f"ip {' '.join(args)} failed: {done.stderr.strip()}")


@dataclass(frozen=True)
class Host:
    """One network namespace and the address it is known by."""

    namespace: str
    address: str
    site: str = ""

    @property
    def exec_prefix(self) -> list[str]:
        """Prepend to a command to run it inside the namespace (``ip netns exec`` execs the
        command itself, so the child's pid is the command's)."""
        return ["ip", "netns", "exec", self.namespace]


def _unique(kind: str) -> str:
    return f"ifm{kind}-{os.getpid() % 100000}-{secrets.token_hex(2)}"


@contextmanager
def _namespace(name: str) -> Iterator[str]:
    _ip("netns", "add", name)
    try:
        _ip("-n", name, "link", "set", "lo", "up")
        yield name
    finally:
        subprocess.run(["ip", "netns", "delete", name], capture_output=True, check=False)


def _veth(ns_a: str, dev_a: str, ns_b: str, dev_b: str) -> None:
    """A veth pair with one end in each namespace (made in ``ns_a``, one end moved)."""
    _ip("-n", ns_a, "link", "add", dev_a, "type", "veth", "peer", "name", dev_b)
    _ip("-n", ns_a, "link", "set", dev_b, "netns", ns_b)


@dataclass
class TwoSites:
    hub: Host
    hosts: list[Host] = field(default_factory=list)
    trunk: str = "trunk-a"

    def site(self, name: str) -> list[Host]:
        return [h for h in self.hosts if h.site == name]

    def cut(self) -> None:
        """Sets the trunk down: site B no longer reaches site A or the services."""
        _ip("-n", self.hub.namespace, "link", "set", self.trunk, "down")

    def heal(self) -> None:
        _ip("-n", self.hub.namespace, "link", "set", self.trunk, "up")


@contextmanager
def two_sites(sizes: Sequence[int]) -> Iterator[TwoSites]:
    """``sizes[0]`` hosts on site "a", ``sizes[1]`` on site "b"; see the module docstring."""
    if os.geteuid() != 0:
        raise TopologyError("network namespaces need root")
    with ExitStack() as stack:
        hub = stack.enter_context(_namespace(_unique("hub")))
        for bridge in ("br-a", "br-b"):
            _ip("-n", hub, "link", "add", bridge, "type", "bridge")
            _ip("-n", hub, "link", "set", bridge, "up")
        _ip("-n", hub, "addr", "add", f"{HUB_ADDRESS}/24", "dev", "br-a")
        _ip("-n", hub, "link", "add", "trunk-a", "type", "veth", "peer", "name", "trunk-b")
        for end, bridge in (("trunk-a", "br-a"), ("trunk-b", "br-b")):
            _ip("-n", hub, "link", "set", end, "master", bridge)
            _ip("-n", hub, "link", "set", end, "up")
        sites = TwoSites(Host(hub, HUB_ADDRESS, "a"))
        number = 0
        for site, size in zip("ab", sizes, strict=False):
            for _ in range(size):
                number += 1
                ns = stack.enter_context(_namespace(_unique(f"n{number}")))
                address = f"{DATA_NET}.{10 + number}"
                _veth(ns, "eth0", hub, f"port{number}")
                _ip("-n", ns, "addr", "add", f"{address}/24", "dev", "eth0")
                _ip("-n", ns, "link", "set", "eth0", "up")
                _ip("-n", hub, "link", "set", f"port{number}", "master", f"br-{site}")
                _ip("-n", hub, "link", "set", f"port{number}", "up")
                sites.hosts.append(Host(ns, address, site))
        yield sites


@dataclass
class Islands:
    relay: Host  # the namespace every island has one link into; it does not forward
    hosts: list[Host] = field(default_factory=list)

    def relay_side(self, host: Host) -> str:
        """The relay's address on ``host``'s link: the one ``host`` can reach."""
        return host.address.rsplit(".", 1)[0] + ".1"


@contextmanager
def islands(count: int) -> Iterator[Islands]:
    """``count`` hosts on 10.93.k.2/24, each reaching only the relay namespace's 10.93.k.1;
    the relay namespace also holds RELAY_ADDRESS, reachable from none of them (a TURN
    server's relayed addresses live there, so only relay-to-relay pairs can work)."""
    if os.geteuid() != 0:
        raise TopologyError("network namespaces need root")
    with ExitStack() as stack:
        relay = stack.enter_context(_namespace(_unique("relay")))
        _ip("-n", relay, "addr", "add", f"{RELAY_ADDRESS}/32", "dev", "lo")
        result = Islands(Host(relay, RELAY_ADDRESS))
        for k in range(1, count + 1):
            ns = stack.enter_context(_namespace(_unique(f"i{k}")))
            _veth(ns, "eth0", relay, f"isl{k}")
            _ip("-n", ns, "addr", "add", f"{ISLAND_NET}.{k}.2/24", "dev", "eth0")
            _ip("-n", ns, "link", "set", "eth0", "up")
            _ip("-n", relay, "addr", "add", f"{ISLAND_NET}.{k}.1/24", "dev", f"isl{k}")
            _ip("-n", relay, "link", "set", f"isl{k}", "up")
            result.hosts.append(Host(ns, f"{ISLAND_NET}.{k}.2"))
        yield result
