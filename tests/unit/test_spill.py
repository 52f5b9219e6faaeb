"""The node's cold store: old events in an unnamed file, a refused write kept in memory."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest

from ifmesh.node.board.canonical import canonical_bytes
from ifmesh.node.board.log import EventLog
from ifmesh.node.runtime import spill
from ifmesh.node.runtime.spill import SpillFile
from tests.unit.board.helpers import chain_board
from tests.unit.board.test_log import folded, long_scenario


def test_a_log_spilling_to_a_file_folds_and_reads_as_one_in_memory(tmp_path: Path) -> None:
    events = long_scenario(400)
    cold = SpillFile(tmp_path)
    log = EventLog(chain_board(), checkpoint_every=1, keep_decoded=8, cold=cold)
    for event in events:
        log.add(event)
    assert sum(isinstance(e, int) for e in log._events) >= 256
    assert cold.size > 0 and list(tmp_path.iterdir()) == []  # unnamed: nothing to clean up
    assert canonical_bytes(log.board) == canonical_bytes(folded(events).board)
    assert list(log) == events
    # A very late event re-folds from far back, through the file.
    late = len(events) // 3
    again = EventLog(chain_board(), checkpoint_every=1, keep_decoded=8, cold=SpillFile(tmp_path))
    for event in events[:late] + events[late + 1 :]:
        again.add(event)
    assert again.add(events[late]).refolded > 256
    assert canonical_bytes(again.board) == canonical_bytes(log.board)


def test_a_write_the_disk_refuses_keeps_the_event_in_memory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cold = SpillFile(tmp_path)
    first = cold.put(b"one")

    def full(fd: int, data: bytes, offset: int) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(spill.os, "pwrite", full)
    refused = cold.put(b"two")
    assert cold.failing and refused < 0
    monkeypatch.undo()  # the disk takes writes again
    third = cold.put(b"three")
    assert not cold.failing
    assert [cold.get(h) for h in (first, refused, third)] == [b"one", b"two", b"three"]


def test_a_state_directory_that_takes_no_file_keeps_old_events_in_memory(tmp_path: Path) -> None:
    cold = SpillFile(tmp_path / "gone")  # no such directory: no file can be made there
    assert cold.failing
    handles = [cold.put(b"one"), cold.put(b"two")]
    assert [cold.get(h) for h in handles] == [b"one", b"two"] and cold.size == 0
