"""Deciding path reservations in the node (node/claims/reserving.py), through the control
command, with the real replica and decider and git reduced to the real reservation ledger
(:mod:`tests.unit.claims.ledger_git`); no mesh. What the agent is told always matches git:
won on the mesh alone in the room; lost, by git, to a record git still holds though the mesh
saw it released; withdrawn when undecided; folded again when git confirms what the fold
refused; and an earlier run's reservations go on to git only with their record."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import Sequence
from pathlib import Path

import pytest

from ifmesh.node.board.errors import ReservationConflict
from ifmesh.node.board.formats.reserved import ReservedEntry
from ifmesh.node.board.replica import Replica
from ifmesh.node.board.state import BoardConfig
from ifmesh.node.claims import reservation_rules as rr
from ifmesh.node.control.handlers import Handlers
from ifmesh.node.errors import ReservationUndecided
from ifmesh.node.gitsync.reservation_ledger import ReservationVerdict
from ifmesh.node.protocol import messages as m
from tests.conftest import require_tool
from tests.unit.board.helpers import at, chain_board
from tests.unit.claims.ledger_git import LedgerGit
from tests.unit.control.support import LEASE, StandInNode


class Node(StandInNode):
    """s1's node; s2 is another replica whose events the test delivers. Records written here
    land in git at once (``lands``), or when the test says (``node.git.land()``)."""

    def __init__(self, *, lands: bool = True) -> None:
        super().__init__()
        self.other = Replica("s2", "inc-2", initial=chain_board(), config=BoardConfig(LEASE))
        self.git = LedgerGit(lands=lands)  # type: ignore[assignment]
        self.git.on_read = self.git_read
        self.tasks: list[asyncio.Task[object]] = []
        self.claims.reservations.clock = lambda: self.clock

    def git_read(self, verdicts: list[ReservationVerdict]) -> None:
        """As the node hands over what its bridge read: to the decider, then a change."""
        self.claims.reservations.git_verdicts(verdicts, self.clock)
        self.changed.notify()

    def background(self, work: object) -> None:
        self.tasks.append(asyncio.get_running_loop().create_task(work))  # type: ignore[arg-type]

    def from_other(self, events: Sequence[m.Envelope]) -> None:
        for event in events:
            self.replica.receive(event)
        self.changed.notify()

    def sent_types(self) -> list[str]:
        return [e.type for e in self.sent]


def reserve_body(*patterns: str, timeout: float = 5) -> dict[str, object]:
    return {"task": "A", "patterns": list(patterns), "timeout": timeout}


async def test_alone_in_the_room_a_reservation_is_won_on_the_mesh_and_recorded() -> None:
    node = Node()
    node.replica.claim("A", at(0))
    answer = await Handlers(node).commands()["reserve"](reserve_body("src/**", "README.md"))
    assert (answer["decided_by"], "why_git" in answer) == ("mesh", False)
    await asyncio.sleep(0)  # the record lands
    assert [e.pattern for e in node.git.listed["s1"]] == ["src/**", "README.md"]
    # From now on a conflicting reservation of another session gets a nack (git decides it).
    theirs = node.other.author.stamp(
        m.PathsReserve(task_id="F", epoch=0, patterns=["src/a.py"], ttl_seconds=60.0), at(1)
    )
    assert node.claims.decline(theirs)


async def test_git_decides_while_it_still_holds_a_record_the_mesh_saw_released() -> None:
    node = Node()
    node.from_other(node.other.claim("F", at(0)))
    [theirs] = node.other.emit([node.other.author.stamp(
        m.PathsReserve(task_id="F", epoch=0, patterns=["src/**"], ttl_seconds=3600.0), at(0)
    )])  # fmt: skip
    node.git.write("s2", rr.entries(theirs))  # s2's record is in git
    node.from_other([theirs])
    node.from_other(node.other.emit([node.other.author.stamp(m.PathsRelease(), at(1))]))
    node.replica.claim("A", at(20))  # s2 silent for a lease since: not asked
    node.clock = at(20)
    reserve = Handlers(node).commands()["reserve"]
    with pytest.raises(ReservationConflict, match=r"src/a\.py is reserved by s2 for F") as lost:
        await reserve(reserve_body("src/a.py"))
    assert lost.value.decided_by == "git"  # the fold let it through; git would not
    assert node.sent_types()[-1] == "paths.release"  # withdrawn: it cannot stand later
    assert node.git.listed["s1"][0].pattern == "src/a.py"  # its record lost there
    # Once s2's release reaches git, the mesh decides again.
    node.git.release("s2", rr.entries(theirs))
    node.clock = at(21)
    answer = await reserve(reserve_body("src/a.py"))
    assert answer["decided_by"] == "mesh"


async def test_a_reservation_git_never_decides_is_withdrawn_and_answered_undecided() -> None:
    node = Node(lands=False)
    node.replica.claim("A", at(0))
    node.from_other(node.other.claim("F", at(0)))  # a session without a node: git decides
    with pytest.raises(ReservationUndecided, match="withdrawn"):
        await Handlers(node).commands()["reserve"](reserve_body("src/**", timeout=0.05))
    assert node.git.written and node.sent_types()[-1] == "paths.release"
    assert not node.board.reservations


async def test_git_confirming_what_the_fold_refused_folds_it_again_once_it_may() -> None:
    node = Node(lands=False)
    node.replica.claim("A", at(0))
    node.from_other(node.other.claim("F", at(0)))  # git decides
    node.clock = at(1)
    reserve = asyncio.ensure_future(Handlers(node).commands()["reserve"](reserve_body("src/**")))
    await asyncio.sleep(0)
    assert [e.pattern for e in node.git.written] == ["src/**"]  # sent to git, record queued
    # s2's conflicting reservation, made before it saw ours, is ordered first.
    theirs = node.other.author.stamp(
        m.PathsReserve(task_id="F", epoch=0, patterns=["src/a.py"], ttl_seconds=600.0), at(1)
    )
    node.from_other(node.other.emit([theirs.model_copy(update={"lamport": 1})]))
    assert not any(r.session_id == "s1" for r in node.board.reservations.values())
    node.git.land()  # but s2 wrote no record: git confirms ours
    answer = await reserve
    assert answer["decided_by"] == "git"
    node.from_other(node.other.emit([node.other.author.stamp(m.PathsRelease(), at(2))]))
    async with asyncio.timeout(5):
        while not any(r.session_id == "s1" for r in node.board.reservations.values()):
            await node.changed.wait()
    assert node.sent_types()[-1] == "paths.reserve"  # folded again, not decided again
    for task in node.tasks:
        task.cancel()


@pytest.fixture
def work(tmp_path: Path) -> Path:
    """A working tree whose git tracks src/a.py."""
    require_tool("git")
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "a.py").write_text("x\n", encoding="utf-8")
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True, timeout=60)
    subprocess.run(["git", "-C", str(tmp_path), "add", "."], check=True, timeout=60)
    return tmp_path


async def test_folded_again_it_carries_the_witnesses_of_its_record(work: Path) -> None:
    """As above, with globs that overlap only through src/a.py, which this session's working
    tree tracks: its record carries it, and so does the reservation folded again, so that the
    board judges it as git did."""
    node = Node(lands=False)
    node.replica.claim("A", at(0))
    node.from_other(node.other.claim("F", at(0)))  # git decides
    node.clock = at(1)
    body = {**reserve_body("src/*.py"), "cwd": str(work)}
    reserve = asyncio.ensure_future(Handlers(node).commands()["reserve"](body))
    async with asyncio.timeout(30):  # git ls-files runs first
        while not node.git.written:
            await node.changed.wait()
    [record] = node.git.written
    assert record.witnesses == ("src/a.py",)
    theirs = node.other.author.stamp(
        m.PathsReserve(task_id="F", epoch=0, patterns=["src/a*"], ttl_seconds=600.0), at(1)
    )
    node.from_other(node.other.emit([theirs.model_copy(update={"lamport": 1})]))
    assert not any(r.session_id == "s1" for r in node.board.reservations.values())
    node.git.land()
    assert (await reserve)["decided_by"] == "git"
    node.from_other(node.other.emit([node.other.author.stamp(m.PathsRelease(), at(2))]))
    async with asyncio.timeout(5):
        while not any(r.session_id == "s1" for r in node.board.reservations.values()):
            await node.changed.wait()
    again = node.sent[-1].payload
    assert isinstance(again, m.PathsReserve) and again.witnesses == ["src/a.py"]
    [held] = [r for r in node.board.reservations.values() if r.session_id == "s1"]
    assert held.witnesses == ("src/a.py",)
    for task in node.tasks:
        task.cancel()


async def test_an_earlier_runs_reservations_go_to_git_only_with_their_record() -> None:
    node = Node(lands=False)
    node.replica.claim("A", at(0))
    for minute, pattern in ((1, "kept/**"), (1.5, "dropped/**")):
        node.replica.emit([node.replica.author.stamp(
            m.PathsReserve(task_id="A", epoch=0, patterns=[pattern], ttl_seconds=600.0),
            at(minute),
        )])  # fmt: skip
    kept = next(r for r in node.board.reservations.values() if r.pattern == "kept/**")
    record = ReservedEntry("kept/**", "A", 0, True, kept.reserved_at, kept.expires_at)
    node.claims.reservations.settle_inherited([record], at(2))
    assert node.git.written == [record]  # awaited again
    assert {r.pattern for r in node.board.reservations.values()} == {"kept/**"}
    assert node.sent_types() == ["paths.release"]  # the other withdrawn
