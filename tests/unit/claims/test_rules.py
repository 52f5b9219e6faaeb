"""The rules of a decided claim (docs/claims.md), without I/O: who is asked, when git decides
instead of the mesh, who holds the task in the fold, and which claims get a nack."""

from __future__ import annotations

from datetime import timedelta

from ifmesh.node.board.log import EventLog
from ifmesh.node.board.membership import members, without_node
from ifmesh.node.board.state import BoardConfig
from ifmesh.node.claims import rules
from ifmesh.node.mesh.acks import Acks
from ifmesh.node.protocol import messages as m
from tests.unit.board.helpers import Stamper, at, chain_board, claim

LEASE = timedelta(minutes=15)


def register(session: str) -> m.SwarmRegister:
    return m.SwarmRegister(swarm_id=session, capabilities=[], cost_per_hour=0.0, budget=0.0)


def test_members_are_node_registered_sessions_heard_within_the_lease() -> None:
    stamp, log = Stamper(), EventLog(chain_board(), BoardConfig(lease=LEASE))
    log.add(stamp("s1", register("s1"), lamport=1, when=at(0)))
    log.add(stamp("s2", register("s2"), lamport=2, when=at(10)))
    # A STATUS file read from git (a session without a node) registers no member.
    log.add(stamp("s3", register("s3"), lamport=3, when=at(10), incarnation="git:abc"))
    assert members(log.board, at(12), LEASE) == {"s1", "s2"}
    assert members(log.board, at(16), LEASE) == {"s2"}  # s1 silent for a whole lease
    assert without_node(log.board, at(12), LEASE) == {"s3"}


def test_everyone_on_the_roster_is_asked_too_but_never_oneself() -> None:
    assert rules.must_ask({"s1", "s2"}, {"s3"}, "s1") == {"s2", "s3"}


def test_git_decides_a_steal_a_peer_not_caught_up_and_sessions_without_a_node() -> None:
    stamp = Stamper()
    plain = stamp("s1", claim("A", "s1"), lamport=1)
    steal = stamp("s1", m.TaskSteal(task_id="A", epoch=1, previous_owner="s2"), lamport=2)
    assert rules.git_before(plain, {"s2"}, {"s2"}) == ""
    assert "steal" in rules.git_before(steal, {"s2"}, {"s2"})
    assert "s3" in rules.git_before(plain, {"s2", "s3"}, {"s2"})
    assert "without a node" in rules.git_before(plain, {"s2"}, {"s2"}, {"s9"})


def acks(
    acked: set[str], *, lost: frozenset[str] = frozenset(), nacked: frozenset[str] = frozenset()
) -> Acks:
    carried = {p: 1 for p in acked | lost | nacked}
    return Acks(carried, frozenset(acked), frozenset(), frozenset(lost), frozenset(nacked))


def test_after_the_acks_a_nack_a_newcomer_a_lost_link_or_a_silence_means_git() -> None:
    asked = {"s2", "s3"}
    assert rules.git_after(acks({"s2", "s3"}), asked, asked) == ""
    assert "nack" in rules.git_after(acks({"s2"}, nacked=frozenset({"s3"})), asked, asked)
    assert "joined" in rules.git_after(acks({"s2", "s3"}), asked, asked | {"s4"})
    assert "ended" in rules.git_after(acks({"s2"}, lost=frozenset({"s3"})), asked, asked)
    assert "no ack from s3" in rules.git_after(acks({"s2"}), asked, asked)


def test_the_lowest_claim_holds_the_task_in_the_fold() -> None:
    stamp, log = Stamper(), EventLog(chain_board(), BoardConfig(lease=LEASE))
    log.add(stamp("s2", claim("A", "s2"), lamport=5))
    log.add(stamp("s1", claim("A", "s1"), lamport=4))  # arrives later, ordered first
    assert rules.holder(log.board, ("A", 0)) == ("s1", True)
    assert rules.holder(log.board, ("F", 0)) == (None, False)
    assert rules.confirmed_holder(log.board, ("A", 0)) is None


def test_a_competing_claim_for_a_recorded_task_epoch_gets_a_nack() -> None:
    stamp = Stamper()
    theirs = stamp("s2", claim("A", "s2"), lamport=1)
    ours = stamp("s1", claim("A", "s1"), lamport=1)
    assert rules.declines(theirs, {("A", 0)}, "s1")
    assert not rules.declines(theirs, {("A", 1)}, "s1")
    assert not rules.declines(ours, {("A", 0)}, "s1")  # our own copy, echoed back
    progress = stamp("s2", m.TaskProgress(task_id="A", epoch=0, percent=25), lamport=2)
    assert not rules.declines(progress, {("A", 0)}, "s2")
