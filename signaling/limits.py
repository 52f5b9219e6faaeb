"""What one client may do: the configurable limits, and the token bucket that meters frames.

Sans-IO: the bucket takes ``now`` (any monotonic clock, in seconds) and never reads a clock.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from ifmesh.signaling.errors import ConfigError

__all__ = ["ServerLimits", "TokenBucket"]


@dataclass(frozen=True)
class ServerLimits:
    """Limits enforced per connection, per room and per server; every one is configurable."""

    max_frame_bytes: int = 64 * 1024
    # A node joining a room of 64 trickles an offer and ~10 candidates to each member at once,
    # so the burst must hold several hundred frames; the sustained rate is what stops floods.
    rate: float = 200.0
    burst: int = 1000
    max_peers: int = 64
    max_rooms: int = 1000
    join_deadline: float = 10.0
    # Frames queued for one client that is not reading; beyond this it is a slow consumer.
    send_queue: int = 4096

    def __post_init__(self) -> None:
        for field in fields(self):
            value = getattr(self, field.name)
            if value <= 0:
                raise ConfigError(f"limit {field.name} must be positive, got {value}")


class TokenBucket:
    """``rate`` tokens per second up to ``burst``; one frame costs one token."""

    def __init__(self, rate: float, burst: int, now: float) -> None:
        self.rate = rate
        self.burst = float(burst)
        self._tokens = float(burst)
        self._updated = now

    def take(self, now: float, cost: float = 1.0) -> bool:
        """Spends ``cost`` tokens if available at ``now``; False means the frame is refused."""
        elapsed = max(0.0, now - self._updated)
        self._tokens = min(self.burst, self._tokens + elapsed * self.rate)
        self._updated = max(self._updated, now)
        if self._tokens >= cost:
            self._tokens -= cost
            return True
        return False

    def retry_after(self, cost: float = 1.0) -> float:
        """Seconds until ``cost`` tokens are available, as of the last ``take``."""
        return max(0.0, (cost - self._tokens) / self.rate)
