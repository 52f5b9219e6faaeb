"""What the fold does with events read from a session's STATUS file (a session without a
node): a completion it never claimed still counts, a manual dependency blocks, and every
refusal is kept where `ifmesh status` finds it."""

from __future__ import annotations

from ifmesh.node.board.replica import Replica
from ifmesh.node.board.state import Task, TaskStatus
from ifmesh.node.protocol import messages as m
from tests.unit.board.helpers import Stamper, at, board, chain_board

GIT = "git:claude/ndi-work"


def test_a_completion_reported_without_a_claim_marks_the_task_completed() -> None:
    stamp, replica = Stamper(), Replica("session-2-webrtc", "i1", initial=chain_board())
    done = m.TaskComplete(task_id="A", epoch=0, tests_pass=True, deliverable="a.py")
    replica.receive(stamp("session-1-ndi", done, lamport=1, when=at(1), incarnation=GIT))
    task = replica.board.tasks["A"]
    assert task.status is TaskStatus.COMPLETED and task.owner == "session-1-ndi"
    assert task.completed_without_claim and task.deliverable == "a.py"
    assert replica.board.tasks["B"].status is TaskStatus.AVAILABLE  # its dependant unblocks
    assert not replica.refusals


def test_a_live_completion_without_a_claim_is_still_refused_and_kept() -> None:
    stamp, replica = Stamper(), Replica("session-2-webrtc", "i1", initial=chain_board())
    done = m.TaskComplete(task_id="A", epoch=0, tests_pass=True)
    replica.receive(stamp("session-9-x", done, lamport=1, when=at(1)))
    assert replica.board.tasks["A"].status is TaskStatus.AVAILABLE
    [refusal] = replica.refusals
    assert (refusal.session, refusal.code, refusal.task_id) == ("session-9-x", "not_owner", "A")
    assert replica.refusal_counts == {"not_owner": 1}


def test_a_status_file_cannot_complete_a_task_another_session_holds() -> None:
    stamp, replica = Stamper(), Replica("session-2-webrtc", "i1", initial=chain_board())
    claim = m.TaskClaim(task_id="A", epoch=0, swarm_id="session-3-h323", timestamp=at(0))
    replica.receive(stamp("session-3-h323", claim, lamport=1))
    done = m.TaskComplete(task_id="A", epoch=0, tests_pass=True)
    replica.receive(stamp("session-1-ndi", done, lamport=2, when=at(1), incarnation=GIT))
    assert replica.board.tasks["A"].owner == "session-3-h323"
    assert [r.code for r in replica.refusals] == ["not_owner"]


def test_a_manual_dependency_is_refused_unless_forced_on_every_node() -> None:
    initial = board(Task("L", status=TaskStatus.BLOCKED, manual_dependency="legal sign-off"))
    stamp = Stamper()
    plain = m.TaskClaim(task_id="L", epoch=0, swarm_id="s1", timestamp=at(0))
    forced = m.TaskClaim(task_id="L", epoch=0, swarm_id="s2", timestamp=at(1),
                         metadata={"force": True})  # fmt: skip
    events = [stamp("s1", plain, lamport=1), stamp("s2", forced, lamport=2, when=at(1))]
    for order in (events, events[::-1]):
        replica = Replica("s9", "i1", initial=initial)
        for event in order:
            replica.receive(event)
        assert replica.board.tasks["L"].owner == "s2"
        assert [r.code for r in replica.refusals] == ["dependencies_not_completed"]
        assert "legal sign-off" in replica.refusals[0].reason
