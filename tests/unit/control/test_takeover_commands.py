"""What a session sees of takeovers through its node's commands: `next` offers the stale task,
`claim` takes it over (decided by git, naming whom it was taken from) or is refused under
`never`, and under `auto` `wait --until assigned` and `status` tell the agent what it got.

The node here is the real board replica and the real control handlers; only the edges are
stand-ins: a clock the test sets, and a git tier that answers every claim or steal with the
first confirm record it would find (this session's, unless a test says otherwise).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import pytest

from ifmesh.node.board.errors import AlreadyClaimed
from ifmesh.node.board.replica import Replica, Takeover
from ifmesh.node.board.state import BoardConfig
from ifmesh.node.control.handlers import Handlers
from ifmesh.node.errors import ClaimLost, ConfigError
from ifmesh.node.protocol.messages import Envelope, TaskClaim, TaskSteal
from ifmesh.node.runtime import parts
from ifmesh.node.runtime.config import NodeConfig
from tests.unit.board.helpers import at, chain_board
from tests.unit.control.support import LEASE, StandInNode


class Node(StandInNode):
    """Git answers every claim or steal once its push lands: later, never within the command."""

    def __init__(self, takeover: Takeover, *, git_winner: str | None = None) -> None:
        super().__init__(takeover=takeover)
        self.git_winner = git_winner  # who git names for each (task, epoch); None: this session

    def published(self, events: Sequence[Envelope]) -> None:
        super().published(events)
        asyncio.get_running_loop().call_soon(self.git_decides, events)

    def git_decides(self, events: Sequence[Envelope]) -> None:
        for event in events:
            if isinstance(event.payload, TaskClaim | TaskSteal):
                p = event.payload
                self.replica.git_verdict(p.task_id, p.epoch, self.git_winner or "s1", self.clock)
        self.changed.notify()


def stale_room(takeover: Takeover, **kwargs: Any) -> tuple[Node, Handlers]:
    """s2 claimed A at minute 0 and fell silent; it is minute 20 on s1, and s2 is absent."""
    node = Node(takeover, **kwargs)
    other = Replica("s2", "inc-2", initial=chain_board(), config=BoardConfig(lease=LEASE))
    for event in other.claim("A", at(0)):
        node.replica.receive(event)
    node.replica.set_presence(())
    node.clock = at(20)
    return node, Handlers(node)  # type: ignore[arg-type]  # a stand-in for RunningNode


async def test_next_heads_with_the_stale_task_to_take_over() -> None:
    _, handlers = stale_room("offer")
    tasks = (await handlers.next({}))["tasks"]
    assert [t["id"] for t in tasks] == ["A", "F"]
    assert tasks[0]["take_over_from"] == "s2" and tasks[0]["status"] == "STALE"
    assert "take_over_from" not in tasks[1]


async def test_next_offers_nothing_while_the_owner_is_on_the_mesh_or_under_never() -> None:
    node, handlers = stale_room("offer")
    node.replica.set_presence({"s2"})
    assert [t["id"] for t in (await handlers.next({}))["tasks"]] == ["F"]
    _, never = stale_room("never")
    assert [t["id"] for t in (await never.next({}))["tasks"]] == ["F"]


async def test_claim_under_offer_takes_over_decided_by_git() -> None:
    node, handlers = stale_room("offer")
    answer = await handlers.claim({"task": "A", "timeout": 5})
    assert answer["won"] is True and answer["decided_by"] == "git"
    assert (answer["epoch"], answer["taken_over_from"]) == (1, "s2")
    assert [e["type"] for e in answer["events"]] == ["task.steal"]
    task = node.board.tasks["A"]
    assert (task.owner, task.epoch, task.confirmed) == ("s1", 1, True)
    status = await handlers.status({})
    assert status["taken_over"] == [{"task": "A", "epoch": 1, "from": "s2", "confirmed": True}]


async def test_a_takeover_git_gives_to_another_session_is_lost() -> None:
    _, handlers = stale_room("offer", git_winner="s3")
    with pytest.raises(ClaimLost, match="A epoch 1 went to s3"):
        await handlers.claim({"task": "A", "timeout": 5})


async def test_claim_under_never_is_refused_as_already_claimed() -> None:
    node, handlers = stale_room("never")
    with pytest.raises(AlreadyClaimed, match="s2"):
        await handlers.claim({"task": "A", "timeout": 5})
    assert node.board.tasks["A"].epoch == 0


async def test_auto_tells_the_waiting_agent_and_status_lists_the_takeover() -> None:
    node, handlers = stale_room("auto")
    waiting = asyncio.create_task(handlers.wait({"until": "assigned", "timeout": 5}))
    named = asyncio.create_task(handlers.wait({"task": "A", "until": "assigned", "timeout": 5}))
    stolen = node.replica.handle_timer(node.clock)  # the node's own timer, as it runs idle
    assert [e.type for e in stolen] == ["task.steal"]
    await node.publish_now(stolen)
    for told in (await waiting, await named):
        assert told["until"] == "assigned" and told["taken_over_from"] == "s2"
        assert (told["task"]["id"], told["task"]["owner"], told["task"]["epoch"]) == ("A", "s1", 1)
    status = await handlers.status({})
    assert status["taken_over"] == [{"task": "A", "epoch": 1, "from": "s2", "confirmed": True}]


async def test_wait_until_assigned_times_out_when_nothing_is_taken_over() -> None:
    _, handlers = stale_room("offer")
    with pytest.raises(Exception, match="timed out waiting for a task taken over"):
        await handlers.wait({"until": "assigned", "timeout": 0.05})


def test_every_node_follows_the_rooms_takeover_setting() -> None:
    config = NodeConfig(session="s1")
    for text, expected in (
        ("{}", "offer"),
        ("{takeover: auto}", "auto"),
        ("{takeover: never}", "never"),
    ):
        policy, _ = parts.policy_for(config, f"resource_policy: {text}\n")
        assert parts.board_replica(config, "inc", chain_board(), policy).takeover == expected


async def test_only_assigned_may_wait_without_a_task() -> None:
    _, handlers = stale_room("offer")
    with pytest.raises(ConfigError, match="needs a TASK"):
        await handlers.wait({"until": "completed", "timeout": 1})
