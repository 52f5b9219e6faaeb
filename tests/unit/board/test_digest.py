"""The board's digest, hashed a part at a time, is the SHA-256 of its canonical bytes: for boards
the fold makes (tasks, blockers, the governor's ledgers, claim queues, path reservations) and
for any nesting of the kinds of value a board is made of."""

from __future__ import annotations

import enum
import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ifmesh.node.board import canonical
from ifmesh.node.board.canonical import canonical_bytes
from ifmesh.node.board.log import EventLog
from ifmesh.node.board.state import Board
from tests.unit.board import test_log, test_reservation_fold
from tests.unit.board.test_claim_queues import held_with_queue


def whole(value: Any) -> str:
    return hashlib.sha256(canonical_bytes(value)).hexdigest()


def boards() -> list[Board]:
    tasks = EventLog(test_log.chain_board())
    for event in test_log.scenario():
        tasks.add(event)
    queued = held_with_queue()
    return [
        Board(),
        tasks.board,
        test_reservation_fold.folded(test_reservation_fold.scenario()).board,
        queued["s4"].board,
    ]


@pytest.mark.parametrize("index", range(4))
@pytest.mark.parametrize("stream_above", [0, 1, canonical.STREAM_ABOVE])
def test_the_digest_of_a_folded_board_is_the_hash_of_its_bytes(
    index: int, stream_above: int
) -> None:
    board = boards()[index]
    assert canonical.digest(board, stream_above=stream_above) == whole(board)


class Colour(enum.Enum):
    RED = "red"
    BLUE = "blue"


@dataclass(frozen=True)
class Part:
    """Every kind of value a board holds: mappings by name and by tuple, sets, enums, times."""

    named: dict[str, Any]
    paired: dict[tuple[str, int], Any]
    tags: frozenset[str]
    colour: Colour
    when: datetime
    lease: timedelta
    items: tuple[Any, ...]


texts = st.text(max_size=4)
numbers = st.one_of(
    st.integers(-(2**63), 2**63 - 1), st.floats(allow_nan=False, allow_infinity=False)
)
leaves = st.one_of(st.none(), st.booleans(), numbers, texts, st.sampled_from(Colour))


def parts(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Part]:
    return st.builds(
        Part,
        named=st.dictionaries(texts, children, max_size=5),
        paired=st.dictionaries(st.tuples(texts, st.integers(0, 3)), children, max_size=5),
        tags=st.frozensets(texts, max_size=3),
        colour=st.sampled_from(Colour),
        when=st.integers(0, 10**6).map(
            lambda s: datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=s)
        ),
        lease=st.integers(0, 3600).map(lambda s: timedelta(seconds=s)),
        items=st.lists(children, max_size=3).map(tuple),
    )


values = st.recursive(leaves, lambda children: st.one_of(
    parts(children), st.dictionaries(texts, children, max_size=4), st.lists(children, max_size=3),
), max_leaves=25)  # fmt: skip


@settings(max_examples=150, deadline=None)
@given(values, st.integers(0, 3))
def test_any_nesting_hashes_as_its_whole_bytes(value: Any, stream_above: int) -> None:
    board = Board(governor=value, folded=3)  # the governor's part is any such value
    assert canonical.digest(board, stream_above=stream_above) == whole(board)
