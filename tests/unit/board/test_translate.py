"""A polling-loop session's STATUS changes become board events, and fold as expected."""

from __future__ import annotations

from ifmesh.node.board.formats.status import parse_status
from ifmesh.node.board.formats.translate import status_payloads
from ifmesh.node.board.log import EventLog
from ifmesh.node.protocol import messages as m
from tests.unit.board.helpers import at, chain_board


def fold_status(
    log: EventLog, before: str | None, after: str, seq: int, minute: float
) -> list[str]:
    old = parse_status(before) if before else None
    new = parse_status(after)
    payloads = status_payloads(old, new, log.board, at(minute))
    for i, payload in enumerate(payloads):
        log.add(
            m.make_message(
                payload,
                source=new.session,
                timestamp=at(minute),
                seq=seq + i,
                lamport=seq + i,
                incarnation="status-file",
            )
        )
    return [p.message_type for p in payloads]


POLL = (
    "session: s3\nstatus: polling\nlast_poll: 2025-11-12T14:00:00Z\nbranch: b\ncurrent_task: {}\n"
)


def test_the_polling_loops_file_claims_progresses_and_completes() -> None:
    log = EventLog(chain_board())
    idle = POLL.format("none")
    working = POLL.format("A")
    assert fold_status(log, None, idle, 1, 0) == []
    assert fold_status(log, idle, working, 1, 1) == ["task.claim"]
    assert log.board.tasks["A"].owner == "s3"
    assert fold_status(log, working, working, 2, 2) == ["lease.renew"]
    assert log.board.tasks["A"].owner_last_event_at == at(2)
    half = working + 'milestone: "50% - halfway"\n'
    assert fold_status(log, working, half, 3, 3) == ["task.progress"]
    assert log.board.tasks["A"].percent == 50
    done = (
        "session: s3\ncompleted: A\nmilestone: 100% - Complete\n"
        "deliverable: docs/A.md\ntests_pass: true\ntimestamp: 2025-11-12T14:05:00Z\n"
    )
    assert fold_status(log, half, done, 4, 5) == ["task.complete"]
    assert log.board.tasks["A"].status.value == "COMPLETED"
    assert log.board.tasks["B"].status.value == "AVAILABLE"


def test_a_reported_blocker_and_a_taken_task() -> None:
    log = EventLog(chain_board())
    log.add(
        m.make_message(
            m.TaskClaim(task_id="F", epoch=0, swarm_id="s1", timestamp=at(0)),
            source="s1",
            timestamp=at(0),
            seq=1,
            lamport=1,
        )
    )
    blocked = "session: s3\ncurrent_task: F\nblocked_on: A\ntimestamp: 2025-11-12T14:01:00Z\n"
    assert fold_status(log, None, blocked, 1, 1) == ["task.claim", "blocker"]
    assert log.board.tasks["F"].owner == "s1"  # the file cannot take a held task
