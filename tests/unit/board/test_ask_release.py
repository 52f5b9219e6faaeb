"""Request-release: an ask shortens the holder's lease to a grace; the holder is told and
answers with a release or a keep; unanswered, the task is STALE and the first waiter of its
queue (or, without one, anyone's claim) takes it over. Time is the events' own."""

from __future__ import annotations

from datetime import timedelta

import pytest

from ifmesh.node.board.effects import Fenced, Rejected, ReleaseAsked, ReleaseKept
from ifmesh.node.board.errors import (
    AlreadyAsked,
    AlreadyClaimed,
    AlreadyHolder,
    NotAsked,
    NotHeld,
    NotOwner,
)
from ifmesh.node.board.log import EventLog
from ifmesh.node.board.state import BoardConfig, lease_expired
from ifmesh.node.protocol import messages as m
from tests.unit.board.helpers import Room, Stamper, at, chain_board

LEASE = timedelta(minutes=15)
GRACE = timedelta(minutes=10)
CONFIG = BoardConfig(lease=LEASE)


def three() -> Room:
    return Room(("s1", "s2", "s3"), CONFIG)


def asked_room() -> Room:
    """s1 holds A since minute 0 (and keeps working); s2 asks it to release at minute 5."""
    room = three()
    room.send(room["s1"].claim("A", at(0)))
    room.send(room["s2"].queues.ask_release("A", "I need A for the demo", at(5), grace=GRACE))
    return room


def test_an_ask_shortens_the_lease_to_the_grace_and_tells_the_holder() -> None:
    room = asked_room()
    room.send(room["s1"].progress("A", 25, at(14)))  # busy, but not an answer
    task = room["s3"].board.tasks["A"]
    assert task.ask is not None and task.ask.asker == "s2" and task.ask.grace_until == at(15)
    assert not lease_expired(task, at(14.9), LEASE)
    assert lease_expired(task, at(15), LEASE)  # 15 min of lease would run until minute 29
    told = room.told("s1", ReleaseAsked)
    assert len(told) == 1
    asked = told[0]
    assert isinstance(asked, ReleaseAsked)
    assert (asked.asker, asked.reason, asked.grace_until) == ("s2", "I need A for the demo", at(15))


def test_keep_restores_the_lease_and_tells_the_asker() -> None:
    room = asked_room()
    room.send(room["s1"].queues.keep("A", "two more tests and it is done", at(8)))
    task = room["s3"].board.tasks["A"]
    assert task.ask is None and task.owner == "s1"
    assert not lease_expired(task, at(15), LEASE)  # the grace no longer applies
    assert lease_expired(task, at(23), LEASE)  # a lease from the keep, its latest event
    kept = room.told("s2", ReleaseKept)
    assert len(kept) == 1 and isinstance(kept[0], ReleaseKept)
    assert (kept[0].holder, kept[0].reason) == ("s1", "two more tests and it is done")


def test_only_the_holder_may_keep() -> None:
    room = asked_room()
    with pytest.raises(NotOwner, match="only A's holder may keep it, and that is s1"):
        room["s3"].queues.keep("A", "mine now", at(6))
    # A keep that got past its node changes nothing anywhere.
    log = EventLog(chain_board(), CONFIG)
    for event in room["s1"].log:
        log.add(event)
    stamp = Stamper()
    added = log.add(stamp("s3", m.TaskKeep(task_id="A", epoch=0, reason="x"), lamport=50))
    assert [e.code for e in added.effects if isinstance(e, Rejected)] == ["not_owner"]
    assert log.board.tasks["A"].ask is not None


def test_asks_and_keeps_that_make_no_sense_are_typed_errors() -> None:
    room = three()
    with pytest.raises(NotHeld, match="nobody holds A: claim it"):
        room["s2"].queues.ask_release("A", "please", at(1), grace=GRACE)
    room.send(room["s1"].claim("A", at(0)))
    with pytest.raises(AlreadyHolder):
        room["s1"].queues.ask_release("A", "please", at(1), grace=GRACE)
    with pytest.raises(NotAsked, match="nobody asked you to release A"):
        room["s1"].queues.keep("A", "sure", at(1))
    room.send(room["s2"].queues.ask_release("A", "please", at(2), grace=GRACE))
    with pytest.raises(AlreadyAsked, match=r"s2 already asked s1 to release A .*12:00Z"):
        room["s3"].queues.ask_release("A", "me too", at(3), grace=GRACE)


def test_a_release_answers_the_ask_and_the_queue_turn_starts() -> None:
    room = asked_room()
    room.send(room["s2"].queues.join("A", at(5.5), urgency="medium"))
    room.send(room["s1"].release("A", at(7)))
    task = room["s3"].board.tasks["A"]
    assert task.ask is None and task.owner is None and task.turn_since == at(7)
    assert room["s2"].due_queue_claims(at(7)) == ["A"]


def test_unanswered_the_first_waiter_takes_it_over_present_holder_or_not() -> None:
    room = asked_room()
    room.send(room["s2"].queues.join("A", at(6), urgency="medium"))
    for replica in room.replicas.values():
        replica.set_presence({"s1", "s2", "s3"})  # the holder is alive on the mesh
    assert room["s2"].due_queue_claims(at(14)) == []
    assert room["s2"].get_timer() == at(15)
    assert room["s2"].due_queue_claims(at(15)) == ["A"]
    assert room["s2"].due_queue_claims(at(16)) == []  # once per (task, epoch)
    steal = room["s2"].claim("A", at(15))
    assert [e.type for e in steal] == ["task.steal"]
    room.send(steal)
    task = room["s3"].board.tasks["A"]
    assert (task.owner, task.epoch, task.queue, task.ask) == ("s2", 1, (), None)
    assert any(isinstance(e, Fenced) and e.by == "s2" for e in room.told("s1", Fenced))


def test_unanswered_without_a_queue_anyone_may_take_it_over_after_the_grace() -> None:
    room = asked_room()
    with pytest.raises(AlreadyClaimed):
        room["s3"].claim("A", at(14))
    room.send(room["s3"].claim("A", at(15)))
    task = room["s1"].board.tasks["A"]
    assert (task.owner, task.epoch) == ("s3", 1)
