"""The rules of a decided path reservation (node/claims/reservation_rules.py), without I/O:
its records, whether the fold still holds it, what keeps it out, when git must decide because
git still holds a conflicting record, and which reservations get a nack."""

from __future__ import annotations

from datetime import timedelta

from ifmesh.node.board.formats.reserved import ReservedEntry
from ifmesh.node.board.log import EventLog
from ifmesh.node.board.state import BoardConfig, Task
from ifmesh.node.claims import reservation_rules as rr
from ifmesh.node.gitsync.reservation_ledger import ReservationRecord
from ifmesh.node.protocol import messages as m
from tests.unit.board.helpers import Stamper, at, board, chain_board, claim

LEASE = timedelta(minutes=15)


def reserve(task: str, *patterns: str, exclusive: bool = True, epoch: int = 0) -> m.PathsReserve:
    return m.PathsReserve(task_id=task, epoch=epoch, patterns=list(patterns),
                          exclusive=exclusive, ttl_seconds=600.0)  # fmt: skip


def room() -> tuple[Stamper, EventLog]:
    """s1 holds A, s2 holds F."""
    stamp, log = Stamper(), EventLog(chain_board(), BoardConfig(lease=LEASE))
    log.add(stamp("s1", claim("A", "s1"), lamport=1, when=at(0)))
    log.add(stamp("s2", claim("F", "s2"), lamport=1, when=at(0)))
    return stamp, log


def test_a_reservation_stands_for_one_record_per_pattern() -> None:
    stamp, _ = room()
    event = stamp("s1", reserve("A", "src/**", "README.md", "src/**"), lamport=2, when=at(1))
    assert rr.entries(event) == (
        ReservedEntry("src/**", "A", 0, True, at(1), at(11)),
        ReservedEntry("README.md", "A", 0, True, at(1), at(11)),
    )
    assert rr.entries(stamp("s1", claim("F", "s1"), lamport=3)) == ()


def test_the_fold_holds_the_first_of_two_conflicting_reservations_whatever_the_arrival() -> None:
    stamp, log = room()
    theirs = stamp("s2", reserve("F", "src/a.py"), lamport=3, when=at(1))
    ours = stamp("s1", reserve("A", "src/**"), lamport=2, when=at(1))
    log.add(theirs)
    assert rr.held(log.board, "s2", rr.entries(theirs))
    log.add(ours)  # arrives later, ordered first: the fold re-folds, and s2's is refused
    assert rr.held(log.board, "s1", rr.entries(ours))
    assert not rr.held(log.board, "s2", rr.entries(theirs))
    [named] = rr.fold_conflicts(log.board, "s2", rr.entries(theirs))
    assert (named.path, named.holder, named.task, named.pattern) == (
        "src/a.py",
        "s1",
        "A",
        "src/**",
    )
    # Renewed, it is another version; released with its task, the fold holds it no more.
    renewal = stamp("s1", reserve("A", "src/**"), lamport=4, when=at(2))
    log.add(renewal)
    assert not rr.held(log.board, "s1", rr.entries(ours))
    assert rr.held(log.board, "s1", rr.entries(renewal))
    log.add(stamp("s1", m.TaskRelease(task_id="A", epoch=0), lamport=5, when=at(3)))
    assert not rr.held(log.board, "s1", rr.entries(renewal))


def record(session: str, pattern: str, *, since: float = 0, ttl: float = 10) -> ReservationRecord:
    return ReservationRecord(
        session, ReservedEntry(pattern, "T", 0, True, at(since), at(since + ttl)), "c1"
    )


def test_git_decides_while_git_still_holds_a_record_that_would_beat_it() -> None:
    assert rr.git_holds([]) == ""
    why = rr.git_holds([("src/a.py", record("s2", "src/**"))])
    assert "s2's src/** for T (over src/a.py)" in why and "git decides" in why


def test_a_reservation_conflicting_with_a_record_here_gets_a_nack() -> None:
    stamp, _ = room()
    mine = {ReservedEntry("src/**", "A", 0, True, at(0), at(10))}
    theirs = stamp("s2", reserve("F", "src/db/models.py"), lamport=3, when=at(1))
    assert rr.declines(theirs, mine, "s1")
    assert not rr.declines(theirs, set(), "s1")  # no record here: the mesh may decide
    assert not rr.declines(stamp("s2", reserve("F", "docs/*"), lamport=4, when=at(1)), mine, "s1")
    later = stamp("s2", reserve("F", "src/db/models.py"), lamport=5, when=at(10))
    assert not rr.declines(later, mine, "s1")  # our record's time is over by then
    shared = {ReservedEntry("src/**", "A", 0, False, at(0), at(10))}
    reading = stamp("s2", reserve("F", "src/a.py", exclusive=False), lamport=6, when=at(1))
    assert not rr.declines(reading, shared, "s1")  # shared beside shared
    assert rr.declines(theirs, shared, "s1")  # exclusive over shared
    echo = stamp("s1", reserve("A", "src/a.py"), lamport=7, when=at(1))
    assert not rr.declines(echo, mine, "s1")  # our own copy, echoed back
    broken = stamp("s2", reserve("F", "!src/keep.py"), lamport=8, when=at(1))
    assert not rr.declines(broken, mine, "s1")  # refused by every fold anyway
    assert not rr.declines(stamp("s2", claim("A", "s2"), lamport=9), mine, "s1")


def test_git_decides_when_the_fold_refused_an_earlier_overlapping_one_for_a_third() -> None:
    """s1 holds r/b.md; s2's r/ (earlier than s3's r/a.md) was refused here for s1's sake,
    which s2's own node may not have seen: the fold's "s3 first" is not final."""
    stamp, log = Stamper(), EventLog(board(Task("A"), Task("F"), Task("G")), BoardConfig(LEASE))
    for session, task in (("s1", "A"), ("s2", "F"), ("s3", "G")):
        log.add(stamp(session, claim(task, session), lamport=1, when=at(0)))
    log.add(stamp("s1", reserve("A", "r/b.md"), lamport=2, when=at(1)))
    theirs = stamp("s2", reserve("F", "r/"), lamport=3, when=at(1))
    ours = stamp("s3", reserve("G", "r/a.md"), lamport=4, when=at(1))
    log.add(theirs)
    log.add(ours)
    assert rr.held(log.board, "s3", rr.entries(ours))
    assert not rr.held(log.board, "s2", rr.entries(theirs))
    assert "s2's r/ for F" in rr.shadowed(log, log.board, ours)
    assert rr.shadowed(log, log.board, theirs) == ""  # nothing refused before s2's
    # Given back by s2 before ours, it is over: the mesh may decide.
    log.add(stamp("s2", m.PathsRelease(task_id="F"), lamport=3, when=at(1)))
    assert rr.shadowed(log, log.board, ours) == ""


def test_records_carry_the_witnesses_their_pattern_matches_and_nacks_see_them() -> None:
    """s1's src/*.py, made where src/a.py is tracked, and s2's src/a*, made where it is not:
    the records carry it, so s2's reservation gets a nack and meets s1's in git."""
    stamp, _ = room()
    payload = reserve("A", "src/*.py", "docs/a*").model_copy(
        update={"witnesses": ["docs/about.md", "src/a.py"], "broad": ["docs/a*"]}
    )
    ours = stamp("s1", payload, lamport=2, when=at(1))
    assert [(e.pattern, e.witnesses, e.broad) for e in rr.entries(ours)] == [
        ("src/*.py", ("src/a.py",), False),
        ("docs/a*", ("docs/about.md",), True),
    ]
    mine = set(rr.entries(ours)[:1])
    theirs = stamp("s2", reserve("F", "src/a*"), lamport=3, when=at(1))
    assert rr.declines(theirs, mine, "s1")
    assert not rr.declines(stamp("s2", reserve("F", "src/b*"), lamport=4, when=at(1)), mine, "s1")
