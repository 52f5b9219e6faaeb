"""Totals: a value that behaves as the canonical dict it stands for, whatever the changes."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from ifmesh.node.governor.totals import Totals

names = st.sampled_from([f"P0.{i}" for i in range(40)] + ["", "ü", "A" * 300])


@given(st.lists(st.tuples(names, st.integers(-5, 5))))
def test_totals_equal_the_dict_they_stand_for_and_never_change_in_place(
    changes: list[tuple[str, int]],
) -> None:
    expected: dict[str, int] = {}
    totals = Totals()
    for name, amount in changes:
        before, snapshot = totals, dict(totals)
        totals = totals.add(name, amount)
        assert dict(before) == snapshot  # the old value is untouched
        value = expected.get(name, 0) + amount
        if value:
            expected[name] = value
        else:
            expected.pop(name, None)  # canonical: no zero entries
        assert totals == expected and expected == totals
        assert len(totals) == len(expected)
        assert totals.get(name, 0) == value and (name in totals) == bool(value)
    assert Totals(expected) == totals
