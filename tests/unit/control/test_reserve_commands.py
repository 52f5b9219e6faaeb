"""Path reservations through the node's control commands: `reserve` (with the paths git tracks
in the caller's working tree), `unreserve`, `check-paths` (as a query and as a command, with
the room's guard policy in its answer) and `end-session` under each `agent_session_end`.

The node is the real replica and the real handlers; the other session is another replica whose
events the test delivers (a session without a node, so git decides each reservation: a real
reservation ledger answers at once); the working tree is a real git repository in a temporary
directory.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Sequence
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from ifmesh.node.board import reservation_commands
from ifmesh.node.board.errors import NotOwner, NotReserved, ReservationConflict
from ifmesh.node.board.replica import Replica
from ifmesh.node.board.state import BoardConfig
from ifmesh.node.control.handlers import Handlers
from ifmesh.node.errors import ConfigError
from ifmesh.node.gitsync.reservation_ledger import ReservationVerdict
from ifmesh.node.governor.policy import DEFAULT_POLICY, Policy
from ifmesh.node.protocol.messages import Envelope, PathsReserve, TaskRelease
from tests.conftest import require_tool
from tests.unit.board.helpers import at, chain_board
from tests.unit.claims.ledger_git import LedgerGit
from tests.unit.control.support import LEASE, StandInNode


class Node(StandInNode):
    """What s1 sends reaches s2's replica too; its reservations' records land in git at once."""

    def __init__(self, policy: Policy = DEFAULT_POLICY) -> None:
        super().__init__(policy=policy)
        self.other = Replica("s2", "inc-2", initial=chain_board(), config=BoardConfig(LEASE))
        self.git = LedgerGit()  # type: ignore[assignment]
        self.git.on_read = self.git_read

    def git_read(self, verdicts: list[ReservationVerdict]) -> None:
        """As the node hands over what its bridge read: to the decider, then a change."""
        self.claims.reservations.git_verdicts(verdicts, self.clock)
        self.changed.notify()

    def published(self, events: Sequence[Envelope]) -> None:
        super().published(events)
        for event in events:
            self.other.receive(event)

    def from_other(self, events: Sequence[Envelope]) -> None:
        for event in events:
            self.replica.receive(event)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    require_tool("git")
    work = tmp_path / "work"
    (work / "src" / "db").mkdir(parents=True)
    for name in ("src/db/models.py", "src/app.py", "README.md"):
        (work / name).write_text("x\n", encoding="utf-8")
    subprocess.run(["git", "init", "-q", str(work)], check=True)
    subprocess.run(["git", "-C", str(work), "add", "."], check=True)
    return work


def setup_room(node: Node) -> None:
    """s1 holds A, s2 holds F (each node has seen the other's claim)."""
    node.from_other(node.other.claim("F", at(0)))
    node.other.receive(node.replica.claim("A", at(0))[0])


async def test_the_holder_reserves_and_the_tracked_paths_are_witnesses(repo: Path) -> None:
    node = Node()
    handlers = Handlers(node)
    setup_room(node)
    reserve = handlers.commands()["reserve"]
    with pytest.raises(NotOwner):
        await reserve({"task": "F", "patterns": ["src/**"]})
    done = await reserve({"task": "A", "patterns": ["src/db/*.py"], "cwd": str(repo),
                          "ttl_seconds": 600})  # fmt: skip
    assert [(r["pattern"], r["exclusive"], r["expires_at"]) for r in done["reserved"]] == [
        ("src/db/*.py", True, "2025-11-12T14:10:00Z")
    ]
    assert [e["type"] for e in done["events"]] == ["paths.reserve"]
    [sent] = [e.payload for e in node.sent if isinstance(e.payload, PathsReserve)]
    assert sent.witnesses == ["src/db/models.py"]  # what the working tree tracks there
    # The other session's glob overlaps through a tracked file only, which s1's event carries:
    # refused though its own working tree does not track it.
    for tracked in (["src/db/models.py"], []):
        with pytest.raises(ReservationConflict, match=r"src/db/models\.py is reserved by s1"):
            reservation_commands.reserve(
                node.other.log.view(), node.other.author, "F", ["src/**/*.py"], at(1),
                tracked=tracked,
            )  # fmt: skip
    with pytest.raises(ConfigError, match="ttl_seconds"):
        await reserve({"task": "A", "patterns": ["x"], "ttl_seconds": 10**9})
    with pytest.raises(ConfigError, match="no git working tree"):
        await reserve({"task": "A", "patterns": ["x"], "cwd": str(repo.parent)})


async def test_check_paths_names_each_conflict_and_carries_the_guard(repo: Path) -> None:
    node = Node(replace(DEFAULT_POLICY, guard="closed"))
    handlers = Handlers(node)
    setup_room(node)
    node.from_other(node.other.emit([_reserve(node.other, "F", "src/db/", exclusive=True)]))
    node.from_other(node.other.emit([_reserve(node.other, "F", "README.md", exclusive=False)]))
    check = handlers.queries()["check-paths"]
    answer = await check({"paths": json.dumps(["src/db/models.py", "README.md", "/etc/passwd"]),
                          "cwd": str(repo)})  # fmt: skip
    assert answer["ok"] is False and answer["guard"] == "closed"
    assert [(c["path"], c["holder"], c["task"], c["pattern"]) for c in answer["conflicts"]] == [
        ("src/db/models.py", "s2", "F", "src/db/")
    ]  # the shared reservation of README.md keeps nobody from editing it
    assert answer["outside"] == ["/etc/passwd"]
    as_command = await handlers.commands()["check-paths"]({"paths": ["src/app.py"]})
    assert as_command["ok"] is True and as_command["paths"] == ["src/app.py"]
    single = await check({"paths": "src/db/"})
    assert [c["path"] for c in single["conflicts"]] == ["src/db/"]
    node.clock = at(61)  # the reservation's hour is over (and s2's lease, unrenewed)
    assert (await check({"paths": "src/db/models.py"}))["ok"] is True


async def test_unreserve_ends_what_it_names() -> None:
    node = Node()
    handlers = Handlers(node)
    setup_room(node)
    await handlers.commands()["reserve"]({"task": "A", "patterns": ["a/**", "b/**"]})
    unreserve = handlers.commands()["unreserve"]
    with pytest.raises(NotReserved):
        await unreserve({"patterns": ["c/**"]})
    left = await unreserve({"patterns": ["a/**"], "task": "A"})
    assert [r["pattern"] for r in left["reserved"]] == ["b/**"]
    assert [r["pattern"] for r in (await unreserve({}))["reserved"]] == []


@pytest.mark.parametrize("policy", ["keep", "release"])
async def test_end_session_keeps_or_releases_as_the_policy_says(policy: str) -> None:
    node = Node(replace(DEFAULT_POLICY, agent_session_end=policy))  # type: ignore[arg-type]
    handlers = Handlers(node)
    setup_room(node)
    await handlers.commands()["reserve"]({"task": "A", "patterns": ["src/**"]})
    node.sent.clear()
    ended = await handlers.commands()["end-session"]({"reason": "prompt_input_exit"})
    assert ended["policy"] == policy
    if policy == "keep":
        assert (ended["kept"], ended["released"], node.sent) == (["A"], [], [])
        assert [r["pattern"] for r in ended["reserved"]] == ["src/**"]
    else:
        assert (ended["kept"], ended["released"]) == ([], ["A"])
        assert [type(e.payload) for e in node.sent] == [TaskRelease]
        assert ended["reserved"] == []  # they ended with the task


def _reserve(replica: Replica, task: str, pattern: str, *, exclusive: bool) -> Envelope:
    return reservation_commands.reserve(
        replica.log.view(), replica.author, task, [pattern], at(0),
        exclusive=exclusive, ttl=timedelta(hours=1),
    )  # fmt: skip
