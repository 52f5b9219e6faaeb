"""Claim queues in the fold: the order (urgency with aging), turns, who may claim, and how
freeing, leaving, completing and stealing change a queue — the same on every node.

Time is the events' own timestamps (``at(minutes)``); nothing sleeps.
"""

from __future__ import annotations

import random
from datetime import timedelta

import pytest

from ifmesh.node.board import queues
from ifmesh.node.board.canonical import canonical_bytes
from ifmesh.node.board.effects import Rejected, Unqueued
from ifmesh.node.board.errors import AlreadyHolder, NotQueueHead, TaskCompleted, UnknownTask
from ifmesh.node.board.log import EventLog
from ifmesh.node.board.state import BoardConfig, TaskStatus, Waiter
from ifmesh.node.protocol import messages as m
from tests.unit.board.helpers import Room, Stamper, at, chain_board, claim

LEASE = timedelta(minutes=15)
CONFIG = BoardConfig(lease=LEASE)


def waiter(session: str, urgency: str, minutes: float) -> Waiter:
    return Waiter(session, urgency, at(minutes))


def order(*waiters: Waiter, when: float) -> list[str]:
    return [w.session_id for w in queues.ordered(waiters, at(when))]


# --- the order ----------------------------------------------------------------------------------


def test_urgency_counts_as_thirty_minutes_of_waiting_per_step() -> None:
    low_early = waiter("s-low", "low", 0)
    critical_late = waiter("s-critical", "critical", 120)
    # At the freeing: low has waited 120 min (rank 0 + 4), critical 0 min (rank 3).
    assert order(low_early, critical_late, when=120) == ["s-low", "s-critical"]
    # Joined 60 minutes apart, the critical one is worth 90: it goes first.
    assert order(waiter("s-low", "low", 0), waiter("s-c", "critical", 60), when=60) == [
        "s-c",
        "s-low",
    ]
    assert queues.rank(low_early, at(120)) == pytest.approx(4.0)
    assert queues.rank(critical_late, at(120)) == pytest.approx(3.0)


def test_aging_never_reorders_two_waiters_already_waiting() -> None:
    waiters = [
        waiter("s1", "medium", 0),
        waiter("s2", "high", 25),
        waiter("s3", "critical", 50),
        waiter("s4", "low", 3),
    ]
    expected = order(*waiters, when=60)
    for later in (61, 90, 600, 10_000):
        assert order(*waiters, when=later) == expected
    # One who joined after the freeing has waited nothing yet: weight alone.
    assert queues.rank(waiter("s5", "high", 70), at(60)) == 2.0


def test_ties_go_to_the_earlier_join_then_the_lower_id() -> None:
    high_early = waiter("s-b", "high", 0)  # 2 + 30/30 = 3 at minute 30
    critical_now = waiter("s-a", "critical", 30)  # 3 + 0 = 3
    assert order(critical_now, high_early, when=30) == ["s-b", "s-a"]
    assert order(waiter("s-b", "low", 5), waiter("s-a", "low", 5), when=9) == ["s-a", "s-b"]


# --- a room -------------------------------------------------------------------------------------


def four() -> Room:
    """Replicas of s1…s4 on the chain board that see every event at once."""
    return Room(("s1", "s2", "s3", "s4"), CONFIG)


def held_with_queue() -> Room:
    """s1 holds A from minute 0; s2 queues (low) at 1, s3 (high) at 20."""
    room = four()
    room.send(room["s1"].claim("A", at(0)))
    room.send(room["s2"].queues.join("A", at(1), urgency="low"))
    room.send(room["s3"].queues.join("A", at(20), urgency="high"))
    return room


def test_a_queue_waits_in_join_order_while_held_and_in_turn_order_once_freed() -> None:
    room = held_with_queue()
    held = room.task()
    assert [w.session_id for w in held.queue] == ["s2", "s3"] and held.turn_since is None
    # Shown as it would be ordered if it freed now: s3 (2 + 10/30) before s2 (0 + 29/30).
    assert [w.session_id for w in queues.in_order(held, at(30), LEASE)] == ["s3", "s2"]
    room.send(room["s1"].release("A", at(30)))
    freed = room.task()
    assert (freed.status, freed.owner, freed.epoch) == (TaskStatus.AVAILABLE, None, 1)
    assert [w.session_id for w in freed.queue] == ["s3", "s2"]
    assert freed.turn_since == at(30)
    assert queues.turn(freed, at(31), LEASE) == "s3"


def test_only_the_waiter_whose_turn_it_is_may_claim_unless_forced() -> None:
    room = held_with_queue()
    room.send(room["s1"].release("A", at(30)))
    with pytest.raises(NotQueueHead, match="s3's turn"):
        room["s2"].claim("A", at(31))
    with pytest.raises(NotQueueHead):
        room["s4"].claim("A", at(31))  # not even queued
    # A claim that gets past its own node is refused in every fold alike.
    log = EventLog(chain_board(), CONFIG)
    for event in room["s4"].log:
        log.add(event)
    stamp = Stamper()
    stamp.seqs["s2"] = 10  # after s2's own events
    added = log.add(stamp("s2", claim("A", "s2", epoch=1), lamport=100, when=at(31)))
    refused = [e for e in added.effects if isinstance(e, Rejected)]
    assert [(r.code, r.session) for r in refused] == [("not_queue_head", "s2")]
    # --force takes it anyway; the queue stays for the next time it frees.
    room.send(room["s4"].claim("A", at(32), force=True))
    assert room.task().owner == "s4"
    assert [w.session_id for w in room.task().queue] == ["s3", "s2"]


def test_the_head_claims_and_leaves_the_queue() -> None:
    room = held_with_queue()
    room.send(room["s1"].release("A", at(30)))
    room.send(room["s3"].claim("A", at(30.5)))
    task = room.task()
    assert (task.owner, task.epoch) == ("s3", 1)
    assert [w.session_id for w in task.queue] == ["s2"] and task.turn_since is None


def test_an_unclaimed_turn_passes_to_the_next_waiter_after_a_lease() -> None:
    room = held_with_queue()
    room.send(room["s1"].release("A", at(30)))
    freed = room.task()
    assert queues.turn(freed, at(44.9), LEASE) == "s3"
    assert queues.turn(freed, at(45), LEASE) == "s2"  # s3's node never claimed
    assert queues.turn(freed, at(60), LEASE) is None  # every turn lapsed: anyone may
    room.send(room["s2"].claim("A", at(50)))
    assert room.task().owner == "s2" and room.task().queue == ()
    assert any(
        isinstance(e, Unqueued) and e.task_id == "A" and "lapsed" in e.why
        for e in room.effects("s3")
    )


def test_the_head_leaving_starts_the_next_turn_at_once() -> None:
    room = held_with_queue()
    room.send(room["s1"].release("A", at(30)))
    room.send(room["s3"].queues.leave("A", at(40)))
    task = room.task()
    assert [w.session_id for w in task.queue] == ["s2"] and task.turn_since == at(40)
    assert queues.turn(task, at(54), LEASE) == "s2"  # a full lease from when it left
    with pytest.raises(Exception, match="not in A's claim queue"):
        room["s3"].queues.leave("A", at(41))


def test_joining_again_changes_the_urgency_and_keeps_the_place_in_time() -> None:
    room = held_with_queue()
    room.send(room["s2"].queues.join("A", at(25), urgency="critical"))
    entry = next(w for w in room.task().queue if w.session_id == "s2")
    assert (entry.urgency, entry.queued_at) == ("critical", at(1))
    assert len(room.task().queue) == 2


def test_completing_the_task_ends_its_queue_and_tells_the_waiters() -> None:
    room = held_with_queue()
    room.send(room["s1"].complete("A", at(30)))
    assert room.task().queue == () and room.task().status is TaskStatus.COMPLETED
    for session in ("s2", "s3"):
        told = [
            e for e in room.effects(session) if isinstance(e, Unqueued) and e.session == session
        ]
        assert [(e.session, e.why) for e in told] == [(session, "A was completed by s1")]


def test_the_last_dependency_completing_starts_the_first_turn() -> None:
    room = four()
    room.send(room["s2"].queues.join("B", at(1), urgency="medium"))  # B waits on A
    assert room.task("B").status is TaskStatus.BLOCKED and room.task("B").turn_since is None
    room.send(room["s1"].claim("A", at(2)))
    room.send(room["s1"].complete("A", at(10)))
    task = room.task("B")
    assert task.status is TaskStatus.AVAILABLE and task.turn_since == at(10)
    assert queues.turn(task, at(11), LEASE) == "s2"


def test_queueing_on_what_cannot_be_waited_for_is_refused() -> None:
    room = held_with_queue()
    with pytest.raises(UnknownTask):
        room["s2"].queues.join("NOPE", at(2), urgency="low")
    with pytest.raises(AlreadyHolder, match="you hold A yourself"):
        room["s1"].queues.join("A", at(2), urgency="low")
    room.send(room["s1"].complete("A", at(3)))
    with pytest.raises(TaskCompleted, match="COMPLETED"):
        room["s2"].queues.join("A", at(4), urgency="low")
    # The fold refuses the same, for events that got past a node.
    stamp = Stamper()
    log = EventLog(chain_board(), CONFIG)
    for event in room["s4"].log:
        log.add(event)
    queued = stamp("s4", m.TaskQueue(task_id="A", epoch=0), lamport=200, when=at(5))
    future = stamp("s4", m.TaskQueue(task_id="F", epoch=9), lamport=201, when=at(5))
    codes = [
        e.code
        for event in (queued, future)
        for e in log.add(event).effects
        if isinstance(e, Rejected)
    ]
    assert codes == ["task_completed", "stale_epoch"]


def test_a_steal_of_a_stale_task_is_for_the_first_in_line_only() -> None:
    room = held_with_queue()  # s1 holds A since minute 0; s3 is first in line
    for replica in room.replicas.values():
        replica.set_presence(set())  # s1 is gone
    assert room["s2"].takeover_offers(at(20)) == ()  # s3 is first, so no offer to s2
    assert [t.task_id for t in room["s3"].takeover_offers(at(20))] == ["A"]
    with pytest.raises(NotQueueHead, match="s3's turn"):
        room["s2"].steal("A", at(20))
    room.send(room["s3"].claim("A", at(20)))  # a takeover: the steal
    task = room.task()
    assert (task.owner, task.epoch) == ("s3", 1)
    assert [w.session_id for w in task.queue] == ["s2"]


def test_every_node_folds_the_same_queue_whatever_the_arrival_order() -> None:
    room = held_with_queue()
    room.send(room["s4"].queues.join("A", at(21), urgency="critical"))
    room.send(room["s1"].release("A", at(30)))
    room.send(room["s2"].queues.leave("A", at(31)))
    room.send(room["s4"].claim("A", at(32)))
    events = list(room["s4"].log)
    expected = canonical_bytes(room["s4"].board)
    for seed in range(5):
        shuffled = events[:]
        random.Random(seed).shuffle(shuffled)
        log = EventLog(chain_board(), CONFIG)
        for event in shuffled:
            log.add(event)
        assert canonical_bytes(log.board) == expected
    final = room.task()
    assert (final.owner, [w.session_id for w in final.queue]) == ("s4", ["s3"])


def test_the_queue_index_matches_a_scan_of_every_task_after_late_events() -> None:
    """Who waits where is indexed by the fold (node timers ask on every change); refolds from
    checkpoints restore it too."""
    room = held_with_queue()
    room.send(room["s4"].queues.join("A", at(21), urgency="critical"))
    room.send(room["s1"].release("A", at(30)))
    room.send(room["s2"].queues.leave("A", at(31)))
    events = list(room["s4"].log)
    for seed in range(5):
        shuffled = events[:]
        random.Random(seed).shuffle(shuffled)
        log = EventLog(chain_board(), CONFIG, checkpoint_every=1)
        for event in shuffled:
            log.add(event)
            for session in ("s1", "s2", "s3", "s4"):
                scan = [t for t in sorted(log.board.tasks.values(), key=lambda t: t.task_id)
                        if any(w.session_id == session for w in t.queue)]  # fmt: skip
                assert list(log.queued_for(session)) == scan
    assert [t.task_id for t in log.queued_for("s3")] == ["A"]
