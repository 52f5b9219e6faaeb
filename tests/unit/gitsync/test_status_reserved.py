"""The session's STATUS file lists its path reservations (`reserved:`), from its own events,
so sessions without a node see them; releasing them, or their task, drops them."""

from __future__ import annotations

from datetime import UTC, datetime

from ifmesh.node.board.formats.status import parse_status
from ifmesh.node.gitsync import ownstatus
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


def test_reserved_follows_reserve_release_and_the_end_of_the_task() -> None:
    status = ownstatus.stamped(ownstatus.initial_status(S, "coord"), NOW)
    status = after(status, PathsReserve(task_id="P0.5.2", epoch=0, ttl_seconds=7200.0,
                                        patterns=["docs/**", "README.md"]))  # fmt: skip
    status = after(status, PathsReserve(task_id="P0.2.6", epoch=1, ttl_seconds=60.0,
                                        patterns=["tests/*.py"], exclusive=False))  # fmt: skip
    text = ownstatus.render(status).decode()
    assert "reserved:\n- mode: exclusive\n  pattern: docs/**\n  task: P0.5.2\n" in text
    read = parse_status(text).extra["reserved"]  # read back as written, by the seed's parser
    assert [(r["pattern"], r["task"], r["mode"], r["until"]) for r in read] == [
        ("docs/**", "P0.5.2", "exclusive", "2025-11-12T16:30:00Z"),
        ("README.md", "P0.5.2", "exclusive", "2025-11-12T16:30:00Z"),
        ("tests/*.py", "P0.2.6", "shared", "2025-11-12T14:31:00Z"),
    ]
    status = after(status, PathsRelease(patterns=["README.md"]))
    status = after(status, TaskComplete(task_id="P0.2.6", epoch=1, tests_pass=True))
    assert [r["pattern"] for r in status.extra["reserved"]] == ["docs/**"]
    status = after(status, PathsRelease(task_id="P0.5.2"))
    assert "reserved" not in ownstatus.render(status).decode()
