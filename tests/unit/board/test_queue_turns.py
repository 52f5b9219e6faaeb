"""A node's side of claim queues: `Replica.due_queue_claims` hands its session's turns out
once per (task, epoch), tells the agent (`QueueTurn`), and `get_timer` says when the next
turn comes — so the node claims for its own session the moment the fold says it may."""

from __future__ import annotations

from datetime import timedelta

from ifmesh.node.board.effects import QueueTurn
from ifmesh.node.board.replica import Replica, Takeover
from ifmesh.node.board.state import BoardConfig
from ifmesh.node.protocol import messages as m
from tests.unit.board.helpers import at, chain_board

LEASE = timedelta(minutes=15)
CONFIG = BoardConfig(lease=LEASE)


def room(takeover: Takeover = "offer") -> dict[str, Replica]:
    return {
        s: Replica(s, f"inc-{s}", initial=chain_board(), config=CONFIG, takeover=takeover)
        for s in ("s1", "s2", "s3")
    }


def send(replicas: dict[str, Replica], events: tuple[m.Envelope, ...]) -> None:
    for event in events:
        for replica in replicas.values():
            if replica.session_id != event.source:
                replica.receive(event)


def turns_told(replica: Replica) -> list[QueueTurn]:
    return [e for e in replica.effects() if isinstance(e, QueueTurn)]


def queued_behind_s1() -> dict[str, Replica]:
    """s1 holds A from minute 0; s2 queues (high) at 1, then s3 (medium) at 2."""
    r = room()
    send(r, r["s1"].claim("A", at(0)))
    send(r, r["s2"].queues.join("A", at(1), urgency="high"))
    send(r, r["s3"].queues.join("A", at(2), urgency="medium"))
    return r


def test_the_turn_is_handed_out_once_and_the_agent_is_told() -> None:
    r = queued_behind_s1()
    assert r["s2"].due_queue_claims(at(5)) == []  # held, holder present in no view: no turn
    send(r, r["s1"].release("A", at(10)))
    assert r["s2"].get_timer() == at(10)  # due now
    assert r["s3"].due_queue_claims(at(10)) == []  # not its turn
    assert r["s2"].due_queue_claims(at(10)) == ["A"]
    assert r["s2"].due_queue_claims(at(10)) == []  # once per (task, epoch)
    assert turns_told(r["s2"]) == [QueueTurn("queue-turn:A:1", "s2", "A", 1)]
    # What its node does with it: the ordinary claim, accepted everywhere.
    send(r, r["s2"].claim("A", at(10)))
    assert r["s3"].board.tasks["A"].owner == "s2"


def test_the_next_waiter_is_woken_when_the_turn_passes_to_it() -> None:
    r = queued_behind_s1()
    send(r, r["s1"].release("A", at(10)))
    assert r["s3"].get_timer() == at(25)  # s2's turn lasts a lease
    assert r["s3"].due_queue_claims(at(24)) == []
    assert r["s3"].due_queue_claims(at(25)) == ["A"]
    assert [t.task_id for t in turns_told(r["s3"])] == ["A"]
    send(r, r["s3"].claim("A", at(26)))
    assert r["s1"].board.tasks["A"].owner == "s3"


def test_a_turn_missed_is_not_handed_out_and_asks_for_no_more_wakeups() -> None:
    r = queued_behind_s1()
    send(r, r["s1"].release("A", at(10)))
    # s2's node was away for two leases: its turn (10–25) and s3's (25–40) have passed.
    assert r["s2"].due_queue_claims(at(41)) == []
    assert r["s2"].get_timer() is None
    assert turns_told(r["s2"]) == []


def test_a_queue_head_takes_over_a_stale_task_of_an_absent_holder_unless_never() -> None:
    for takeover, expected in (("offer", ["A"]), ("auto", ["A"]), ("never", [])):
        r = room(takeover)  # type: ignore[arg-type]
        send(r, r["s1"].claim("A", at(0)))
        send(r, r["s2"].queues.join("A", at(1), urgency="low"))
        r["s2"].set_presence({"s3"})  # s1 is gone
        assert r["s2"].due_queue_claims(at(14)) == []
        assert r["s2"].due_queue_claims(at(15)) == expected, takeover
        if expected:
            assert [e.type for e in r["s2"].claim("A", at(15))] == ["task.steal"]


def test_nothing_is_due_for_a_session_in_no_queue() -> None:
    r = queued_behind_s1()
    send(r, r["s1"].release("A", at(10)))
    assert r["s1"].due_queue_claims(at(10)) == []
    assert r["s1"].get_timer() is None
