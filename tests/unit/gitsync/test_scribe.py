"""Who renders the board, and the Status/Owner cells it renders from git-confirmed state."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ifmesh.node.board.formats.status import StatusFile
from ifmesh.node.board.state import TaskStatus
from ifmesh.node.gitsync.confirm import ConfirmLedger, ConfirmRecord
from ifmesh.node.gitsync.errors import BoardUnparseable
from ifmesh.node.gitsync.scribe import (
    STARTER_BOARD,
    ScribeFacts,
    choose_scribe,
    confirmed_cells,
    render_board,
)
from ifmesh.node.protocol.messages import (
    Envelope,
    LeaseRenew,
    Payload,
    TaskClaim,
    TaskComplete,
    TaskProgress,
    TaskRelease,
    make_message,
)

T0 = datetime(2025, 11, 12, 14, 0, tzinfo=UTC)
LEASE = timedelta(minutes=15)


def test_scribe_is_the_lowest_node_session_with_a_fresh_status() -> None:
    def status(session: str, minutes_ago: int) -> StatusFile:
        return StatusFile(session=session, timestamp=T0 - timedelta(minutes=minutes_ago))

    statuses = {
        "session-1-ndi": status("session-1-ndi", 90),  # stale
        "session-2-webrtc": status("session-2-webrtc", 1),  # fresh but runs no node
        "session-3-h323": status("session-3-h323", 5),
        "session-4-sip": status("session-4-sip", 0),
    }
    nodes = ["session-1-ndi", "session-3-h323", "session-4-sip"]
    assert choose_scribe(statuses, nodes, T0, timedelta(minutes=30)) == "session-3-h323"
    assert choose_scribe(statuses, [], T0, timedelta(minutes=30)) is None


def event(source: str, payload: Payload, lamport: int, *, seed: bool = False) -> Envelope:
    return make_message(
        payload,
        source=source,
        timestamp=T0 + timedelta(seconds=lamport),
        seq=lamport,
        lamport=lamport,
        incarnation="git:claude/x" if seed else "node",
    )


def claim(source: str, task: str, lamport: int, *, epoch: int = 0, seed: bool = False) -> Envelope:
    payload = TaskClaim(task_id=task, epoch=epoch, swarm_id=source, timestamp=T0)
    return event(source, payload, lamport, seed=seed)


def test_only_the_ledger_winner_holds_a_node_claim() -> None:
    ledger = ConfirmLedger()
    ledger.apply([ConfirmRecord("T1", 0, "session-b", "c1")])
    events = [claim("session-a", "T1", 1), claim("session-b", "T1", 2), claim("session-c", "T2", 3)]
    cells = confirmed_cells(events, ledger, T0, LEASE)
    assert (cells["T1"].status, cells["T1"].owner) == (TaskStatus.CLAIMED, "session-b")
    assert (cells["T2"].status, cells["T2"].owner) == (TaskStatus.AVAILABLE, None)  # unconfirmed


def test_seed_claims_count_when_free_and_completion_needs_the_owner_and_epoch() -> None:
    ledger = ConfirmLedger()
    ledger.apply([ConfirmRecord("T1", 0, "session-a", "c1")])
    complete = TaskComplete(task_id="T1", epoch=0, tests_pass=True)
    events = [
        claim("session-a", "T1", 1),
        claim("session-2-webrtc", "T1", 2, seed=True),  # taken already: ignored
        claim("session-2-webrtc", "T2", 3, seed=True),
        event("session-2-webrtc", complete, 4, seed=True),  # not the owner of T1
        event("session-a", TaskComplete(task_id="T1", epoch=1, tests_pass=True), 5),  # old epoch
    ]
    cells = confirmed_cells(events, ledger, T0 + timedelta(seconds=10), LEASE)
    assert cells["T1"].status is TaskStatus.CLAIMED and cells["T1"].owner == "session-a"
    assert cells["T2"].owner == "session-2-webrtc"
    cells = confirmed_cells([*events, event("session-a", complete, 6)], ledger, T0, LEASE)
    assert cells["T1"].status is TaskStatus.COMPLETED


def test_released_task_is_free_and_silent_owner_is_stale() -> None:
    ledger = ConfirmLedger()
    ledger.apply([ConfirmRecord("T1", 0, "session-a", "c1")])
    held = [claim("session-a", "T1", 1)]
    assert not confirmed_cells(held, ledger, T0 + timedelta(minutes=5), LEASE)["T1"].stale
    late = confirmed_cells(held, ledger, T0 + timedelta(minutes=16), LEASE)["T1"]
    assert late.stale and late.badge() == "🟠 STALE"
    released = [*held, event("session-a", TaskRelease(task_id="T1", epoch=0), 2)]
    cell = confirmed_cells(released, ledger, T0, LEASE)["T1"]
    assert (cell.status, cell.owner) == (TaskStatus.AVAILABLE, None)


def test_kept_facts_render_as_every_event_did() -> None:
    """A progress report or a renewal only says its author was alive: kept as the newest
    time per session, it must keep an owner fresh exactly as the whole event did."""
    ledger = ConfirmLedger()
    ledger.apply([ConfirmRecord("T1", 0, "session-a", "c1"), ConfirmRecord("T2", 0, "b", "c2")])
    events = [
        claim("session-a", "T1", 1),
        claim("b", "T2", 2),
        event("session-a", TaskProgress(task_id="T1", epoch=0, percent=50), 600),  # 10 min on
        event("b", LeaseRenew(task_ids=["T2"]), 3),
    ]
    kept = ScribeFacts(events)
    assert len(kept.changing) == 2 and set(kept.alive) == {"session-a", "b"}
    for minutes in (5, 14, 16, 26):
        now = T0 + timedelta(minutes=minutes)
        every = confirmed_cells(events, ledger, now, LEASE)
        assert confirmed_cells(kept.changing.values(), ledger, now, LEASE, kept.alive) == every
    late = confirmed_cells(kept.changing.values(), ledger, T0 + timedelta(minutes=16), LEASE,
                           kept.alive)  # fmt: skip
    assert not late["T1"].stale and late["T2"].stale  # session-a reported at 10 minutes


def test_kept_facts_share_one_string_per_session_and_task() -> None:
    """Each decoded event brings its own copies of its session's name and its task's id; a
    day's facts keep one of each."""
    events = [claim("".join(["session", "-a"]), "".join(["T", "1"]), n) for n in range(1, 4)]
    assert events[0].source is not events[1].source  # as decoded: a copy each
    facts = list(ScribeFacts(events).changing.items())
    assert len({id(key[0]) for key, _ in facts} | {id(f.source) for _, f in facts}) == 1
    assert len({id(f.task_id) for _, f in facts}) == 1
    assert len({id(key[1]) for key, _ in facts}) == 1  # the incarnation


def test_rendering_changes_only_status_and_owner_cells() -> None:
    ledger = ConfirmLedger()
    ledger.apply([ConfirmRecord("P0.0.1", 0, "session-a", "c1")])
    cells = confirmed_cells([claim("session-a", "P0.0.1", 1)], ledger, T0, LEASE)
    rendered = render_board(STARTER_BOARD, cells)
    changed = [
        (old, new)
        for old, new in zip(STARTER_BOARD.splitlines(), rendered.splitlines(), strict=True)
        if old != new
    ]
    assert len(changed) == 1
    assert "🟡 CLAIMED" in changed[0][1] and "| session-a |" in changed[0][1]
    with pytest.raises(BoardUnparseable, match="leaves the board as it is"):
        render_board("# just a title\n", cells)
