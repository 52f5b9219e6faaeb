"""LogVerifier.admitted with the sealed segments a node verified before: taken as they are only
when the same blob was accepted whole under the key pinned now; anything else is checked event
by event. And the file that keeps them across restarts."""

from __future__ import annotations

from pathlib import Path

import pytest

from ifmesh.node.gitsync import verified_segments
from ifmesh.node.gitsync.verified_segments import FILE, VerifiedSegments
from ifmesh.node.gitsync.verifying import LogVerifier
from ifmesh.node.identity import seal
from ifmesh.node.identity.gate import Gate
from ifmesh.node.identity.pins import FIRST_USE, Pin, PinBook
from ifmesh.node.protocol.messages import Envelope
from tests.unit.identity.support import book, claim, key

BLOB = bytes.fromhex("ab" * 20)


def segment() -> list[Envelope]:
    return [seal.sign(claim("session-a", f"P0.{n}", seq=n), key("session-a")) for n in range(1, 4)]


def verifier(state: Path, pins: PinBook | None = None) -> LogVerifier:
    """A restarted node's verifier: a new gate, the state directory's record."""
    gate = Gate(pins if pins is not None else book("session-a"))
    return LogVerifier(None, gate, VerifiedSegments(state))  # type: ignore[arg-type]


def test_a_sealed_segment_verified_whole_is_taken_as_it_is_after_a_restart(tmp_path: Path) -> None:
    events = segment()
    first = verifier(tmp_path)
    assert list(first.admitted("session-a", events, BLOB)) == events
    assert first.gate.taken_verified == 0, "checked event by event the first time"
    again = verifier(tmp_path)
    assert list(again.admitted("session-a", events, BLOB)) == events
    assert again.gate.taken_verified == 3


def test_a_segment_with_a_refused_event_is_not_noted(tmp_path: Path) -> None:
    events = segment()
    events[1] = events[1].model_copy(update={"lamport": 99})  # the signature no longer holds
    for _ in range(2):
        checking = verifier(tmp_path)
        admitted = list(checking.admitted("session-a", events, BLOB))
        assert [e.id for e in admitted] == [events[0].id, events[2].id]
        assert checking.gate.taken_verified == 0
        assert sum(checking.gate.counts.values()) == 1


def test_a_key_pinned_since_checks_every_event_again(tmp_path: Path) -> None:
    events = segment()
    list(verifier(tmp_path).admitted("session-a", events, BLOB))
    rotated = PinBook([Pin("session-a", key("session-a-next").public, "c9", FIRST_USE, 9)])
    checking = verifier(tmp_path, rotated)
    assert list(checking.admitted("session-a", events, BLOB)) == []  # held: signed by another key
    assert checking.gate.taken_verified == 0


def test_a_part_of_a_segment_is_checked_every_time(tmp_path: Path) -> None:
    events = segment()
    list(verifier(tmp_path).admitted("session-a", events, None))
    checking = verifier(tmp_path)
    assert list(checking.admitted("session-a", events, None)) == events
    assert checking.gate.taken_verified == 0
    assert not (tmp_path / FILE).exists()


def test_a_session_without_a_pinned_key_is_never_noted(tmp_path: Path) -> None:
    events = [claim("session-b", seq=n) for n in range(1, 3)]  # unsigned, accepted in migration
    checking = LogVerifier(None, Gate(book(), accept_unsigned=True), VerifiedSegments(tmp_path))  # type: ignore[arg-type]
    assert list(checking.admitted("session-b", events, BLOB)) == events
    assert len(VerifiedSegments(tmp_path)) == 0


def test_unreadable_lines_are_skipped_and_the_file_is_cut_back_to_its_newest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(verified_segments, "LIMIT", 3)
    lines = [f"session-a {n:040x} KEY{n}" for n in range(4)]
    (tmp_path / FILE).write_text("\n".join(["not a line", *lines]) + "\n", encoding="utf-8")
    kept = VerifiedSegments(tmp_path)
    assert len(kept) == 3
    assert kept.key_for("session-a", bytes.fromhex(f"{3:040x}")) == "KEY3"
    assert kept.key_for("session-a", bytes.fromhex(f"{0:040x}")) is None
    assert (tmp_path / FILE).read_text(encoding="utf-8").splitlines() == lines[1:]
