"""The session's STATUS file lists its path reservations (`reserved:`): one entry per pattern,
the reservation's git record, written when it was won on the mesh or sent to git (never for
every `paths.reserve` sent), so sessions without a node see them and git can judge them;
releasing them, or their task, or git's verdict that they lost drops them."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from ifmesh.node.board.formats.reserved import ReservedEntry, entry_document, read_entries
from ifmesh.node.board.formats.status import parse_status
from ifmesh.node.gitsync import ownstatus
from ifmesh.node.gitsync.batch import Batch
from ifmesh.node.protocol.messages import (
    PathsRelease,
    PathsReserve,
    Payload,
    TaskComplete,
    make_message,
)

NOW = datetime(2025, 11, 12, 14, 30, tzinfo=UTC)
S = "session-2-webrtc"


def after(status: ownstatus.StatusFile, payload: Payload) -> ownstatus.StatusFile:
    return ownstatus.after_event(status, make_message(payload, source=S, timestamp=NOW))


def entry(pattern: str, task: str, epoch: int = 0, *, exclusive: bool = True,
          ttl: float = 7200.0) -> ReservedEntry:  # fmt: skip
    since = NOW + timedelta(microseconds=123456)
    return ReservedEntry(pattern, task, epoch, exclusive, since, since + timedelta(seconds=ttl))


def test_reserved_lists_the_records_and_follows_releases_and_the_end_of_the_task() -> None:
    status = ownstatus.stamped(ownstatus.initial_status(S, "coord"), NOW)
    sent = after(status, PathsReserve(task_id="P0.5.2", epoch=0, ttl_seconds=7200.0,
                                      patterns=["docs/**"]))  # fmt: skip
    assert sent == status  # a reservation sent is no record until it is decided
    docs, readme = entry("docs/**", "P0.5.2"), entry("README.md", "P0.5.2")
    tests = entry("tests/*.py", "P0.2.6", 1, exclusive=False, ttl=60.0)
    status = ownstatus.with_reservation_records(status, [docs, readme])
    status = ownstatus.with_reservation_records(status, [tests])
    text = ownstatus.render(status).decode()
    assert "reserved:\n- epoch: 0\n  mode: exclusive\n  pattern: docs/**\n" in text
    assert "  since: '2025-11-12T14:30:00.123456Z'\n" in text  # to the microsecond
    read, problems = read_entries(parse_status(text).extra["reserved"], NOW)
    assert (read, problems) == ([docs, readme, tests], [])  # read back as written
    status = after(status, PathsRelease(patterns=["README.md"]))
    status = after(status, TaskComplete(task_id="P0.2.6", epoch=1, tests_pass=True))
    assert [r["pattern"] for r in status.extra["reserved"]] == ["docs/**"]
    status = after(status, PathsRelease(task_id="P0.5.2"))
    assert "reserved" not in ownstatus.render(status).decode()


def test_witnesses_and_broad_are_written_only_when_there_are_any_and_read_back() -> None:
    status = ownstatus.initial_status(S, "coord")
    plain = entry("README.md", "T")
    carried = replace(entry("src/*.py", "T"), witnesses=("src/a.py", "src/b.py"))
    broad = replace(entry("gen/**", "T"), broad=True)
    status = ownstatus.with_reservation_records(status, [plain, carried, broad])
    text = ownstatus.render(status).decode()
    assert text.count("witnesses:") == 1 and text.count("broad: true") == 1
    assert "  witnesses:\n  - src/a.py\n  - src/b.py\n" in text
    read, problems = read_entries(parse_status(text).extra["reserved"], NOW)
    assert (read, problems) == ([plain, carried, broad], [])
    assert ownstatus.without_reservation_records(status, [carried, broad]).extra["reserved"] == [
        entry_document(plain)
    ]


def test_witnesses_that_cannot_be_read_make_the_entry_broad() -> None:
    """Judged more strictly, never less: a reader that dropped them would miss an overlap."""
    base = entry_document(entry("src/*.py", "T"))
    for bad in ({"witnesses": "src/a.py"}, {"witnesses": ["src/a.py", 3]}, {"broad": "yes"}):
        [read], [problem] = read_entries([{**base, **bad}], NOW)
        assert read.broad and read.witnesses == ()
        assert "judged as broad" in problem


def test_a_renewal_replaces_its_record_and_a_lost_record_leaves() -> None:
    status = ownstatus.initial_status(S, "coord")
    first = entry("docs/**", "P0.5.2")
    renewed = ReservedEntry("docs/**", "P0.5.2", 0, True, first.since + timedelta(minutes=5),
                            first.until + timedelta(minutes=5))  # fmt: skip
    status = ownstatus.with_reservation_records(status, [first])
    status = ownstatus.with_reservation_records(status, [renewed])
    assert read_entries(status.extra["reserved"], NOW)[0] == [renewed]
    assert ownstatus.without_reservation_records(status, [first]) == status  # an older version
    assert "reserved" not in ownstatus.without_reservation_records(status, [renewed]).extra


def test_records_join_the_commit_being_built_and_events_after_them_start_the_next() -> None:
    batch = Batch()
    reserve = make_message(PathsReserve(task_id="T", epoch=0, ttl_seconds=60.0, patterns=["a"]),
                           source=S, timestamp=NOW)  # fmt: skip
    batch.add_event(reserve)
    batch.add_reserved([entry("a", "T")])
    batch.add_event(make_message(PathsRelease(patterns=["a"]), source=S, timestamp=NOW))
    first, second = batch.take()
    assert (len(first.events), len(first.reserved), len(second.events)) == (1, 1, 1)
    assert first.message(S) == "reserve: T"
