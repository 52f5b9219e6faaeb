"""A bounded memory of delivered message ids, so each IFMessage reaches the application once.

Keyed by ``(source, id)`` rather than ``id`` alone: a peer that reuses another session's message
id must not be able to suppress that session's message. The cache forgets the oldest ids first;
the bound is large enough that a duplicate arriving after eviction would have to be older than
any relay or retry path the mesh has (16,384 messages: minutes of a busy room, where a pair's
retransmits and a reconnect's catch-up take seconds). An event past it is still folded once:
the board's log drops a (source, seq) it holds.

It holds the pair's hash, not the pair: an int in a set and a deque, about 70 bytes an id
against 230 for the strings in a tuple in an ordered dict (filled, 1.2 MB against 3.7; on a
soak's node it grew with every event until the bound, docs/scaling.md). Python's string hash
is keyed per process, so a peer cannot aim a collision; two ids colliding by chance, about
one in 10^11 over a full cache, would make the second one look delivered: it would then come
through git, whose read folds any event the log does not hold.
"""

from __future__ import annotations

from collections import deque

DEFAULT_CAPACITY = 16_384


class SeenIds:
    """A set with a capacity, oldest out first; :meth:`first_time` records and answers at once."""

    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        if capacity < 1:
            raise ValueError("capacity must be positive")
        self.capacity = capacity
        self._seen: set[int] = set()
        self._order: deque[int] = deque()

    def first_time(self, source: str, message_id: str) -> bool:
        """True the first time ``(source, message_id)`` is offered, False for a duplicate."""
        key = hash((source, message_id))
        if key in self._seen:
            return False
        self._seen.add(key)
        self._order.append(key)
        if len(self._order) > self.capacity:
            self._seen.discard(self._order.popleft())
        return True

    def __len__(self) -> int:
        return len(self._order)

    def __contains__(self, key: object) -> bool:
        return hash(key) in self._seen
