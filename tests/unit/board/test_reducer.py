"""The fold's rules: claims in two tiers, fencing epochs, leases, cascades, help, governor."""

from __future__ import annotations

from typing import Any

from ifmesh.node.board.effects import (
    Available,
    Confirmed,
    Escalated,
    Fenced,
    HelpOffered,
    HelpWanted,
    Lost,
    Rejected,
    Unblocked,
)
from ifmesh.node.board.governance import ADMITTED, Admission
from ifmesh.node.board.log import EventLog
from ifmesh.node.board.state import BoardConfig, TaskStatus, lease_expired
from ifmesh.node.protocol import messages as m
from tests.unit.board.helpers import Stamper, at, chain_board, claim, complete, progress


def fold(*events: m.Envelope, **kwargs: Any) -> tuple[EventLog, list[Any]]:
    log = EventLog(chain_board(), **kwargs)
    effects = log.extend(events)
    return log, effects


def rejected(effects: list[Any]) -> list[tuple[str, str]]:
    return [(e.session, e.code) for e in effects if isinstance(e, Rejected)]


def test_lowest_lamport_then_source_wins_and_the_loser_hears() -> None:
    ev = Stamper()
    late_low = ev("s-b", claim("A", "s-b"), lamport=3)
    early_high = ev("s-a", claim("A", "s-a"), lamport=3)  # same lamport: "s-a" < "s-b"
    for order in ([late_low, early_high], [early_high, late_low]):
        log = EventLog(chain_board())
        effects = [e for event in order for e in log.add(event).effects]
        task = log.board.tasks["A"]
        assert (task.owner, task.status, task.confirmed) == ("s-a", TaskStatus.CLAIMED, False)
        assert Lost(late_low.id, "s-b", "A", 0, "s-a", "mesh") in effects


def test_claim_refusals_unknown_dependencies_and_stale_epoch() -> None:
    ev = Stamper()
    log, effects = fold(
        ev("s1", claim("Z", "s1"), lamport=1),
        ev("s1", claim("B", "s1"), lamport=2),
        ev("s2", claim("C", "s2", metadata={"force": True}), lamport=3),
        ev("s3", claim("A", "s3", epoch=4), lamport=4),
    )
    assert rejected(effects) == [
        ("s1", "unknown_task"),
        ("s1", "dependencies_not_completed"),
        ("s3", "stale_epoch"),
    ]
    assert log.board.tasks["C"].owner == "s2"  # forced past its dependencies
    assert log.board.tasks["B"].owner is None


def test_release_moves_the_epoch_and_fences_the_old_owner() -> None:
    ev = Stamper()
    log, effects = fold(
        ev("s1", claim("A", "s1"), lamport=1),
        ev("s1", m.TaskRelease(task_id="A", epoch=0), lamport=2),
        ev("s2", claim("A", "s2", epoch=1), lamport=3),
        ev("s1", progress("A", epoch=0), lamport=4),
        ev("s1", complete("A", epoch=0), lamport=5),
    )
    task = log.board.tasks["A"]
    assert (task.owner, task.epoch, task.percent, task.status) == ("s2", 1, 0, TaskStatus.CLAIMED)
    assert rejected(effects) == [("s1", "stale_epoch"), ("s1", "stale_epoch")]


def test_steal_is_judged_at_its_own_timestamp_not_at_arrival() -> None:
    ev = Stamper()
    config = BoardConfig()  # 15-minute lease
    own = ev("s1", claim("A", "s1"), lamport=1, when=at(0))
    too_early = ev(
        "s2", m.TaskSteal(task_id="A", epoch=1, previous_owner="s1"), lamport=2, when=at(10)
    )
    log, effects = fold(own, too_early, config=config)
    assert rejected(effects) == [("s2", "lease_not_expired")]
    assert log.board.tasks["A"].owner == "s1"
    in_time = ev(
        "s3", m.TaskSteal(task_id="A", epoch=1, previous_owner="s1"), lamport=3, when=at(16)
    )
    fenced = ev("s1", progress("A", epoch=0), lamport=4, when=at(17))
    effects = log.extend([in_time, fenced])
    task = log.board.tasks["A"]
    assert (task.owner, task.epoch, task.confirmed) == ("s3", 1, False)
    assert Fenced(in_time.id, "s1", "A", 1, "s3") in effects
    assert rejected(effects) == [("s1", "stale_epoch")]


def test_lease_renewal_keeps_a_claim_from_expiring() -> None:
    ev = Stamper()
    log, _ = fold(
        ev("s1", claim("A", "s1"), lamport=1, when=at(0)),
        ev("s1", m.LeaseRenew(task_ids=["A"]), lamport=2, when=at(10)),
        ev("s2", m.TaskSteal(task_id="A", epoch=1, previous_owner="s1"), lamport=3, when=at(16)),
    )
    task = log.board.tasks["A"]
    assert task.owner == "s1" and task.owner_last_event_at == at(10)
    assert not lease_expired(task, at(24))
    assert lease_expired(task, at(25))


def test_two_steals_at_one_epoch_the_lower_one_wins() -> None:
    ev = Stamper()
    log, effects = fold(
        ev("s1", claim("A", "s1"), lamport=1, when=at(0)),
        ev("s3", m.TaskSteal(task_id="A", epoch=1, previous_owner="s1"), lamport=5, when=at(20)),
        ev("s2", m.TaskSteal(task_id="A", epoch=1, previous_owner="s1"), lamport=5, when=at(20)),
    )
    assert log.board.tasks["A"].owner == "s2"
    assert any(isinstance(e, Lost) and e.session == "s3" for e in effects)


def test_git_verdict_overrules_the_mesh_winner() -> None:
    ev = Stamper()
    mesh_winner = ev("s1", claim("A", "s1"), lamport=1)
    mesh_loser = ev("s2", claim("A", "s2"), lamport=2)
    verdict = ev("s2", m.TaskConfirmed(task_id="A", epoch=0, winner="s2"), lamport=9)
    late_progress = ev("s1", progress("A"), lamport=10)
    log, effects = fold(mesh_winner, mesh_loser, verdict, late_progress)
    task = log.board.tasks["A"]
    assert (task.owner, task.confirmed, task.epoch) == ("s2", True, 0)
    assert Lost(verdict.id, "s1", "A", 0, "s2", "git") in effects
    assert Confirmed(verdict.id, "s2", "A", 0) in effects
    assert rejected(effects)[-1] == ("s1", "not_owner")


def test_a_steal_git_confirms_over_renewals_from_beyond_a_partition_fences_the_holder() -> None:
    """The holder, cut off, renewed with low lamports: the fold refuses the steal, but git's
    first record for the next epoch names the taker. The holder is fenced, not told it lost
    a claim it never made, and the taker is told the task is assigned to it."""
    ev = Stamper()
    holder_claim = ev("s1", claim("A", "s1"), lamport=1, when=at(0))
    renewal = ev("s1", progress("A"), lamport=2, when=at(40))  # sent from beyond the cut
    steal = ev("s2", m.TaskSteal(task_id="A", epoch=1, previous_owner="s1"), lamport=3,
               when=at(20))  # fmt: skip
    verdict = ev("s2", m.TaskConfirmed(task_id="A", epoch=1, winner="s2"), lamport=4)
    log, effects = fold(holder_claim, renewal, steal, verdict)
    task = log.board.tasks["A"]
    assert (task.owner, task.epoch, task.confirmed) == ("s2", 1, True)
    assert Fenced(verdict.id, "s1", "A", 1, "s2") in effects
    assert not [e for e in effects if isinstance(e, Lost) and e.session == "s1"]
    fenced = effects.index(Fenced(verdict.id, "s1", "A", 1, "s2"))
    assert fenced < effects.index(Confirmed(verdict.id, "s2", "A", 1))


def test_git_verdict_for_the_mesh_winner_confirms_and_claim_lost_names_the_loser() -> None:
    ev = Stamper()
    log, effects = fold(
        ev("s1", claim("A", "s1"), lamport=1),
        ev("s2", claim("A", "s2"), lamport=2),
        ev("s2", m.ClaimLost(task_id="A", epoch=0, winner="s1"), lamport=3),
        ev("s1", m.TaskConfirmed(task_id="A", epoch=0, winner="s1"), lamport=4),
    )
    assert log.board.tasks["A"].confirmed
    assert next(e for e in effects if isinstance(e, Lost) and e.tier == "git").session == "s2"


def test_a_verdict_arriving_before_its_claim_still_ends_with_one_holder() -> None:
    ev = Stamper()
    verdict = ev("s9", m.TaskConfirmed(task_id="A", epoch=0, winner="s2"), lamport=1)
    the_claim = ev("s2", claim("A", "s2"), lamport=2)
    log, effects = fold(verdict, the_claim)
    task = log.board.tasks["A"]
    assert (task.owner, task.confirmed) == ("s2", True)
    assert rejected(effects) == []


def test_completion_wakes_waiters_and_frees_dependents() -> None:
    ev = Stamper()
    a_done = ev("s1", complete("A"), lamport=3)
    log, effects = fold(
        ev("s1", claim("A", "s1"), lamport=1),
        ev("s2", claim("F", "s2"), lamport=1),
        ev(
            "s2",
            m.Blocker(swarm_id="s2", task_id="F", blocked_on=["A"], detected_at=at(0)),
            lamport=2,
        ),
        a_done,
    )
    assert log.board.tasks["F"].status is TaskStatus.CLAIMED
    assert Unblocked(a_done.id, "s2", "F", ("A",)) in effects
    assert Available(a_done.id, None, "B") in effects
    assert log.board.tasks["B"].status is TaskStatus.AVAILABLE
    assert log.board.tasks["C"].status is TaskStatus.BLOCKED
    assert log.board.blockers == {}


def test_a_blocked_holder_shows_blocked_until_its_blocker_resolves() -> None:
    ev = Stamper()
    log, _ = fold(
        ev("s2", claim("F", "s2"), lamport=1),
        ev(
            "s2",
            m.Blocker(
                swarm_id="s2",
                task_id="F",
                description="needs an H.323 gatekeeper",
                required_capabilities=["protocol:h323"],
                detected_at=at(0),
            ),
            lamport=2,
        ),
    )
    assert log.board.tasks["F"].status is TaskStatus.BLOCKED
    assert log.board.tasks["F"].owner == "s2"
    log.add(ev("s2", m.BlockerResolved(swarm_id="s2", task_id="F"), lamport=9))
    assert log.board.tasks["F"].status is TaskStatus.CLAIMED


def test_help_request_routes_offers_and_escalates() -> None:
    ev = Stamper()
    register = [
        ev(
            s,
            m.SwarmRegister(swarm_id=s, capabilities=caps, cost_per_hour=1, budget=10),
            lamport=1,
        )
        for s, caps in (
            ("s1", ["protocol:h323"]),
            ("s2", ["docs:technical-writing", "protocol:h323"]),
            ("s3", ["lang:rust"]),
        )
    ]
    request = ev(
        "s3",
        m.HelpRequest(
            blocked_swarm_id="s3",
            task_id="A",
            required_capabilities=["protocol:h323", "docs:technical-writing"],
            deadline=at(10),
        ),
        lamport=2,
    )
    offer = ev(
        "s1", m.HelpOffer(request_id=request.id, task_id="A", helper_swarm_id="s1"), lamport=3
    )
    escalate = ev(
        "s3",
        m.HelpEscalate(request_id=request.id, task_id="A", blocked_swarm_id="s3"),
        lamport=4,
    )
    log, effects = fold(*register, request, offer, escalate)
    record = log.board.help_requests[request.id]
    assert record.helpers == ("s2", "s1")  # best coverage first
    assert [e.session for e in effects if isinstance(e, HelpWanted)] == ["s2", "s1"]
    assert HelpOffered(offer.id, "s3", request.id, "A", "s1") in effects
    assert record.escalated and Escalated(escalate.id, None, request.id, "A", "s3") in effects
    assert log.board.sessions["s2"].capabilities == ("docs:technical-writing", "protocol:h323")


class CountingGovernor:
    """Refuses claims on task C, counts what it folds, and records the board it was shown."""

    def initial(self) -> Any:
        return 0

    def admit(self, part: Any, board: Any, event: m.Envelope) -> Admission:
        if getattr(event.payload, "task_id", None) == "C":
            return Admission(False, reason="C is over budget", code="budget_exhausted")
        return ADMITTED

    def fold(self, part: Any, board: Any, event: m.Envelope) -> Any:
        if event.type == "task.claim":
            # The board before the event: the task is not held yet.
            assert not board.tasks[event.payload.task_id].held
        return part + 1

    def route_help(self, part: Any, board: Any, request: m.Envelope) -> tuple[str, ...]:
        return ()


def test_the_governor_decides_and_folds_only_accepted_events() -> None:
    ev = Stamper()
    log, effects = fold(
        ev("s1", claim("C", "s1", metadata={"force": True}), lamport=1),
        ev("s1", claim("A", "s1"), lamport=2),
        ev("s2", claim("A", "s2"), lamport=3),  # loses the contest: not folded by the governor
        ev("s1", progress("A"), lamport=4),
        governance=CountingGovernor(),
    )
    assert rejected(effects)[0] == ("s1", "budget_exhausted")
    assert log.board.tasks["C"].owner is None
    assert log.board.governor == 2  # the accepted claim on A and its progress
