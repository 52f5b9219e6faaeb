"""A node's start-up read (GitSync.open, then read_first with a sink): the other sessions'
logs come in the board's order, merged across sessions, a chunk at a time, and nothing is kept
for ``take_outputs``; without a sink, the same events in the same order come in the outputs.
Real git, a bare remote in a temp dir."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from ifmesh.node.board.log import order_key
from ifmesh.node.gitsync import reader, segments
from ifmesh.node.gitsync.bridge import GitSync
from ifmesh.node.protocol.messages import Envelope, TaskProgress
from tests.integration.gitsync.support import Stamper, config, opened, pump, started

pytestmark = pytest.mark.integration
CHUNK = 4


def written_by_two_sessions(tmp_path: Path, remote: Path) -> list[Envelope]:
    """Two sessions whose events interleave in the board's order (lamport 1, 2, … each),
    each landing its own in commits of one or two, so their logs span sealed segments."""
    writers = {s: (started(tmp_path, s, remote), Stamper(s)) for s in ("session-a", "session-b")}
    written: list[Envelope] = []
    for round_ in range(7):
        for bridge, stamp in writers.values():
            now = datetime.now(UTC).timestamp()
            for _ in range(1 + round_ % 2):
                event = stamp(TaskProgress(task_id="P0.1.4", epoch=0, percent=25))
                bridge.submit(event, now)
                written.append(event)
            # A lost race with the other writer: fetch and retry until it lands.
            pump([bridge], lambda b=bridge: b.flush(datetime.now(UTC).timestamp()) == 0)
    return written


def test_the_start_up_read_streams_every_sessions_log_in_the_boards_order(
    tmp_path: Path, remote: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(segments, "SEAL_CHUNKS", 3)
    monkeypatch.setattr(reader, "SINK_CHUNK", CHUNK)
    written = written_by_two_sessions(tmp_path, remote)
    newcomer = opened(GitSync(config(tmp_path, "session-c", remote)))
    now = datetime.now(UTC).timestamp()
    newcomer.open(now)
    chunks: list[list[Envelope]] = []
    newcomer.read_first(now, lambda chunk: chunks.append(list(chunk)))
    assert len(chunks) == -(-len(written) // CHUNK), "a chunk at a time, each full but the last"
    assert all(len(chunk) <= CHUNK for chunk in chunks)
    streamed = [event for chunk in chunks for event in chunk]
    assert [e.id for e in streamed] == [e.id for e in sorted(written, key=order_key)]
    assert {e.source for e in streamed[:4]} == {"session-a", "session-b"}, "merged, not by log"
    assert newcomer.take_outputs().events == [], "streamed events are not kept as well"
    # Without a sink (GitSync.start): the same events, in the same order, in the outputs.
    plain = started(tmp_path, "session-d", remote)
    assert [e.id for e in plain.take_outputs().events] == [e.id for e in streamed]
