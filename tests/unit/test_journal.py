"""The journal of sent events: what a node killed inside a git batch window sent and did not
commit comes back at its restart."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ifmesh.node.protocol import codec
from ifmesh.node.protocol.messages import Envelope, TaskProgress, make_message
from ifmesh.node.runtime import journal
from ifmesh.node.runtime.journal import JOURNAL_FILE, Journal

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)


def event(seq: int) -> Envelope:
    payload = TaskProgress(task_id="P0.1.1", epoch=0, percent=25)
    return make_message(
        payload, source="session-4-sip", timestamp=NOW, seq=seq, lamport=seq, incarnation="0a1b2c3d"
    )


def test_a_restart_gets_back_every_event_beyond_the_chain_in_order(tmp_path: Path) -> None:
    events = [event(seq) for seq in (1, 2, 3)]
    sent = Journal(tmp_path)
    sent.append(events[:2], saved_seq=0)
    sent.append(events[2:], saved_seq=2)
    sent.close()  # or kill -9: each append is one write, finished by the kernel

    again = Journal(tmp_path)
    assert again.unsaved(saved_seq=1) == events[1:]
    assert again.unsaved(saved_seq=3) == []
    assert again.at_open == []  # what git's chain holds is not kept in memory
    again.close()


def test_past_its_size_it_keeps_only_what_the_chain_lacks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(journal, "COMPACT_BYTES", 1)
    sent = Journal(tmp_path)
    sent.append([event(1), event(2), event(3)], saved_seq=0)
    sent.append([event(4)], saved_seq=2)  # compacts first: 1 and 2 are in the chain
    sent.close()
    kept = [codec.decode(line).seq for line in (tmp_path / JOURNAL_FILE).read_bytes().splitlines()]
    assert kept == [3, 4]
    assert (tmp_path / JOURNAL_FILE).stat().st_mode & 0o777 == 0o600


def test_lines_the_chain_holds_do_not_wait_in_memory_for_the_next_compaction(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent = Journal(tmp_path)
    sent.append([event(1), event(2), event(3)], saved_seq=0)
    sent.append([event(4)], saved_seq=2)  # far below the compaction size
    assert [seq for seq, _ in sent._unsaved] == [3, 4]
    monkeypatch.setattr(journal, "COMPACT_BYTES", 1)
    sent.append([event(5)], saved_seq=3)
    sent.close()
    kept = [codec.decode(line).seq for line in (tmp_path / JOURNAL_FILE).read_bytes().splitlines()]
    assert kept == [4, 5]


def test_a_line_that_is_no_ifmessage_is_skipped_and_named(tmp_path: Path) -> None:
    good = codec.encode(event(5)) + b"\n"
    (tmp_path / JOURNAL_FILE).write_bytes(b'{"torn": ' + b"\n" + good)
    sent = Journal(tmp_path)
    assert [e.seq for e in sent.unsaved(0)] == [5]
    assert [p.number for p in sent.problems] == [1]
    sent.close()


def test_a_journal_it_cannot_write_is_said_and_never_stops_an_event(tmp_path: Path) -> None:
    sent = Journal(tmp_path)
    os.close(sent._fd)  # what a failing disk looks like to write(2): an OSError
    sent._fd = os.open("/dev/full", os.O_WRONLY)
    sent.append([event(1)], saved_seq=0)  # no exception: the event goes on to git and the mesh
    assert sent.failing
    sent.close()


def test_confirm_records_come_back_after_a_kill_and_survive_compaction(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A claim told won on the mesh has its record journaled before the answer: a restart
    before the commit finds it (and does not withdraw the claim)."""
    sent = Journal(tmp_path)
    sent.append([event(1)], saved_seq=0)
    sent.record("P0.1.1", 0)
    sent.close()
    again = Journal(tmp_path)
    assert again.records_at_open == [("P0.1.1", 0)]
    assert [e.seq for e in again.unsaved(0)] == [1] and again.problems == []
    monkeypatch.setattr(journal, "COMPACT_BYTES", 1)
    again.record("P0.1.2", 3)
    again.append([event(2)], saved_seq=1)  # compacts: event 1 is in the chain, records stay
    again.close()
    last = Journal(tmp_path)
    assert last.records_at_open == [("P0.1.1", 0), ("P0.1.2", 3)]
    assert [e.seq for e in last.unsaved(0)] == [2]
    last.close()
