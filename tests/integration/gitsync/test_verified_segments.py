"""A restarted bridge takes the sealed segments it verified before as they are, and a sealed
segment rewritten on the branch (another blob at the same path) is checked again and its forged
event refused. Real git, a bare remote in a temp dir, real Ed25519 signatures."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from ifmesh.node.gitsync import segments
from ifmesh.node.gitsync.bridge import GitSync
from ifmesh.node.gitsync.verifying import LogVerifier
from ifmesh.node.identity import seal
from ifmesh.node.identity.gate import Gate
from ifmesh.node.protocol.messages import Envelope, TaskProgress
from tests.integration.gitsync.support import BRANCH, Stamper, config, git, opened, pump, started
from tests.unit.identity.support import book, key

pytestmark = pytest.mark.integration


def written(tmp_path: Path, remote: Path) -> list[Envelope]:
    """session-a's signed events, a commit each, so its log seals segments of 3."""
    bridge, stamp = started(tmp_path, "session-a", remote), Stamper("session-a")
    events = []
    for _ in range(8):
        event = seal.sign(
            stamp(TaskProgress(task_id="P0.1.4", epoch=0, percent=25)), key("session-a")
        )
        bridge.submit(event, datetime.now(UTC).timestamp())
        events.append(event)
        pump([bridge], lambda: bridge.flush(datetime.now(UTC).timestamp()) == 0)
    bridge.close()
    return events


def reader_start(tmp_path: Path, remote: Path) -> tuple[GitSync, LogVerifier]:
    bridge = opened(GitSync(config(tmp_path, "session-c", remote), gate=Gate(book("session-a"))))
    bridge.start(datetime.now(UTC).timestamp())
    assert bridge.reader.verifier is not None
    return bridge, bridge.reader.verifier


def test_a_restart_takes_verified_sealed_segments_and_checks_a_rewritten_one(
    tmp_path: Path, remote: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(segments, "SEAL_CHUNKS", 3)
    events = written(tmp_path, remote)
    first, checked = reader_start(tmp_path, remote)
    assert [e.id for e in first.take_outputs().events] == [e.id for e in events]
    assert checked.gate.taken_verified == 0 and len(checked.verified or ()) == 2  # two sealed
    first.close()

    again, taken = reader_start(tmp_path, remote)
    assert [e.id for e in again.take_outputs().events] == [e.id for e in events]
    assert taken.gate.taken_verified == 6, "the two sealed segments' events, without checks"
    again.close()

    # Someone who can push rewrites the first sealed segment: another percent, same signature.
    work = tmp_path / "pusher"
    git("clone", "-q", "--branch", BRANCH, str(remote), str(work))
    path = work / segments.sealed_path("session-a", 0)
    path.write_text(path.read_text(encoding="utf-8").replace('"percent":25', '"percent":75', 1))
    git("-c", "user.name=m", "-c", "user.email=m@x", "commit", "-qam", "forged", cwd=work)
    git("push", "-q", "origin", BRANCH, cwd=work)

    third, verifier = reader_start(tmp_path, remote)
    read = [e.id for e in third.take_outputs().events]
    assert events[0].id not in read, "the forged event is refused"
    assert read == [e.id for e in events[1:]]
    assert verifier.gate.taken_verified == 3, "only the untouched sealed segment is taken as it is"
    assert verifier.gate.counts["bad_signature"] == 1
