"""Path reservations in the fold and as commands: only the holder of (task, epoch) reserves,
the first of two conflicting reservations in the total order stands on every node, they end
with the tenure, and any arrival order folds to byte-identical boards."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ifmesh.node.board import reservation_commands as rc
from ifmesh.node.board.canonical import canonical_bytes
from ifmesh.node.board.effects import Rejected
from ifmesh.node.board.errors import (
    InvalidPattern,
    NotOwner,
    NotReserved,
    ReservationConflict,
    UnknownTask,
)
from ifmesh.node.board.log import EventLog
from ifmesh.node.board.replica import Replica
from ifmesh.node.board.reservations import path_conflicts
from ifmesh.node.board.state import Board, BoardConfig
from ifmesh.node.protocol import messages as m
from tests.unit.board.helpers import Stamper, at, chain_board, claim

LEASE = timedelta(minutes=15)
CONFIG = BoardConfig(lease=LEASE)


def reserve(task: str, *patterns: str, epoch: int = 0, exclusive: bool = True) -> m.PathsReserve:
    return m.PathsReserve(
        task_id=task, epoch=epoch, patterns=list(patterns), exclusive=exclusive,
        ttl_seconds=3600.0,
    )  # fmt: skip


def scenario() -> list[m.Envelope]:
    """s1 holds A and reserves src/**; s2 holds F and races s1 for src/db/models.py (s1's
    reservation is first in the order); s3 reserves for a task it does not hold; s1 releases
    A, which ends its reservations, and s2 then reserves src/ alone."""
    ev = Stamper()
    return [
        ev("s1", claim("A", "s1"), lamport=1, when=at(0)),
        ev("s2", claim("F", "s2"), lamport=1, when=at(0)),
        ev("s1", reserve("A", "src/**", "README.md"), lamport=2, when=at(1)),
        ev("s2", reserve("F", "src/db/models.py"), lamport=3, when=at(1)),
        ev("s3", reserve("A", "docs/**"), lamport=3, when=at(1)),
        ev("s2", reserve("F", "docs/*.md", exclusive=False), lamport=4, when=at(2)),
        ev("s1", m.PathsRelease(patterns=["README.md"]), lamport=5, when=at(3)),
        ev("s1", m.TaskRelease(task_id="A", epoch=0), lamport=6, when=at(4)),
        ev("s2", reserve("F", "src/app.py"), lamport=7, when=at(5)),
    ]


def folded(events: list[m.Envelope], every: int = 64) -> EventLog:
    log = EventLog(chain_board(), CONFIG, checkpoint_every=every)
    for event in events:
        log.add(event)
    return log


def patterns_of(board: Board, session: str) -> set[str]:
    return {r.pattern for r in board.reservations.values() if r.session_id == session}


def test_the_fold_keeps_the_first_and_refuses_the_rest() -> None:
    events = scenario()
    log = EventLog(chain_board(), CONFIG)
    refused = []
    for event in events[:6]:
        refused += [(e.session, e.code) for e in log.add(event).effects if isinstance(e, Rejected)]
    assert refused == [("s2", "reservation_conflict"), ("s3", "not_owner")]
    assert patterns_of(log.board, "s1") == {"src/**", "README.md"}
    assert patterns_of(log.board, "s2") == {"docs/*.md"}


def test_a_released_task_ends_its_reservations() -> None:
    board = folded(scenario()).board
    assert patterns_of(board, "s1") == set()  # released README.md, then the task (and src/**)
    assert patterns_of(board, "s2") == {"docs/*.md", "src/app.py"}
    found = path_conflicts(["src/db/models.py"], board.reservations.values(), "s3",
                           board.tasks, at(6), LEASE)  # fmt: skip
    assert found == []


@settings(max_examples=60)
@given(st.permutations(range(9)), st.sampled_from([1, 3, 64]))
def test_any_arrival_order_folds_to_byte_identical_boards(order: list[int], every: int) -> None:
    events = scenario()
    reference = canonical_bytes(folded(events).board)
    assert canonical_bytes(folded([events[i] for i in order], every).board) == reference


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        (reserve("A", "src/**", epoch=1), "stale_epoch"),
        (reserve("NOPE", "src/**"), "unknown_task"),
        (reserve("A", "!src/keep.py"), "invalid_pattern"),
    ],
)
def test_the_fold_refuses_what_the_holder_could_not_have_sent(
    payload: m.PathsReserve, code: str
) -> None:
    ev = Stamper()
    log = EventLog(chain_board(), CONFIG)
    log.add(ev("s1", claim("A", "s1"), lamport=1))
    effects = log.add(ev("s1", payload, lamport=2)).effects
    assert [(e.code, e.session) for e in effects if isinstance(e, Rejected)] == [(code, "s1")]
    assert not log.board.reservations


def room() -> tuple[Replica, Replica]:
    one = Replica("s1", "i1", initial=chain_board(), config=CONFIG)
    two = Replica("s2", "i2", initial=chain_board(), config=CONFIG)
    for event in one.claim("A", at(0)):
        two.receive(event)
    for event in two.claim("F", at(0)):
        one.receive(event)
    return one, two


def test_only_the_holder_may_reserve_for_a_task() -> None:
    one, two = room()
    with pytest.raises(NotOwner, match="claim it first"):
        rc.reserve(two.log.view(), two.author, "A", ["src/**"], at(1))
    with pytest.raises(UnknownTask):
        rc.reserve(two.log.view(), two.author, "NOPE", ["src/**"], at(1))
    with pytest.raises(InvalidPattern):
        rc.reserve(one.log.view(), one.author, "A", ["x[z-a]"], at(1))


def test_a_reservation_that_overlaps_another_is_refused_before_it_is_sent() -> None:
    one, two = room()
    for event in one.emit([rc.reserve(one.log.view(), one.author, "A", ["src/db/*.py"], at(1))]):
        two.receive(event)
    with pytest.raises(ReservationConflict) as caught:
        rc.reserve(two.log.view(), two.author, "F", ["src/**/*.py"], at(2),
                   tracked=["src/db/models.py", "src/app.py"])  # fmt: skip
    assert caught.value.conflicts == [("src/db/models.py", "s1", "A", "src/db/*.py")]
    # Without that tracked path, two globs share no witness: reserved.
    event = rc.reserve(two.log.view(), two.author, "F", ["src/**/*.py"], at(2))
    assert isinstance(event.payload, m.PathsReserve) and event.payload.epoch == 0


def test_reserving_again_renews_and_unreserve_ends() -> None:
    one, _ = room()
    one.emit(
        [rc.reserve(one.log.view(), one.author, "A", ["src/**"], at(1), ttl=timedelta(minutes=5))]
    )
    one.emit(
        [rc.reserve(one.log.view(), one.author, "A", ["src/**"], at(4), ttl=timedelta(minutes=5))]
    )
    [renewed] = one.board.reservations.values()
    assert renewed.expires_at == at(9)
    with pytest.raises(NotReserved):
        rc.unreserve(one.log.view(), one.author, at(5), patterns=["docs/**"])
    with pytest.raises(NotReserved):
        rc.unreserve(one.log.view(), one.author, at(5), task_id="F")
    one.emit([rc.unreserve(one.log.view(), one.author, at(5), task_id="A")])
    assert not one.board.reservations


def test_globs_overlapping_only_through_a_tracked_path_keep_the_first_on_every_node() -> None:
    """s1 reserves src/*.py in a working tree that tracks src/a.py, s2 reserves src/a* at
    the same moment in one that does not: s1's event carries src/a.py, so both folds refuse the
    one ordered second, as git does (node/gitsync/reservation_ledger.py)."""
    one, two = room()
    ours = rc.reserve(one.log.view(), one.author, "A", ["src/*.py"], at(1),
                      tracked=["src/a.py", "src/b.py", "README.md"])  # fmt: skip
    theirs = rc.reserve(two.log.view(), two.author, "F", ["src/a*"], at(1), tracked=["src/b.py"])
    assert isinstance(ours.payload, m.PathsReserve)
    assert ours.payload.witnesses == ["src/a.py", "src/b.py"]
    assert isinstance(theirs.payload, m.PathsReserve) and theirs.payload.witnesses is None
    first = min(ours, theirs, key=lambda e: (e.lamport, e.source))
    for replica, events in ((one, [ours, theirs]), (two, [theirs, ours])):
        replica.emit(events[:1])
        replica.receive(events[1])
    assert canonical_bytes(one.board) == canonical_bytes(two.board)
    [kept] = one.board.reservations.values()
    assert kept.session_id == first.source
    assert kept.witnesses == (("src/a.py", "src/b.py") if first is ours else ())


def test_events_without_witnesses_overlap_by_their_patterns_alone() -> None:
    """Events of earlier versions carry none: two globs both stand, as before."""
    ev = Stamper()
    log = EventLog(chain_board(), CONFIG)
    log.add(ev("s1", claim("A", "s1"), lamport=1, when=at(0)))
    log.add(ev("s2", claim("F", "s2"), lamport=1, when=at(0)))
    log.add(ev("s1", reserve("A", "src/*.py"), lamport=2, when=at(1)))
    effects = log.add(ev("s2", reserve("F", "src/a*"), lamport=3, when=at(1))).effects
    assert not [e for e in effects if isinstance(e, Rejected)]
    assert patterns_of(log.board, "s2") == {"src/a*"}
