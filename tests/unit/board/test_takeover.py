"""Takeovers of stale tasks under each policy setting: `never`, `offer` (the default), `auto`.

A task whose holder's lease ran out while the holder is absent from this node's mesh may be
stolen (epoch + 1). Under `offer` only the session's own claim does it; under `auto` an idle
node does it by itself and its session is told once git confirms; under `never` nobody does.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from ifmesh.node.board.effects import Fenced
from ifmesh.node.board.errors import AlreadyClaimed
from ifmesh.node.board.replica import Assigned, Replica, TakenOver, Takeover
from ifmesh.node.board.state import BoardConfig
from ifmesh.node.protocol import messages as m
from tests.unit.board.helpers import at, chain_board

CONFIG = BoardConfig(lease=timedelta(minutes=15), contest_window=timedelta(milliseconds=50))


def room(takeover: Takeover) -> tuple[Replica, Replica]:
    """s1 under ``takeover``, watching s2 claim A at minute 0 and then fall silent."""
    one = Replica("s1", "inc-1", initial=chain_board(), config=CONFIG, takeover=takeover)
    two = Replica("s2", "inc-2", initial=chain_board(), config=CONFIG)
    for event in two.claim("A", at(0)):
        one.receive(event)
    one.set_presence(set())  # s2 is gone from s1's mesh
    return one, two


def test_offer_is_the_default_and_no_node_steals_by_itself() -> None:
    one = Replica("s1", "inc-1", initial=chain_board(), config=CONFIG)
    assert one.takeover == "offer"
    one, _ = room("offer")
    assert one.get_timer() is None  # no deadline for a steal it will not make
    assert one.handle_timer(at(60)) == ()
    assert one.board.tasks["A"].owner == "s2"


def test_offer_lists_only_expired_tasks_of_absent_owners() -> None:
    one, _ = room("offer")
    assert one.takeover_offers(at(14)) == ()  # the lease (15 min) has not run out
    assert [t.task_id for t in one.takeover_offers(at(15))] == ["A"]
    one.set_presence({"s2"})
    assert one.takeover_offers(at(30)) == ()  # the holder is alive on this node's mesh
    blind = Replica("s1", "inc-1", initial=chain_board(), config=CONFIG)
    for event in one.log:
        blind.receive(event)
    assert blind.takeover_offers(at(30)) == ()  # no presence view: never offered blind


def test_under_offer_an_explicit_claim_on_a_stale_task_steals_it() -> None:
    one, two = room("offer")
    with pytest.raises(AlreadyClaimed, match="s2"):
        one.claim("A", at(14))  # within the lease: refused as ever
    steal = one.claim("A", at(15))
    assert [e.type for e in steal] == ["task.steal"]
    payload = steal[0].payload
    assert isinstance(payload, m.TaskSteal)
    assert (payload.epoch, payload.previous_owner) == (1, "s2")
    task = one.board.tasks["A"]
    assert (task.owner, task.epoch, task.confirmed) == ("s1", 1, False)
    assert one.taken_over() == (TakenOver("A", 1, "s2", confirmed=False),)
    two.receive(steal[0])
    assert any(isinstance(e, Fenced) and e.session == "s2" for e in two.effects())


def test_under_offer_a_claim_on_a_stale_task_of_a_present_owner_is_refused() -> None:
    one, _ = room("offer")
    one.set_presence({"s2"})
    with pytest.raises(AlreadyClaimed):
        one.claim("A", at(30))


def test_never_offers_nothing_steals_nothing_and_refuses_the_claim() -> None:
    one, _ = room("never")
    assert one.takeover_offers(at(60)) == ()
    assert one.get_timer() is None
    assert one.handle_timer(at(60)) == ()
    with pytest.raises(AlreadyClaimed, match="A is CLAIMED by s2"):
        one.claim("A", at(60))
    assert one.board.tasks["A"].epoch == 0


def test_auto_steals_when_idle_and_tells_the_agent_once_git_confirms() -> None:
    one, _ = room("auto")
    assert one.get_timer() == at(15)
    steal = one.handle_timer(at(15))
    assert [e.type for e in steal] == ["task.steal"]
    assert not [e for e in one.effects() if isinstance(e, Assigned)]  # not decided yet
    assert one.taken_over() == (TakenOver("A", 1, "s2", confirmed=False),)
    assert one.take_confirmations(at(15) + CONFIG.contest_window) == [("A", 1)]
    verdict = one.git_verdict("A", 1, "s1", at(15.1))
    told = [e for e in one.effects() if isinstance(e, Assigned)]
    assert told == [Assigned(verdict[0].id, "s1", "A", 1, "s2")]
    assert one.taken_over() == (TakenOver("A", 1, "s2", confirmed=True),)
    # A late event that re-folds the log tells nobody twice.
    one.receive(
        m.make_message(m.LeaseRenew(task_ids=[]), source="s0", timestamp=at(0), seq=1, lamport=0)
    )
    assert not [e for e in one.effects() if isinstance(e, Assigned)]


def test_auto_steals_one_task_at_a_time_and_only_when_idle() -> None:
    one, two = room("auto")
    for event in two.claim("F", at(0)):
        one.receive(event)
    assert [e.payload.task_id for e in one.handle_timer(at(15))] == ["A"]  # type: ignore[attr-defined]
    assert one.handle_timer(at(16)) == ()  # it holds A now: no second steal


def test_a_steal_lost_in_git_is_never_announced() -> None:
    one, _ = room("auto")
    one.handle_timer(at(15))
    one.git_verdict("A", 1, "s3", at(15.1))  # another node's record for (A, 1) came first
    assert not [e for e in one.effects() if isinstance(e, Assigned)]
    assert one.taken_over() == ()
    assert one.board.tasks["A"].owner == "s3"


def test_a_restarted_node_still_knows_what_it_took_over() -> None:
    one, _ = room("auto")
    one.handle_timer(at(15))
    one.git_verdict("A", 1, "s1", at(15.1))
    restarted = Replica("s1", "inc-9", initial=chain_board(), config=CONFIG, takeover="auto")
    for event in one.log:
        restarted.receive(event)
    assert restarted.taken_over() == (TakenOver("A", 1, "s2", confirmed=True),)
