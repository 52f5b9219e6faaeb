"""A node's board: effects delivered once, timers (renew, contest, escalate, steal), resume."""

from __future__ import annotations

from datetime import timedelta

import pytest

from ifmesh.node.board.canonical import canonical_bytes
from ifmesh.node.board.effects import Fenced, Lost, Rejected, Unblocked
from ifmesh.node.board.errors import ForkedLog
from ifmesh.node.board.replica import Replica
from ifmesh.node.board.state import BoardConfig
from ifmesh.node.protocol import messages as m
from tests.unit.board.helpers import Stamper, at, chain_board, claim

CONFIG = BoardConfig(lease=timedelta(minutes=15), contest_window=timedelta(milliseconds=50))


def pair() -> tuple[Replica, Replica]:
    return (
        Replica("s1", "inc-1", initial=chain_board(), config=CONFIG),
        Replica("s2", "inc-2", initial=chain_board(), config=CONFIG),
    )


def test_a_waiting_session_is_told_once_even_when_the_log_refolds() -> None:
    one, two = pair()
    claim = one.claim("A", at(0))
    wait = two.claim("F", at(0)) + two.block("F", at(0), on=["A"])
    for event in wait:
        one.receive(event)
    done = one.complete("A", at(1))
    for event in (*done, *claim):  # out of order: the completion before the claim
        two.receive(event)
    effects = list(two.effects())
    assert [e for e in effects if isinstance(e, Unblocked)] == [
        Unblocked(done[0].id, "s2", "F", ("A",))
    ]
    # A straggler that forces a re-fold from the start brings no second notice.
    two.receive(
        m.make_message(m.LeaseRenew(task_ids=[]), source="s0", timestamp=at(0), seq=1, lamport=0)
    )
    assert [e for e in two.effects() if isinstance(e, Unblocked)] == []
    assert two.board.blockers == {}
    one.receive(next(iter(two.log)))
    assert canonical_bytes(one.board) == canonical_bytes(two.board)


def test_contest_window_then_git_verdict() -> None:
    one, two = pair()
    mine = one.claim("A", at(0))
    theirs = two.claim("A", at(0))
    for event in theirs:
        one.receive(event)
    for event in mine:
        two.receive(event)
    assert one.get_timer() == at(0) + CONFIG.contest_window
    assert one.take_confirmations(at(0)) == []
    assert one.take_confirmations(at(0) + CONFIG.contest_window) == [("A", 0)]
    assert one.take_confirmations(at(1)) == []  # handed out once
    # The mesh loser never writes a confirm record.
    assert two.take_confirmations(at(1)) == []
    assert any(isinstance(e, Lost) and e.tier == "mesh" for e in two.effects())
    verdict = one.git_verdict("A", 0, "s1", at(0.1))
    two.receive(verdict[0])
    assert two.board.tasks["A"].confirmed and one.board.tasks["A"].confirmed


def test_lease_renewal_is_due_a_third_of_the_lease_after_the_last_event() -> None:
    one, _ = pair()
    one.claim("A", at(0))
    one.take_confirmations(at(1))
    assert one.get_timer() == at(5)
    assert one.handle_timer(at(4)) == ()
    renewal = one.handle_timer(at(5))
    assert [e.type for e in renewal] == ["lease.renew"]
    assert one.board.tasks["A"].owner_last_event_at == at(5)
    assert one.get_timer() == at(10)


def test_an_unanswered_help_request_is_escalated_at_its_deadline() -> None:
    one, _ = pair()
    one.block("F", at(0), description="no gatekeeper", required_capabilities=["protocol:h323"])
    assert one.get_timer() == at(10)
    assert [e.type for e in one.handle_timer(at(10))] == ["help.escalate"]
    assert one.handle_timer(at(11)) == ()


def test_an_idle_node_steals_from_an_absent_owner_after_the_lease_under_auto() -> None:
    one, two = pair()
    one.takeover = "auto"
    for event in two.claim("A", at(0)):
        one.receive(event)
    assert one.get_timer() is None  # no presence view yet: never steal blind
    one.set_presence({"s2"})
    assert one.handle_timer(at(30)) == ()  # the owner is alive on the mesh
    one.set_presence(set())
    assert one.get_timer() == at(15)
    steal = one.handle_timer(at(15))
    assert [e.type for e in steal] == ["task.steal"]
    two.receive(steal[0])
    assert any(isinstance(e, Fenced) for e in two.effects())
    with pytest.raises(Exception, match="held by s1"):
        two.progress("A", 50, at(16))


def test_resume_continues_seq_and_lamport_and_a_second_writer_is_refused() -> None:
    one, two = pair()
    history = one.claim("A", at(0)) + one.progress("A", 25, at(1))
    for event in history:
        two.receive(event)
    restarted = Replica("s1", "inc-9", initial=chain_board(), config=CONFIG)
    for event in two.log:
        restarted.receive(event)
    restarted.resume()
    nxt = restarted.progress("A", 50, at(2))
    assert (nxt[0].seq, nxt[0].lamport) == (3, 3)
    with pytest.raises(ForkedLog, match="runs twice"):
        restarted.receive(
            m.make_message(
                m.LeaseRenew(task_ids=["A"]),
                source="s1",
                timestamp=at(3),
                seq=4,
                lamport=4,
                incarnation="inc-1",
            )
        )
    restarted.resume(seq=10, lamport=20)  # e.g. its log in git was longer than what it replayed
    assert (restarted.author.seq, restarted.author.lamport) == (10, 20)


def test_the_memory_of_effects_told_is_bounded_and_still_spares_a_refold() -> None:
    """A start-up's fold of a long day produced 137,000 effects, each remembered so that a
    re-fold would not tell it twice: only the newest TOLD_KEPT are (board.told), enough for the
    re-folds a late event causes."""
    _, two = pair()
    two._told.kept = 8
    ev = Stamper()
    for n in range(40):  # claims of tasks the board lacks: one Rejected effect each
        two.receive(ev("s1", claim(f"Z.{n}", "s1"), lamport=n + 1, when=at(n)))
    assert len([e for e in two.effects() if isinstance(e, Rejected)]) == 40
    assert len(two._told) == 8
    # A straggler re-folds from the start: the newest effects are not told again.
    two.receive(
        m.make_message(m.LeaseRenew(task_ids=[]), source="s0", timestamp=at(0), seq=1, lamport=0)
    )
    again = [e for e in two.effects() if isinstance(e, Rejected)]
    assert len(again) <= 40 - 8 and all(e.task_id != "Z.39" for e in again)
