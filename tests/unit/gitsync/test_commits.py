"""Commit plans and messages, as the seed sessions write them."""

from __future__ import annotations

from datetime import UTC, datetime

from ifmesh.node.gitsync.batch import Batch, commit_message
from ifmesh.node.protocol.messages import (
    Blocker,
    Envelope,
    LeaseRenew,
    Payload,
    TaskClaim,
    TaskComplete,
    TaskProgress,
    make_message,
)

NOW = datetime(2025, 11, 12, 14, 30, tzinfo=UTC)
S = "session-2-webrtc"


def event(payload: Payload) -> Envelope:
    return make_message(payload, source=S, timestamp=NOW)


def test_messages_match_the_seed_sessions() -> None:
    progress = event(TaskProgress(task_id="P0.5.2", epoch=0, percent=50))
    complete = event(TaskComplete(task_id="P0.5.2", epoch=0, tests_pass=True))
    block = event(Blocker(swarm_id=S, task_id="P0.5.2", blocked_on=["P0.2.6"], detected_at=NOW))
    renew = event(LeaseRenew(task_ids=["P0.5.2"]))
    claim = event(TaskClaim(task_id="P0.5.2", epoch=0, swarm_id=S, timestamp=NOW))
    batch = Batch()
    batch.add_event(claim)
    batch.add_confirm("P0.5.2", 0)
    (plan,) = batch.take()
    assert plan.message(S) == "claim: P0.5.2"
    assert commit_message(S, [progress]) == "progress: P0.5.2 50%"
    assert commit_message(S, [complete]) == "complete: P0.5.2"
    assert commit_message(S, [block]) == "block: P0.5.2 on P0.2.6"
    assert commit_message(S, [renew]) == "chore: Update session-2-webrtc status"
    assert commit_message(S, [progress, complete]) == "progress: P0.5.2 50%; complete: P0.5.2"
    # Claimed, worked and completed inside one batch window: the claim is still named.
    assert commit_message(S, [claim, progress, complete]) == (
        "claim: P0.5.2; progress: P0.5.2 50%; complete: P0.5.2"
    )


def test_a_confirm_record_ends_its_commit() -> None:
    batch = Batch()
    batch.add_confirm("P0.1.4", 0)
    batch.add_confirm("F2.1", 0)
    batch.add_event(event(TaskProgress(task_id="P0.1.4", epoch=0, percent=25)))
    plans = batch.take()
    assert [p.confirm.task if p.confirm else None for p in plans] == ["P0.1.4", "F2.1", None]
    assert [len(p.events) for p in plans] == [0, 0, 1]
    assert not batch and batch.take() == []
