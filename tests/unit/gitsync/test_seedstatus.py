"""Events derived from a seed session's STATUS changes: the same from git alone, everywhere."""

from __future__ import annotations

from datetime import UTC, datetime

from ifmesh.node.board.formats.status import parse_status
from ifmesh.node.gitsync.seedstatus import StatusChange, change_id, derive_events

PATH = "STATUS-SESSION-2-WEBRTC.yaml"
AT = datetime(2025, 11, 12, 14, 0, tzinfo=UTC)


def change(before: str | None, after: str, commit: str = "c" * 40, depth: int = 7) -> StatusChange:
    return StatusChange(
        commit=commit,
        path=PATH,
        committed_at=AT,
        depth=depth,
        branch="claude/webrtc-agent-mesh-x",
        before=parse_status(before, PATH) if before else None,
        after=parse_status(after, PATH),
    )


LOOP = (
    "session: session-2-webrtc\nstatus: polling\nlast_poll: {t}\nbranch: b\ncurrent_task: {task}\n"
)


def loop(task: str, t: str = "2025-11-12T14:00:00+00:00") -> str:
    return LOOP.format(task=task, t=t)


def types(change: StatusChange) -> list[str]:
    return [e.type for e in derive_events(change, renew_interval=300)]


def test_polling_loop_naming_a_task_is_a_claim_with_git_derived_identity() -> None:
    (claim,) = derive_events(change(loop("none"), loop("P0.5.2")), renew_interval=300)
    assert claim.type == "task.claim" and claim.source == "session-2-webrtc"
    assert claim.payload.task_id == "P0.5.2" and claim.payload.epoch == 0  # type: ignore[attr-defined]
    assert claim.id == change_id("c" * 40, PATH)
    assert claim.incarnation == "git:claude/webrtc-agent-mesh-x"
    assert claim.timestamp == datetime(2025, 11, 12, 14, 0, tzinfo=UTC)  # the file's own time
    again = derive_events(change(loop("none"), loop("P0.5.2")), renew_interval=300)
    assert again == [claim], "every node derives the same event"


def test_unchanged_task_refreshes_renew_the_lease_at_most_once_per_interval() -> None:
    same_bucket = change(
        loop("P0.5.2", "2025-11-12T14:00:30+00:00"), loop("P0.5.2", "2025-11-12T14:01:00+00:00")
    )
    assert types(same_bucket) == []
    next_bucket = change(
        loop("P0.5.2", "2025-11-12T14:04:50+00:00"), loop("P0.5.2", "2025-11-12T14:05:10+00:00")
    )
    assert types(next_bucket) == ["lease.renew"]
    assert types(change(loop("none"), loop("none"))) == []


def test_progress_completion_and_blockers_from_the_report_form() -> None:
    claiming = 'session: session-2-webrtc\nclaiming: P0.5.2\nmilestone: "0% - Starting task"\n'
    half = (
        "session: session-2-webrtc\ncurrent_task: P0.5.2\n"
        'milestone: "50% - Policy done"\nblocked_on: P0.2.6\n'
    )
    done = (
        'session: session-2-webrtc\ncompleted: P0.5.2\nmilestone: "100% - Complete"\n'
        "deliverable: docs/IF.GOVERNOR.md\ntests_pass: true\n"
    )
    assert types(change(None, claiming)) == ["task.claim"]
    events = derive_events(change(claiming, half), renew_interval=300)
    assert [e.type for e in events] == ["task.progress", "blocker"]
    assert events[0].payload.milestone == "Policy done"  # type: ignore[attr-defined]
    assert events[1].payload.blocked_on == ["P0.2.6"]  # type: ignore[attr-defined]
    assert len({e.id for e in events}) == 2 and events[0].seq < events[1].seq
    (complete,) = derive_events(change(half, done), renew_interval=300)
    assert complete.type == "task.complete"
    assert complete.payload.tests_pass and complete.payload.deliverable == "docs/IF.GOVERNOR.md"  # type: ignore[attr-defined]


def test_later_commits_order_after_earlier_ones() -> None:
    early = derive_events(change(loop("none"), loop("P0.5.2"), depth=7), renew_interval=300)
    late = derive_events(
        change(loop("none"), loop("F2.1"), commit="d" * 40, depth=8), renew_interval=300
    )
    assert early[0].seq < late[0].seq and early[0].lamport < late[0].lamport
