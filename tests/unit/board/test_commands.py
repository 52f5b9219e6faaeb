"""Commands: typed refusals that name the reason, and the events accepted commands emit."""

from __future__ import annotations

from datetime import timedelta

import pytest

from ifmesh.node import errors
from ifmesh.node.board import commands
from ifmesh.node.board.commands import Author
from ifmesh.node.board.errors import (
    AlreadyClaimed,
    DependenciesNotCompleted,
    LeaseNotExpired,
    NotOwner,
    UnknownTask,
)
from ifmesh.node.board.governance import Admission
from ifmesh.node.board.log import EventLog
from ifmesh.node.protocol import messages as m
from tests.unit.board.helpers import at, chain_board

ME = Author("s1", "inc-1")
OTHER = Author("s2", "inc-2")


def test_claim_refusals_name_the_reason() -> None:
    board = chain_board()
    with pytest.raises(UnknownTask, match="no task Z"):
        commands.claim(board, ME, "Z", at(0))
    with pytest.raises(DependenciesNotCompleted, match="depends on A") as info:
        commands.claim(board, ME, "B", at(0))
    assert info.value.missing == ("A",) and info.value.code == "dependencies_not_completed"
    forced = commands.claim(board, ME, "B", at(0), force=True)
    assert forced.payload.metadata == {"force": True}

    log = EventLog(board)
    log.add(commands.claim(board, OTHER, "A", at(0)))
    with pytest.raises(AlreadyClaimed, match="A is CLAIMED by s2") as taken:
        commands.claim(log.board, ME, "A", at(1))
    assert isinstance(taken.value, errors.ClaimConflict) and taken.value.owner == "s2"


@pytest.mark.parametrize(
    ("admission", "error"),
    [
        (Admission(False, "no capability match", "policy_denied"), errors.PolicyDenied),
        (Admission(False, "budget spent", "budget_exhausted"), errors.BudgetExhausted),
        (Admission(False, "breaker open", "circuit_open", 42.0), errors.CircuitOpen),
    ],
)
def test_claim_refused_by_policy_carries_the_governors_reason(
    admission: Admission, error: type[errors.PolicyDenied]
) -> None:
    with pytest.raises(error, match=admission.reason) as info:
        commands.claim(chain_board(), ME, "A", at(0), admit=lambda board, event: admission)
    if isinstance(info.value, errors.CircuitOpen):
        assert info.value.retry_after == 42.0


def test_holder_commands_check_owner_and_epoch() -> None:
    log = EventLog(chain_board())
    event = commands.claim(log.board, ME, "A", at(0))
    log.add(event)
    me = ME.after(event)
    progress = commands.progress(log.board, me, "A", 50, at(1), milestone="half")
    assert (progress.payload.epoch, progress.payload.percent, progress.seq) == (0, 50, 2)
    with pytest.raises(NotOwner, match="held by s1, not s2"):
        commands.progress(log.board, OTHER, "A", 50, at(1))
    with pytest.raises(errors.StaleEpoch, match="epoch 0, not 3"):
        commands.complete(log.board, me, "A", at(1), epoch=3)
    with pytest.raises(errors.InvalidMilestone):
        commands.progress(log.board, me, "A", 60, at(1))
    release = commands.release(log.board, me, "A", at(2))
    log.add(release)
    with pytest.raises(NotOwner, match="held by nobody"):
        commands.fail(log.board, me.after(release), "A", "gave up", at(3))


def test_steal_only_after_the_lease() -> None:
    log = EventLog(chain_board())
    log.add(commands.claim(log.board, OTHER, "A", at(0)))
    with pytest.raises(LeaseNotExpired):
        commands.steal(log.board, ME, "A", at(14), lease=timedelta(minutes=15))
    steal = commands.steal(log.board, ME, "A", at(15), lease=timedelta(minutes=15))
    assert isinstance(steal.payload, m.TaskSteal)
    assert (steal.payload.epoch, steal.payload.previous_owner) == (1, "s2")
    with pytest.raises(NotOwner, match="claim it instead"):
        commands.steal(log.board, ME, "F", at(20))


def test_block_with_capabilities_also_asks_for_help() -> None:
    events = commands.block(
        chain_board(),
        ME,
        "F",
        at(0),
        on=["A"],
        description="needs H.323 docs",
        required_capabilities=["protocol:h323"],
        help_deadline=timedelta(minutes=5),
    )
    assert [e.type for e in events] == ["blocker", "help.request"]
    assert [e.seq for e in events] == [1, 2]
    assert events[1].payload.deadline == at(5)
    with pytest.raises(errors.CoordinationError, match="what blocks you"):
        commands.block(chain_board(), ME, "F", at(0))


def test_help_offer_and_escalation_rules() -> None:
    log = EventLog(chain_board())
    request = commands.request_help(log.board, ME, "A", ["protocol:h323"], at(0))
    log.add(request)
    with pytest.raises(errors.CoordinationError, match="to itself"):
        commands.offer_help(log.board, ME, request.id, at(1))
    offer = commands.offer_help(log.board, OTHER, request.id, at(1), message="I know H.245")
    assert offer.payload.task_id == "A"
    with pytest.raises(NotOwner):
        commands.escalate(log.board, OTHER, request.id, at(11))
    assert commands.escalate(log.board, ME, request.id, at(11)).type == "help.escalate"
    with pytest.raises(errors.CoordinationError, match="no help request"):
        commands.offer_help(log.board, OTHER, "nope", at(1))
