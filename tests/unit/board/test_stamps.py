"""node.board.stamps.SeqStamps answers as a dict of seq → stamp would, whatever the order and
spread of the seqs (in order, out of order, far beyond the others, 0), and keeps a gap-free run
in its array."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from ifmesh.node.board.stamps import REACH, SeqStamps

seqs = st.one_of(
    st.integers(min_value=0, max_value=64),
    st.integers(min_value=0, max_value=3 * REACH),
    st.integers(min_value=0, max_value=2**40),
)
stamps = st.integers(min_value=-(2**63), max_value=2**63 - 1).filter(lambda s: s != -1)


@given(st.lists(st.tuples(seqs, stamps), max_size=60), st.lists(seqs, max_size=30))
def test_it_answers_as_a_dict_would(puts: list[tuple[int, int]], probes: list[int]) -> None:
    held, expected = SeqStamps(), {}
    for seq, stamp in puts:
        held.put(seq, stamp)
        expected[seq] = stamp
        assert held.get(seq) == stamp
    for seq in [*expected, *probes]:
        assert held.get(seq) == expected.get(seq)
        assert (seq in held) is (seq in expected)


def test_a_seq_far_ahead_stays_found_once_the_run_reaches_it() -> None:
    held = SeqStamps()
    far = REACH + 10
    held.put(far, 7)  # beyond reach: kept aside
    for seq in range(1, far):
        held.put(seq, seq)
    assert held.get(far) == 7 and held.get(far - 1) == far - 1
    held.put(far + 1, 8)  # the array grows past it: it moves in, still found
    assert held.get(far) == 7 and held.get(far + 1) == 8


def test_a_gap_free_run_costs_eight_bytes_a_seq() -> None:
    held = SeqStamps()
    for seq in range(1, 20_001):
        held.put(seq, hash(("inc", f"id-{seq}")))
    assert held._dense.itemsize * len(held._dense) == 160_000 and not held._sparse
