"""Per-name integer totals that are cheap to change as a value.

The ledger is a value (every change returns a new one, so a re-fold can start from any
checkpoint), and some of its totals grow with every task ever settled. A dict copied on each
change makes a day of work cost the square of its length. :class:`Totals` splits the names
over fixed buckets by a stable hash: a change copies the bucket index and one bucket, about
√n entries at n names, and every other bucket is shared with the value before it.

It is a read-only :class:`~collections.abc.Mapping`, equal to any mapping with the same
items, and kept canonical like the ledger's dicts: no zero entries.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator, Mapping

BUCKETS = 256


def _bucket(name: str) -> int:
    # crc32, not hash(): str hashes change between processes, and the layout should not.
    return zlib.crc32(name.encode()) % BUCKETS


class Totals(Mapping[str, int]):
    __slots__ = ("_buckets", "_len")

    def __init__(self, items: Mapping[str, int] | None = None) -> None:
        buckets: dict[int, dict[str, int]] = {}
        for name, value in (items or {}).items():
            if value:
                buckets.setdefault(_bucket(name), {})[name] = value
        self._buckets: Mapping[int, Mapping[str, int]] = buckets
        self._len = sum(len(b) for b in buckets.values())

    def add(self, name: str, amount: int) -> Totals:
        """A new value with ``amount`` added to ``name`` (a zero total leaves the mapping)."""
        index = _bucket(name)
        bucket = dict(self._buckets.get(index, {}))
        had = name in bucket
        value = bucket.get(name, 0) + amount
        if value:
            bucket[name] = value
        else:
            bucket.pop(name, None)
        buckets = dict(self._buckets)
        if bucket:
            buckets[index] = bucket
        else:
            buckets.pop(index, None)
        changed = Totals.__new__(Totals)
        changed._buckets = buckets
        changed._len = self._len + bool(value) - had
        return changed

    def __getitem__(self, name: str) -> int:
        return self._buckets.get(_bucket(name), {})[name]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name in self._buckets.get(_bucket(name), {})

    def __iter__(self) -> Iterator[str]:
        for bucket in self._buckets.values():
            yield from bucket

    def __len__(self) -> int:
        return self._len

    def __repr__(self) -> str:
        return f"Totals({dict(sorted(self.items()))!r})"
