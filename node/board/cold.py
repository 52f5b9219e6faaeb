"""Where the event log keeps its old events: encoded, out of the way, read back rarely.

An event more than a few thousand behind the newest is read again only by a re-fold that
reaches back that far, a catch-up of a peer that lacks it, or a full iteration. So the log hands
its bytes to a cold store and keeps a small int handle in their place. :class:`ColdInMemory`
(the default: tests, simulations, benchmarks) keeps the bytes in a list; a node keeps them in
a file of its state directory (:class:`ifmesh.node.runtime.spill.SpillFile`), so what it holds
in memory per event stops at its handle and its indexes however long the room's history grows.
"""

from __future__ import annotations

from typing import Protocol


class ColdStore(Protocol):
    def put(self, data: bytes) -> int:
        """Keeps ``data``; returns the handle that reads it back."""
        ...

    def get(self, handle: int) -> bytes: ...


class ColdInMemory:
    """Old events' bytes in a list: a quarter of their decoded size (0.7 KB against 2.7 KB)."""

    def __init__(self) -> None:
        self._held: list[bytes] = []

    def put(self, data: bytes) -> int:
        # A copy of exactly its length: orjson's own bytes keep the 4 KB buffer they were
        # written in.
        self._held.append(bytes(memoryview(data)))
        return len(self._held) - 1

    def get(self, handle: int) -> bytes:
        return self._held[handle]
