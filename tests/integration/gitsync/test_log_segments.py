"""Logs in segments between bridges (node.gitsync.segments): each landing adds one file with the
lines it appended, its hint carries only that (and a sealed segment as the files it joins), and
a peer that takes the hints reads every event once without fetching. A branch whose log is the
one file of the layout before segments is read, resumed from and left as it is. Real git, a bare
remote in a temp dir."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from ifmesh.node.gitsync import handoff, segments
from ifmesh.node.gitsync.paths import legacy_log_path, status_path
from ifmesh.node.protocol import codec
from ifmesh.node.protocol.messages import Envelope, TaskProgress
from tests.integration.gitsync.support import (
    BRANCH,
    Stamper,
    git,
    log_text,
    pump,
    show,
    started,
)

pytestmark = pytest.mark.integration
SEAL_CHUNKS = 3  # a segment seals after three commits here, so the test sees it soon


def progress(stamp: Stamper, percent: int = 25) -> Envelope:
    return stamp(TaskProgress(task_id="P0.1.4", epoch=0, percent=percent))


def test_bridges_exchange_appended_segments_and_hints_carry_only_what_was_appended(
    tmp_path: Path, remote: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(segments, "SEAL_CHUNKS", SEAL_CHUNKS)
    writer = started(tmp_path, "session-a", remote)
    peer = started(tmp_path, "session-b", remote)
    stamp = Stamper("session-a")
    fetched_at = peer.state().last_fetch_at
    written: list[Envelope] = []
    read: list[Envelope] = []
    joined = 0
    for number in range(2 * SEAL_CHUNKS + 1):
        now = datetime.now(UTC).timestamp()
        event = progress(stamp)
        writer.submit(event, now)
        assert writer.flush(now) == 0
        written.append(event)
        (landed,) = writer.take_outputs().landed
        assert landed.objects is not None
        records = handoff.unpack(landed.objects)
        assert records is not None
        status = writer.clone.read(landed.tip, status_path("session-a"))
        # Only what was appended: this commit's line in a file of its own, and the STATUS
        # when it changed.
        blobs = {body for kind, body in records if kind == b"blob"}
        line = codec.encode(event) + b"\n"
        assert line in blobs and blobs <= {line, status}, number
        if number > 0 and number % SEAL_CHUNKS == 0:  # this commit sealed the open segment
            assert [kind for kind, _ in records].count(b"joined") == 1
            joined += 1
        peer.landed_elsewhere("session-a", landed.tip, now, landed.objects)
        assert peer.clone.ref(peer.clone.remote_ref) == landed.tip, "taken from the hint"
        read += peer.reader.read(landed.tip).events
    assert joined == 2
    assert peer.state().last_fetch_at == fetched_at, "the peer never fetched"
    assert [e.id for e in read] == [e.id for e in written], "every event once, in order"
    sealed = segments.sealed_path("session-a", 1)
    assert show(remote, sealed).encode() == b"".join(
        codec.encode(e) + b"\n" for e in written[SEAL_CHUNKS : 2 * SEAL_CHUNKS]
    )
    assert log_text(remote, "session-a").splitlines() == [codec.encode(e).decode() for e in written]


def test_a_log_in_the_layout_before_segments_is_resumed_and_left_as_it_is(
    tmp_path: Path, remote: Path
) -> None:
    stamp = Stamper("session-a")
    old = [progress(stamp, 25), progress(stamp, 50), progress(stamp, 75)]
    text = "".join(codec.encode(e).decode() + "\n" for e in old)
    work = tmp_path / "old-node"
    git("clone", "--quiet", "--branch", BRANCH, str(remote), str(work))
    (work / ".ifmesh/log").mkdir(parents=True)
    (work / legacy_log_path("session-a")).write_text(text)
    git("add", ".ifmesh", cwd=work)
    git("commit", "--quiet", "-m", "progress: P0.1.4 75%", cwd=work)
    git("push", "--quiet", "origin", f"HEAD:{BRANCH}", cwd=work)

    peer = started(tmp_path, "session-b", remote)
    assert [e.id for e in peer.take_outputs().events] == [e.id for e in old]
    writer = started(tmp_path, "session-a", remote)
    assert writer.chain.pending() == 0 and [e.seq for e in writer.chain.take_loaded()] == [1, 2, 3]
    new = progress(stamp, 100)
    now = datetime.now(UTC).timestamp()
    writer.submit(new, now)
    assert writer.flush(now) == 0
    assert show(remote, legacy_log_path("session-a")) == text, "the old file is never written"
    assert show(remote, segments.open_path("session-a", 0)) == codec.encode(new).decode() + "\n"
    peer.request_fetch(now)
    collected: list[Envelope] = []
    pump([peer], lambda: bool(collected.extend(peer.take_outputs().events) or collected))
    assert [e.id for e in collected] == [new.id]
    # A restart of the session (empty state directory) resumes from both.
    writer.close()
    again = started(tmp_path / "again", "session-a", remote)
    assert [e.seq for e in again.chain.take_loaded()] == [1, 2, 3, 4]
