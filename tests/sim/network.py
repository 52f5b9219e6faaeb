"""A seeded, simulated network between virtual nodes: delays, reordering, duplicates, drops
with retransmission, partitions and heals, and crashed receivers.

Nothing here is real time: the harness advances ``now`` and asks for the deliveries due. A
dropped frame is retransmitted after ``rto``; a frame across a partition waits (as its
sender's retransmissions would) until the partition heals; a frame to a crashed node is lost
(the node catches up by anti-entropy when it restarts).
"""

from __future__ import annotations

import heapq
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from ifmesh.node.protocol.messages import Envelope


@dataclass(order=True)
class Frame:
    deliver_at: datetime
    order: int
    sender: str = field(compare=False)
    receiver: str = field(compare=False)
    event: Envelope = field(compare=False)


@dataclass
class Links:
    """Which nodes can reach which: ``groups`` maps node → partition group (0 when whole)."""

    groups: dict[str, int] = field(default_factory=dict)
    down: set[str] = field(default_factory=set)

    def connected(self, a: str, b: str) -> bool:
        return self.groups.get(a, 0) == self.groups.get(b, 0)


class Network:
    def __init__(
        self,
        rng: random.Random,
        *,
        max_delay: timedelta = timedelta(milliseconds=300),
        duplicate: float = 0.1,
        drop: float = 0.1,
        rto: timedelta = timedelta(seconds=1),
    ) -> None:
        self.rng = rng
        self.max_delay = max_delay
        self.duplicate = duplicate
        self.drop = drop
        self.rto = rto
        self.links = Links()
        self._heap: list[Frame] = []
        self._parked: list[Frame] = []
        self._order = 0
        self.sent = 0
        self.dropped = 0
        self.duplicated = 0

    def _push(self, frame: Frame) -> None:
        heapq.heappush(self._heap, frame)

    def _frame(self, sender: str, receiver: str, event: Envelope, at: datetime) -> Frame:
        self._order += 1
        return Frame(at, self._order, sender, receiver, event)

    def send(self, sender: str, receiver: str, event: Envelope, now: datetime) -> None:
        self.sent += 1
        delay = self.max_delay * self.rng.random()
        if self.rng.random() < self.drop:
            self.dropped += 1
            delay += self.rto  # the retransmission is what arrives
        self._push(self._frame(sender, receiver, event, now + delay))
        if self.rng.random() < self.duplicate:
            self.duplicated += 1
            self._push(
                self._frame(sender, receiver, event, now + self.max_delay * self.rng.random())
            )

    def broadcast(self, sender: str, peers: list[str], event: Envelope, now: datetime) -> None:
        for peer in peers:
            if peer != sender:
                self.send(sender, peer, event, now)

    def due(self, now: datetime) -> list[Frame]:
        """Frames delivered up to ``now``, in delivery order."""
        out: list[Frame] = []
        while self._heap and self._heap[0].deliver_at <= now:
            frame = heapq.heappop(self._heap)
            if frame.receiver in self.links.down:
                continue  # lost with the crashed process
            if not self.links.connected(frame.sender, frame.receiver):
                self._parked.append(frame)
                continue
            out.append(frame)
        return out

    def partition(self, groups: dict[str, int]) -> None:
        self.links.groups = dict(groups)

    def heal(self, now: datetime) -> None:
        self.links.groups = {}
        parked, self._parked = self._parked, []
        for frame in parked:
            self._push(self._frame(frame.sender, frame.receiver, frame.event, now + self.rto))

    def crash(self, node: str) -> None:
        """``node`` stops: its frames in flight are lost with its send buffers."""
        self.links.down.add(node)
        self._heap = [f for f in self._heap if f.sender != node]
        heapq.heapify(self._heap)
        self._parked = [f for f in self._parked if f.sender != node and f.receiver != node]

    def restart(self, node: str) -> None:
        self.links.down.discard(node)

    @property
    def idle(self) -> bool:
        return not self._heap and not self._parked

    def next_delivery(self) -> datetime | None:
        return self._heap[0].deliver_at if self._heap else None
