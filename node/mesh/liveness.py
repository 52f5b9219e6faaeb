"""Sans-IO liveness of one peer: when to ping, when the peer is suspect or dead, and its RTT.

aiortc's SCTP has no heartbeat, so a peer killed with ``kill -9`` would be noticed only after
about 30 s. Pings every ``ping_interval`` and the silence thresholds below are what bound the
detection to ``dead_after`` + one ping interval. Any frame from the peer counts as "heard";
pongs also measure the round-trip time.

In a large room the three durations stretch with it (:meth:`LivenessConfig.stretch_for`): a
node pings every peer, so at 1 s a room of 32 sends and answers 62 frames a second per node,
each one a DTLS record in Python, and 32 such nodes on 2 cores spent 130 % of a core on
liveness alone (docs/scaling.md). Past ``pings_per_second`` peers a node's pings per second stay
at that budget and detection slows in proportion; below it nothing changes.

Time is a parameter (``now``, seconds on a monotonic clock), in the aioquic style: the owner
calls :meth:`Liveness.get_timer` to learn when to wake, then :meth:`Liveness.handle_timer`
with the current time, and sends the pings it is told to send. Presence is a local
observation, never an event of the board (DESIGN.md).
"""

from __future__ import annotations

import enum
from collections import OrderedDict
from dataclasses import dataclass

# The smoothing of RFC 6298 (TCP's SRTT): new samples move the estimate by 1/8.
_RTT_ALPHA = 0.125
# Pings whose pongs we still accept; older pongs are ignored (their ping was long ago).
_OUTSTANDING = 8


class Presence(enum.StrEnum):
    UP = "up"
    SUSPECT = "suspect"
    DEAD = "dead"


@dataclass(frozen=True, slots=True)
class LivenessConfig:
    ping_interval: float = 1.0
    suspect_after: float = 3.0
    dead_after: float = 5.0
    # Pings a node sends per second to the whole room, at most (see the module docstring).
    pings_per_second: float = 10.0

    def __post_init__(self) -> None:
        if not 0 < self.ping_interval < self.suspect_after < self.dead_after:
            raise ValueError(
                "liveness needs 0 < ping_interval < suspect_after < dead_after, got "
                f"{self.ping_interval}, {self.suspect_after}, {self.dead_after}"
            )
        if not self.pings_per_second > 0:
            raise ValueError(f"pings_per_second must be above 0, got {self.pings_per_second}")

    def stretch_for(self, peers: int) -> float:
        """By how much a room of ``peers`` stretches the interval and both thresholds: 1 until
        pinging every peer each interval would pass ``pings_per_second``."""
        return max(1.0, peers / (self.ping_interval * self.pings_per_second))


@dataclass(frozen=True, slots=True)
class PingDue:
    """Send a ping frame with these fields now."""

    seq: int
    sent: float
    rtt: float | None


@dataclass(frozen=True, slots=True)
class PresenceChanged:
    old: Presence
    new: Presence
    silence: float


LivenessEvent = PingDue | PresenceChanged


class Liveness:
    """Presence and RTT of one peer, from the frames heard and the pongs received."""

    def __init__(self, config: LivenessConfig, now: float) -> None:
        self.config = config
        self.stretch = 1.0  # set by the mesh as the room grows (LivenessConfig.stretch_for)
        self.presence = Presence.UP
        self.rtt: float | None = None
        self.smoothed_rtt: float | None = None
        self.last_heard = now
        self._next_ping = now  # ping at once: the first RTT sample comes early
        self._seq = 0
        self._outstanding: OrderedDict[int, float] = OrderedDict()

    def heard(self, now: float) -> PresenceChanged | None:
        """Any frame arrived from the peer; a suspect peer is up again."""
        self.last_heard = max(self.last_heard, now)
        if self.presence is Presence.SUSPECT:
            self.presence = Presence.UP
            return PresenceChanged(Presence.SUSPECT, Presence.UP, 0.0)
        return None

    def pong(self, seq: int, sent: float, now: float) -> float | None:
        """A pong echoing ping ``seq``; returns the RTT sample, or None for an unknown ping."""
        expected = self._outstanding.pop(seq, None)
        if expected is None or expected != sent or now < sent:
            return None  # not a ping of ours (or a replay): no sample, so no way to fake RTT
        sample = now - sent
        self.rtt = sample
        if self.smoothed_rtt is None:
            self.smoothed_rtt = sample
        else:
            self.smoothed_rtt += _RTT_ALPHA * (sample - self.smoothed_rtt)
        return sample

    def get_timer(self) -> float | None:
        """When :meth:`handle_timer` must next run; None once the peer is dead."""
        if self.presence is Presence.DEAD:
            return None
        deadline = self.last_heard + self.stretch * (
            self.config.dead_after
            if self.presence is Presence.SUSPECT
            else self.config.suspect_after
        )
        return min(self._next_ping, deadline)

    def handle_timer(self, now: float) -> list[LivenessEvent]:
        """Pings due and presence changes at ``now`` (in that order)."""
        if self.presence is Presence.DEAD:
            return []
        events: list[LivenessEvent] = []
        silence = now - self.last_heard
        # Compared as deadlines (the same sums get_timer returns), never as differences:
        # float rounding must not leave a timer that fires without changing anything.
        if now >= self.last_heard + self.stretch * self.config.dead_after:
            events.append(PresenceChanged(self.presence, Presence.DEAD, silence))
            self.presence = Presence.DEAD
            return events
        if now >= self._next_ping:
            self._seq += 1
            self._outstanding[self._seq] = now
            if len(self._outstanding) > _OUTSTANDING:
                self._outstanding.popitem(last=False)
            events.append(PingDue(self._seq, now, self.smoothed_rtt))
            # Scheduled from the previous deadline, not from now, so a late timer does not
            # stretch the interval; but never in the past, so a stalled loop sends one ping.
            interval = self.stretch * self.config.ping_interval
            self._next_ping += interval
            if self._next_ping <= now:
                self._next_ping = now + interval
        suspect_at = self.last_heard + self.stretch * self.config.suspect_after
        if self.presence is Presence.UP and now >= suspect_at:
            events.append(PresenceChanged(Presence.UP, Presence.SUSPECT, silence))
            self.presence = Presence.SUSPECT
        return events

    def closed(self) -> PresenceChanged | None:
        """The channel closed: that counts as dead at once (DESIGN.md), not after the timeout."""
        if self.presence is Presence.DEAD:
            return None
        event = PresenceChanged(self.presence, Presence.DEAD, 0.0)
        self.presence = Presence.DEAD
        return event
