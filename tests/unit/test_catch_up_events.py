"""What a node sends first on a new channel: its own recent events still within their ttl."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from ifmesh.node.board.replica import Replica
from ifmesh.node.protocol import messages as m
from ifmesh.node.runtime import parts


def renewals(replica: Replica, count: int, at: datetime) -> list[m.Envelope]:
    return [
        event
        for i in range(count)
        for event in replica.publish(m.LeaseRenew(task_ids=[]), at + timedelta(microseconds=i))
    ]


def test_catch_up_leaves_events_past_their_ttl_to_git() -> None:
    replica = Replica("s1", "inc-1")
    now = datetime.now(UTC)
    register = m.SwarmRegister(swarm_id="s1", capabilities=[], cost_per_hour=1, budget=10)
    replica.publish(register, now - timedelta(hours=2))  # ttl 300 s: the peer would refuse it
    fresh = renewals(replica, 3, now - timedelta(seconds=5))
    replica.receive(
        m.make_message(m.LeaseRenew(task_ids=[]), source="s2", timestamp=now, seq=1, lamport=1)
    )
    assert parts.catch_up_events(replica, now) == fresh  # own events, oldest first


def test_catch_up_is_bounded_to_the_last_events() -> None:
    replica = Replica("s1", "inc-1")
    now = datetime.now(UTC)
    sent = renewals(replica, parts.CATCH_UP_EVENTS + 10, now)
    assert parts.catch_up_events(replica, now) == sent[-parts.CATCH_UP_EVENTS :]
