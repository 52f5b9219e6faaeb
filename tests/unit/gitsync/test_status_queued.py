"""The session's STATUS file lists the claim queues it waits in (`queued:`), from its own
events, and the list survives a read and a rewrite of the file."""

from __future__ import annotations

from datetime import UTC, datetime

from ifmesh.node.board.formats.status import parse_status
from ifmesh.node.gitsync import ownstatus
from ifmesh.node.protocol.messages import (
    Payload,
    TaskClaim,
    TaskQueue,
    TaskUnqueue,
    make_message,
)

NOW = datetime(2025, 11, 12, 14, 30, tzinfo=UTC)
S = "session-2-webrtc"


def test_queued_follows_queue_unqueue_and_the_claim_that_ends_the_wait() -> None:
    status = ownstatus.stamped(ownstatus.initial_status(S, "coord"), NOW)

    def after(status: ownstatus.StatusFile, payload: Payload) -> ownstatus.StatusFile:
        return ownstatus.after_event(status, make_message(payload, source=S, timestamp=NOW))

    status = after(status, TaskQueue(task_id="P0.5.2", epoch=0, urgency="high"))
    status = after(status, TaskQueue(task_id="P0.2.6", epoch=1))
    text = ownstatus.render(status).decode()
    assert "queued:\n- P0.5.2\n- P0.2.6\n" in text
    assert parse_status(text).extra["queued"] == ["P0.5.2", "P0.2.6"]  # read back as written
    status = after(status, TaskUnqueue(task_id="P0.2.6"))
    status = after(status, TaskClaim(task_id="P0.5.2", epoch=1, swarm_id=S, timestamp=NOW))
    assert "queued" not in status.extra
    assert "queued" not in ownstatus.render(status).decode()
