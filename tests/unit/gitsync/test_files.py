"""File names, event logs and the node's own STATUS, in the seed's formats."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ifmesh.node.board.formats.status import parse_status
from ifmesh.node.gitsync import ownstatus
from ifmesh.node.gitsync.errors import CorruptStatus, IncarnationConflict
from ifmesh.node.gitsync.eventlog import check_foreign, foreign_lines, parse_log, resume_point
from ifmesh.node.gitsync.paths import (
    legacy_log_path,
    log_dir,
    session_of_log_entry,
    session_of_status,
    status_path,
)
from ifmesh.node.gitsync.statusfiles import read_status
from ifmesh.node.protocol import codec
from ifmesh.node.protocol.messages import Blocker, TaskComplete, TaskProgress, make_message

NOW = datetime(2025, 11, 12, 14, 30, tzinfo=UTC)
S = "session-2-webrtc"


def test_names_follow_the_seed() -> None:
    assert status_path(S) == "STATUS-SESSION-2-WEBRTC.yaml"
    assert session_of_status("STATUS-SESSION-2-WEBRTC.yaml") == S
    assert session_of_status("docs/STATUS-X.yaml") is None
    assert log_dir(S) == ".ifmesh/log/session-2-webrtc"
    assert session_of_log_entry("session-2-webrtc", is_dir=True) == S
    assert legacy_log_path(S) == ".ifmesh/log/session-2-webrtc.jsonl"
    assert session_of_log_entry("session-2-webrtc.jsonl", is_dir=False) == S
    assert session_of_log_entry("README.md", is_dir=False) is None


def line(seq: int, incarnation: str = "inc-1", source: str = S) -> str:
    message = make_message(
        TaskProgress(task_id="P0.5.2", epoch=0, percent=25),
        source=source,
        timestamp=NOW,
        seq=seq,
        lamport=seq * 10,
        incarnation=incarnation,
        id=f"m{seq}-{incarnation}",
    )
    return codec.encode(message).decode()


def test_log_reading_skips_bad_lines_and_resumes_from_the_highest_seq() -> None:
    text = "\n".join([line(1), "{oops", line(2, source="session-9"), line(3)]) + "\n" + line(4)
    read = parse_log(text, legacy_log_path(S), S)
    assert [m.seq for m in read.messages] == [1, 3]  # line 4 has no newline yet
    assert [e.line for e in read.errors] == [2, 3]
    point = resume_point(read.messages)
    assert (point.seq, point.lamport, point.incarnations) == (3, 30, ("inc-1",))


def test_own_log_on_the_branch_compared_with_ours() -> None:
    ours = {line(1).encode(), line(2).encode()}
    assert foreign_lines((line(1) + "\n" + line(2) + "\n").encode(), ours.__contains__) == []
    other = line(3, incarnation="inc-2")
    # A file of the log is never appended to: its last line counts without a newline.
    forked = foreign_lines((line(1) + "\n\n" + other).encode(), ours.__contains__)
    assert forked == [(3, other)]
    path = f"{log_dir(S)}/open/000003.jsonl"
    with pytest.raises(IncarnationConflict, match=r"inc-1.*inc-2"):
        check_foreign(forked, path, S, "inc-1")
    garbage = check_foreign([(5, "{hand edit")], path, S, "inc-1")
    assert garbage[0].line == 5 and garbage[0].path == path


def test_own_status_follows_own_events_in_the_seed_format() -> None:
    status = ownstatus.initial_status(S, "coord")
    claimed = ownstatus.stamped(ownstatus.with_confirm_record(status, "P0.5.2", 3), NOW)
    text = ownstatus.render(claimed).decode()
    assert "claiming: P0.5.2\n" in text and "epoch: 3\n" in text
    assert 'milestone: "0% - Starting task"' in text and "timestamp: 2025-11-12T14:30:00Z" in text
    parsed = parse_status(text)
    assert (parsed.claiming, parsed.epoch) == ("P0.5.2", 3)

    def after(payload: object) -> ownstatus.StatusFile:
        return ownstatus.after_event(claimed, make_message(payload, source=S, timestamp=NOW))  # type: ignore[arg-type]

    half = after(TaskProgress(task_id="P0.5.2", epoch=3, percent=50, milestone="Policy done"))
    assert (half.claiming, half.current_task, half.milestone) == (
        None,
        "P0.5.2",
        "50% - Policy done",
    )
    done = after(TaskComplete(task_id="P0.5.2", epoch=3, tests_pass=True, deliverable="d.md"))
    assert (done.completed, done.tests_pass, done.deliverable) == ("P0.5.2", True, "d.md")
    blocked = after(Blocker(swarm_id=S, task_id="P0.5.2", blocked_on=["P0.2.6"], detected_at=NOW))
    assert blocked.blocked_on == ("P0.2.6",) and blocked.status == "blocked"
    lost = ownstatus.after_claim_lost(claimed, "P0.5.2")
    assert lost.claiming is None and lost.status == "idle"


def test_a_file_speaks_only_for_its_own_session() -> None:
    impostor = read_status(b"session: session-2-webrtc\n", "STATUS-SESSION-1-NDI.yaml")
    assert impostor.session == "session-1-ndi"
    in_history = read_status(b"session: session-2-webrtc\n", "STATUS-SESSION-1-NDI.yaml", "1a2b3c")
    assert in_history.session == "session-1-ndi"  # as read from a commit, the name still counts
    assert in_history.problems[0].path == "STATUS-SESSION-1-NDI.yaml (commit 1a2b3c)"
    assert "belongs to 'session-1-ndi'" in str(impostor.problems[0])
    alias = read_status(b"session: session-4-sip\n", "STATUS-SESSION-4.yaml")
    assert alias.session == "session-4-sip" and alias.named == "session-4"
    garbled = read_status(
        b"session: x\ncurrent_task: P0.1.1\nnext_action: caf\xe9\n", "STATUS-X.yaml"
    )
    assert garbled.current_task == "P0.1.1" and "UTF-8" in str(garbled.problems[0])
    with pytest.raises(CorruptStatus, match="missing 'session'"):
        read_status(b"status: idle\n", "STATUS-.yaml")
