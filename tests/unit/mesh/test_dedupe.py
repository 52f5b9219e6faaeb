"""The dedupe cache: first delivery passes, duplicates do not, and memory stays bounded."""

from __future__ import annotations

import pytest

from ifmesh.node.mesh.dedupe import SeenIds


def test_duplicates_are_recognised_per_source() -> None:
    seen = SeenIds()
    assert seen.first_time("a", "m1")
    assert not seen.first_time("a", "m1")
    assert seen.first_time("b", "m1"), "another source's id is not a duplicate"


def test_capacity_evicts_the_oldest() -> None:
    seen = SeenIds(capacity=3)
    for i in range(5):
        assert seen.first_time("a", str(i))
    assert len(seen) == 3
    assert ("a", "0") not in seen and ("a", "4") in seen
    assert not seen.first_time("a", "4")


def test_capacity_must_be_positive() -> None:
    with pytest.raises(ValueError):
        SeenIds(0)
