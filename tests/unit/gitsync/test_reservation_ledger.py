"""The git tier's rule for path reservations (node/gitsync/reservation_ledger.py): walking the
first-parent history, a new `reserved:` record stands unless an earlier standing record of
another session conflicts with it at its own time; released, expired and fenced records count
for nothing; every reader of one history gets the same answers."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from types import MappingProxyType
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from ifmesh.node.board.formats.reserved import RESERVED, ReservedEntry, entry_document
from ifmesh.node.board.formats.status import StatusFile
from ifmesh.node.board.reservations import witnesses_of
from ifmesh.node.gitsync.confirm import ConfirmRecord
from ifmesh.node.gitsync.reservation_ledger import (
    AwaitedRecords,
    ReservationLedger,
    ReservationVerdict,
    conflicting,
)

T0 = datetime(2025, 11, 12, 14, 0, tzinfo=UTC)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def entry(pattern: str, task: str = "A", *, epoch: int = 0, exclusive: bool = True,
          since: float = 0, ttl: float = 60) -> ReservedEntry:  # fmt: skip
    return ReservedEntry(pattern, task, epoch, exclusive, at(since), at(since + ttl))


def status(session: str, *entries: ReservedEntry, raw: Any = None) -> tuple[str, StatusFile]:
    listed = raw if raw is not None else [entry_document(e) for e in entries]
    extra = {RESERVED: listed} if listed else {}
    return f"STATUS-{session.upper()}.yaml", StatusFile(
        session=session, extra=MappingProxyType(extra)
    )


class History:
    """A branch being read commit by commit, each commit changing the files given."""

    def __init__(self) -> None:
        self.ledger = ReservationLedger()
        self.commits = 0

    def commit(
        self, *files: tuple[str, StatusFile], confirmed: list[ConfirmRecord] | None = None
    ) -> list[ReservationVerdict]:
        self.commits += 1
        return self.ledger.apply(f"c{self.commits}", at(self.commits), files, confirmed or [])


def test_the_first_record_stands_and_a_later_conflicting_one_of_another_session_loses() -> None:
    git = History()
    [mine] = git.commit(status("s1", entry("src/**")))
    assert mine.stands
    [theirs] = git.commit(status("s2", entry("src/db/models.py", "B", since=1)))
    assert not theirs.stands and theirs.against is not None
    assert (theirs.against.session, theirs.against.entry.pattern, theirs.witness) == (
        "s1", "src/**", "src/db/models.py",
    )  # fmt: skip
    # No witness (two globs), shared beside shared, and one's own: all stand.
    assert git.commit(status("s3", entry("src/**/*.py", "C", since=2)))[0].stands
    assert git.commit(status("s4", entry("docs/*.md", "D", exclusive=False)))[0].stands
    assert git.commit(status("s5", entry("docs/a.md", "E", exclusive=False)))[0].stands
    again = git.commit(status("s1", entry("src/**"), entry("lib/app.py", since=2)))
    assert [v.stands for v in again] == [True]  # only the new entry is judged
    assert {r.entry.pattern for r in git.ledger.standing()} == {
        "src/**", "lib/app.py", "src/**/*.py", "docs/*.md", "docs/a.md",
    }  # fmt: skip
    assert git.ledger.verdict("s2", entry("src/db/models.py", "B", since=1)) == theirs


def test_two_globs_conflict_in_git_through_a_tracked_path_either_record_lists() -> None:
    git = History()
    assert git.commit(status("s1", replace(entry("src/*.py"), witnesses=("src/a.py",))))[0].stands
    [theirs] = git.commit(status("s2", entry("src/a*", "B", since=1)))  # lists none itself
    assert not theirs.stands and theirs.witness == "src/a.py"
    git.commit(status("s3", entry("lib/*.py", "C")))
    [late] = git.commit(
        status("s4", replace(entry("lib/a*", "D", since=2), witnesses=("lib/a.py",)))
    )
    assert not late.stands and late.against is not None and late.against.session == "s3"
    # A broad record is judged by its directory: whatever lies under gen/ is kept out.
    git.commit(status("s5", replace(entry("gen/**", "E"), broad=True)))
    assert not git.commit(status("s6", entry("gen/x/*.c", "F", since=3)))[0].stands
    assert git.commit(status("s6", entry("docs/*.md", "F", since=3)))[0].stands


def test_a_released_or_expired_record_keeps_nobody_out() -> None:
    git = History()
    git.commit(status("s1", entry("src/**", ttl=10)))
    assert not git.commit(status("s2", entry("src/a.py", "B", since=1)))[0].stands
    # Its release and another's new record in one commit: releases come first.
    [after_release] = git.commit(status("s1"), status("s3", entry("src/a.py", "C", since=2)))
    assert after_release.stands
    git.commit(status("s4", entry("docs/**", "D", ttl=5)))
    assert git.commit(status("s5", entry("docs/x.md", "E", since=5)))[0].stands  # until passed


def test_a_record_of_a_task_git_moved_past_or_gave_to_another_is_fenced() -> None:
    git = History()
    git.commit(status("s1", entry("src/**")))
    # s2 takes A over at epoch 1: s1's record of epoch 0 no longer counts.
    taken = [ConfirmRecord("A", 1, "s2", "c2")]
    [stands] = git.commit(status("s2", entry("src/a.py", epoch=1, since=1)), confirmed=taken)
    assert stands.stands
    # A record for a (task, epoch) git gave to another session never stood.
    won_b = [ConfirmRecord("B", 0, "s4", "c3")]
    [void] = git.commit(status("s3", entry("lib/**", "B", since=2)), confirmed=won_b)
    assert not void.stands and void.against is None and "gave B epoch 0 to s4" in void.why


def test_a_renewal_is_judged_again_and_a_lost_record_never_comes_to_stand() -> None:
    git = History()
    git.commit(status("s1", entry("src/**", ttl=10)))
    lost = entry("src/a.py", "B", since=1)
    git.commit(status("s2", lost))
    git.commit(status("s2", lost, entry("other.md", "B", since=20)))  # rewritten, after s1's end
    assert "src/a.py" not in {r.entry.pattern for r in git.ledger.standing()}
    # s1 renews after s2's new record: judged again, against s2's standing other.md.
    [renewal] = git.commit(status("s1", entry("src/**", since=21, ttl=60)))
    assert renewal.stands  # s2's src/a.py lost, so nothing of s2's overlaps src/**
    [clash] = git.commit(
        status("s1", entry("src/**", since=21, ttl=60), entry("other.md", since=22))
    )
    assert not clash.stands and clash.against is not None and clash.against.session == "s2"


def test_two_records_in_one_commit_the_lower_session_stands() -> None:
    git = History()
    verdicts = git.commit(status("s2", entry("a.md", "B")), status("s1", entry("a.md")))
    assert [(v.record.session, v.stands) for v in verdicts] == [("s1", True), ("s2", False)]


def test_hand_written_entries_are_read_tolerantly() -> None:
    git = History()
    raw = [
        {"pattern": "docs/**", "task": "P0.1.4"},  # no epoch, mode, since or until
        {"pattern": "!src/keep.py", "task": "P0.1.4"},  # cannot reserve anything
        {"task": "P0.1.4"},  # no pattern
        "README.md",
    ]
    [verdict] = git.commit(status("seed", raw=raw))
    written = verdict.record.entry
    assert (written.epoch, written.exclusive, written.since, written.until) == (
        0, True, at(1), at(1) + timedelta(hours=2),
    )  # fmt: skip
    assert len(git.ledger.problems["seed"]) == 3
    assert git.commit(status("seed", raw="docs/**")) == []  # not a list: nothing listed
    assert git.ledger.standing() == ()  # and the earlier entry is released


PATTERNS = ["src/**", "src/a.py", "src/*.py", "src/a*", "docs/a.md", "docs/", "*.md"]
TRACKED = ("docs/a.md", "docs/b.md", "src/a.py", "src/b.py", "src/about.md")


@settings(max_examples=80, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["s1", "s2", "s3"]),
            st.lists(
                st.tuples(st.sampled_from(PATTERNS), st.booleans(), st.booleans()), max_size=3
            ),  # (pattern, exclusive, with the witnesses of a tree tracking TRACKED)
            st.integers(0, 3),  # minutes of ttl past the commit: some expire
        ),
        max_size=14,
    )
)
def test_no_two_standing_records_conflict_and_every_reader_agrees(
    history: list[tuple[str, list[tuple[str, bool, bool]], int]],
) -> None:
    readers = [History(), History()]
    for number, (session, patterns, ttl) in enumerate(history, start=1):
        entries = [
            replace(
                entry(p, session.upper(), exclusive=x, since=number, ttl=ttl + 0.5),
                witnesses=witnesses_of(p, TRACKED) if carried else (),
            )
            for p, (x, carried) in {p: (x, c) for p, x, c in patterns}.items()
        ]
        answers = [r.commit(status(session, *entries)) for r in readers]
        assert answers[0] == answers[1]
        standing = sorted(readers[0].ledger.standing(), key=lambda r: int(r.commit[1:]))
        for i, later in enumerate(standing):
            for earlier in standing[:i]:
                if earlier.commit != later.commit:
                    assert conflicting(later.entry, later.session, earlier) is None


def test_the_bridge_hands_back_each_verdict_once_and_gives_up_on_records_that_never_land() -> None:
    git, awaited = History(), AwaitedRecords()
    landed, squashed, expired = entry("a.md"), entry("b.md", since=1), entry("c.md", ttl=1)
    awaited.add([landed, squashed, expired])
    git.commit(status("s1", landed))
    verdicts, lost = awaited.take(git.ledger, "s1", at(0.5))
    assert [v.record.entry for v in verdicts] == [landed] and lost == []
    # Every commit of s1 is on the branch and its STATUS lists neither: released before
    # they were pushed (squashed away), they never get a verdict; one past its end neither.
    _, settled = status("s1", landed)
    verdicts, lost = awaited.take(git.ledger, "s1", at(2), settled)
    assert {(v.record.entry.pattern, v.record.commit, v.stands) for v in verdicts} == {
        ("b.md", "", False), ("c.md", "", False),
    }  # fmt: skip
    assert lost == [] and awaited.take(git.ledger, "s1", at(3)) == ([], [])
