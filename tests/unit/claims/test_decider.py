"""The decider's edges without a mesh: a claim alone in the room is won at once; claims an
earlier run of this session left undecided go on to git only if their record was written,
and are withdrawn otherwise (docs/claims.md, "A node killed mid-decision")."""

from __future__ import annotations

import pytest

from ifmesh.node.board.replica import Replica
from ifmesh.node.board.state import BoardConfig
from ifmesh.node.control.handlers import Handlers
from ifmesh.node.errors import ClaimUndecided
from ifmesh.node.protocol.messages import TaskRelease
from tests.unit.board.helpers import at, chain_board
from tests.unit.control.support import LEASE, StandInNode


class Node(StandInNode):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[tuple[str, int]] = []

    def write_confirm_record(self, task_id: str, epoch: int, *, answered: bool = False) -> None:
        self.records.append((task_id, epoch))


async def test_a_claim_alone_in_the_room_is_won_on_the_mesh_with_its_record() -> None:
    node = Node()
    events = node.replica.claim("A", at(0))
    verdict = await node.claims.settle(node.claims.begin(events), timeout=5)
    assert (verdict.won, verdict.decided_by, verdict.winner) == (True, "mesh", "s1")
    assert node.records == [("A", 0)] and ("A", 0) in node.claims.won_on_mesh


async def test_an_inherited_claim_goes_to_git_only_if_its_record_was_written() -> None:
    node = Node()
    node.replica.claim("A", at(0))  # made by "the earlier run": never decided
    node.replica.claim("F", at(0))

    async def holds_record(task: str, epoch: int) -> bool:
        return task == "A"  # A's record is in a local commit; F's never was written

    await node.claims.settle_inherited(holds_record)
    assert node.records == [("A", 0)]  # on to git's verdict
    released = [e.payload.task_id for e in node.sent if isinstance(e.payload, TaskRelease)]
    assert released == ["F"]  # withdrawn: it cannot win behind its agent's back
    # The contest-window path never writes a record for either: the decider took them on.
    node.claims.confirm("A", 0)
    node.claims.confirm("F", 0)
    assert node.records == [("A", 0)]


async def test_a_journaled_record_git_lacks_is_written_again_once_its_task_is_done() -> None:
    """Killed between a claim's answer and its record's commit, after the agent completed the
    task: the restarted node writes the record again, so git names the winner it was told."""
    node = Node()
    node.replica.claim("A", at(0))  # won on the mesh by "the earlier run", then completed
    node.replica.complete("A", at(1))
    node.replica.claim("F", at(2))  # held still: settle_inherited writes its record
    in_git = {("B", 0)}  # B's record landed; A's and F's never were committed

    async def holds_record(task: str, epoch: int) -> bool:
        return True  # both journaled

    async def git_holds(task: str, epoch: int) -> bool:
        return (task, epoch) in in_git

    await node.claims.settle_inherited(holds_record)
    assert node.records == [("F", 0)]
    await node.claims.rewrite_journaled([("A", 0), ("B", 0), ("F", 0)], git_holds)
    assert node.records == [("F", 0), ("A", 0)]


async def test_a_claim_git_never_decides_is_withdrawn_and_answered_undecided() -> None:
    node = Node()  # git never answers here
    other = Replica("s2", "inc-2", initial=chain_board(), config=BoardConfig(lease=LEASE))
    for event in other.claim("A", at(0)):  # s2 claimed A and fell silent
        node.replica.receive(event)
    node.replica.set_presence(())
    node.clock = at(20)  # past s2's lease: the claim takes A over, and git must decide it
    with pytest.raises(ClaimUndecided, match="withdrawn"):
        await Handlers(node).claim({"task": "A", "timeout": 0.05})  # type: ignore[arg-type]
    assert node.records == [("A", 1)]
    released = [e.payload.task_id for e in node.sent if isinstance(e.payload, TaskRelease)]
    assert released == ["A"]  # it cannot win later behind the agent's back
    assert not node.board.tasks["A"].held
