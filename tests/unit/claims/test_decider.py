"""The decider's edges without a mesh: a claim alone in the room is won at once; claims an
earlier run of this session left undecided go on to git only if their record was written,
and are withdrawn otherwise (docs/claims.md, "A node killed mid-decision")."""

from __future__ import annotations

from ifmesh.node.protocol.messages import TaskRelease
from tests.unit.board.helpers import at
from tests.unit.control.support import StandInNode


class Node(StandInNode):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[tuple[str, int]] = []

    def write_confirm_record(self, task_id: str, epoch: int) -> None:
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
