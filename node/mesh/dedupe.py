"""A bounded memory of delivered message ids, so each IFMessage reaches the application once.

Keyed by ``(source, id)`` rather than ``id`` alone: a peer that reuses another session's message
id must not be able to suppress that session's message. The cache forgets the oldest ids first;
the bound is large enough that a duplicate arriving after eviction would have to be older than
any relay or retry path the mesh has (16,384 messages: minutes of a busy room, where a pair's
retransmits and a reconnect's catch-up take seconds). An event past it is still folded once:
the board's log drops a (source, seq) it holds. Each id held costs about 0.2 KB; at 65,536 the
set was the largest thing a day-old node kept for history's sake (docs/scaling.md).
"""

from __future__ import annotations

from collections import OrderedDict

DEFAULT_CAPACITY = 16_384


class SeenIds:
    """Insertion-ordered set with a capacity; :meth:`first_time` records and answers at once."""

    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        if capacity < 1:
            raise ValueError("capacity must be positive")
        self.capacity = capacity
        self._seen: OrderedDict[tuple[str, str], None] = OrderedDict()

    def first_time(self, source: str, message_id: str) -> bool:
        """True the first time ``(source, message_id)`` is offered, False for a duplicate."""
        key = (source, message_id)
        if key in self._seen:
            return False
        self._seen[key] = None
        if len(self._seen) > self.capacity:
            self._seen.popitem(last=False)
        return True

    def __len__(self) -> int:
        return len(self._seen)

    def __contains__(self, key: object) -> bool:
        return key in self._seen
