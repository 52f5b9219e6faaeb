"""How a signaling server is configured, and the start-up checks that keep it safe.

Without a secret the server is open (anyone reaching it may join any room), so it then binds
only to loopback unless the operator says ``--insecure-bind-all``.
"""

from __future__ import annotations

import ipaddress
import secrets
from dataclasses import dataclass, field

from ifmesh.signaling.errors import ConfigError
from ifmesh.signaling.limits import ServerLimits

__all__ = ["ServerConfig", "is_loopback"]


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a host name other than localhost may resolve anywhere


@dataclass(frozen=True)
class ServerConfig:
    host: str = "127.0.0.1"
    port: int = 8765
    secret: bytes | None = None
    redis_url: str | None = None
    insecure_bind_all: bool = False
    limits: ServerLimits = field(default_factory=ServerLimits)
    # WebSocket ping interval (s); a client silent for heartbeat + heartbeat/2 is dropped.
    heartbeat: float = 10.0
    # Redis presence: an instance's members leave other instances' rosters at most
    # presence_ttl + presence_ttl/3 after it stops renewing (crash, partition).
    presence_ttl: float = 6.0
    redis_prefix: str = "ifmesh:signaling:"
    instance_id: str = field(default_factory=lambda: secrets.token_hex(6))
    # Seconds a graceful shutdown waits for clients to acknowledge the close.
    shutdown_grace: float = 3.0

    def __post_init__(self) -> None:
        if not 0 <= self.port <= 65535:
            raise ConfigError(f"port {self.port} is out of range 0-65535")
        if self.heartbeat <= 0 or self.presence_ttl <= 0:
            raise ConfigError("heartbeat and presence ttl must be positive")
        if self.secret is None and not self.insecure_bind_all and not is_loopback(self.host):
            raise ConfigError(
                f"refusing to bind an open server (no --secret-file) to {self.host}: anyone "
                "reaching it could join any room. Give --secret-file, bind to 127.0.0.1, or "
                "pass --insecure-bind-all if you really mean it"
            )

    @property
    def open(self) -> bool:
        return self.secret is None
