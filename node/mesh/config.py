"""How a mesh is configured: where to rendezvous, ICE, liveness, framing and flow limits.

Defaults follow DESIGN.md: no ICE servers (explicit always), pings every 1 s with suspect at 3 s
and dead at 5 s, chunks above 16 KiB, messages up to 1 MiB. ``host_addresses=None`` gathers on
every interface of the host (aioice's choice); tests, the demo and the benchmarks pass
``LOOPBACK`` so all traffic stays on 127.0.0.1.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from aiortc import RTCIceServer

from ifmesh.node.mesh import ice
from ifmesh.node.mesh.dedupe import DEFAULT_CAPACITY
from ifmesh.node.mesh.framing import Limits
from ifmesh.node.mesh.liveness import LivenessConfig
from ifmesh.node.mesh.peer import DEFAULT_HIGH_WATER, DEFAULT_LOW_WATER
from ifmesh.node.mesh.reconnect import BackoffConfig
from ifmesh.node.mesh.signaling_client import TokenSource

LOOPBACK = ice.LOOPBACK


@dataclass(frozen=True)
class MeshConfig:
    signaling_url: str
    room: str
    session: str
    token: TokenSource = None
    capabilities: Sequence[str] = ()
    ice_servers: Sequence[ice.IceServer] = ()
    host_addresses: Sequence[str] | None = None
    liveness: LivenessConfig = field(default_factory=LivenessConfig)
    backoff: BackoffConfig = field(default_factory=BackoffConfig)
    limits: Limits = field(default_factory=Limits)
    high_water: int = DEFAULT_HIGH_WATER
    low_water: int = DEFAULT_LOW_WATER
    # A build whose channel is not open by then is abandoned and retried with backoff.
    connect_timeout: float = 10.0
    # __aenter__ waits this long for the first join (None: do not wait, join in background).
    join_timeout: float | None = 10.0
    # close(): time for queued data and the bye to leave, and for peers to acknowledge it.
    drain_timeout: float = 5.0
    dedupe_capacity: int = DEFAULT_CAPACITY

    def __post_init__(self) -> None:
        object.__setattr__(self, "host_addresses", ice.check_host_addresses(self.host_addresses))
        if not 0 < self.low_water <= self.high_water:
            raise ValueError("flow control needs 0 < low_water <= high_water")
        if self.connect_timeout <= 0 or self.drain_timeout <= 0:
            raise ValueError("timeouts must be positive")

    def rtc_ice_servers(self) -> list[RTCIceServer]:
        return ice.rtc_ice_servers(self.ice_servers)
