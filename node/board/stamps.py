"""What the log keeps of each event a session sent, by seq: a stamp (the hash of its incarnation
and id) that tells the same event arriving again from a fork (another event under that seq).

A session's seqs count from 1 without gaps, so its stamps live in an array indexed by seq, 8
bytes each. A dict of them cost about 60 bytes an event, 10 MB on a Phase-0 day's 160,000
events, and its table doubled all at once as it grew (2.3 MB in one step, mid-soak). A seq far
beyond the others (an odd or hostile sender's) goes to a small dict instead, so it cannot make
the array huge.
"""

from __future__ import annotations

from array import array
from itertools import repeat

ABSENT = -1  # CPython's hash() never returns -1 (it is the C API's error value)
# How far past the array's end a seq may be and still extend it (filled with ABSENT between):
# events of a session arrive a little out of order, from the mesh and from git.
REACH = 4096


class SeqStamps:
    __slots__ = ("_dense", "_sparse")

    def __init__(self) -> None:
        self._dense = array("q")  # seq n at index n - 1
        self._sparse: dict[int, int] = {}  # seqs beyond REACH when they came (and seq 0)

    def get(self, seq: int) -> int | None:
        """The stamp held under ``seq``, None if none is."""
        index = seq - 1
        if 0 <= index < len(self._dense):
            stamp = self._dense[index]
            return None if stamp == ABSENT else stamp
        return self._sparse.get(seq)

    def __contains__(self, seq: int) -> bool:
        return self.get(seq) is not None

    def put(self, seq: int, stamp: int) -> None:
        index, dense = seq - 1, self._dense
        if 0 <= index < len(dense):
            dense[index] = stamp
        elif 0 <= index <= len(dense) + REACH:
            dense.extend(repeat(ABSENT, index - len(dense)))
            dense.append(stamp)
            if self._sparse:  # those now within the array move into it (it is read first)
                for moved in [s for s in self._sparse if 0 < s <= len(dense)]:
                    dense[moved - 1] = self._sparse.pop(moved)
        else:
            self._sparse[seq] = stamp
