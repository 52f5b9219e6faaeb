"""Claim queues and request-release through the node's control commands: `claim --queue`
(`queue_instead`), `unqueue`, `ask-release`, `keep`, `wait --until mine|asked`, and what
`status`, `next` and the board show of them.

The node is the real replica and the real handlers; the edges are stand-ins: a clock the test
sets, another session's replica whose events the test delivers, and a git tier that confirms
every claim or steal for whoever sent it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import replace

import pytest

from ifmesh.node.board.errors import AlreadyHolder, NotOwner, TaskCompleted, UnknownTask
from ifmesh.node.board.replica import Replica
from ifmesh.node.board.state import BoardConfig
from ifmesh.node.control import queueing
from ifmesh.node.control.handlers import Handlers
from ifmesh.node.errors import ConfigError
from ifmesh.node.governor.policy import DEFAULT_POLICY
from ifmesh.node.protocol.messages import Envelope, TaskClaim, TaskSteal
from ifmesh.node.runtime.config import NodeConfig
from tests.unit.board.helpers import at, chain_board
from tests.unit.control.support import LEASE, StandInNode


class Node(StandInNode):
    def __init__(self) -> None:
        super().__init__(policy=replace(DEFAULT_POLICY, ask_release_grace=300.0))

    def deliver(self, events: Sequence[Envelope]) -> None:
        """Another session's events arrive (a change the waits wake on)."""
        for event in events:
            self.replica.receive(event)
        self.changed.notify()


def decided(replica: Replica, events: Sequence[Envelope]) -> tuple[Envelope, ...]:
    """``events``, and git's verdict on each claim or steal among them: won by its sender."""
    verdicts: list[Envelope] = []
    for event in events:
        if isinstance(event.payload, TaskClaim | TaskSteal):
            p = event.payload
            verdicts += replica.git_verdict(p.task_id, p.epoch, replica.session_id, at(0))
    return (*events, *verdicts)


def held_by_s2() -> tuple[Node, Replica, Handlers]:
    """s2 holds A since minute 0; it is minute 1 on s1's node."""
    node = Node()
    other = Replica("s2", "inc-2", initial=chain_board(), config=BoardConfig(LEASE))
    node.deliver(decided(other, other.claim("A", at(0))))
    node.clock = at(1)
    return node, other, Handlers(node)  # type: ignore[arg-type]  # a stand-in for RunningNode


async def test_claim_queue_on_a_held_task_joins_the_queue() -> None:
    node, _, _ = held_by_s2()
    body = {"task": "A", "queue": True, "urgency": "high"}
    answer = await queueing.queue_instead(node, body)  # type: ignore[arg-type]
    assert answer is not None
    assert (answer["queued"], answer["position"], answer["holder"]) == (True, 1, "s2")
    assert [e["type"] for e in answer["events"]] == ["task.queue"]
    again = await queueing.queue_instead(node, body)  # type: ignore[arg-type]
    assert again is not None and again["already_queued"] and again["events"] == []
    waiter = node.board.tasks["A"].queue[0]
    assert (waiter.session_id, waiter.urgency) == ("s1", "high")


async def test_claim_queue_on_a_free_task_lets_the_claim_go_on() -> None:
    node, _, _ = held_by_s2()
    assert await queueing.queue_instead(node, {"task": "F", "queue": True}) is None  # type: ignore[arg-type]
    assert await queueing.queue_instead(node, {"task": "A"}) is None  # type: ignore[arg-type]
    assert node.sent == []


async def test_claim_queue_refusals_say_what_to_do() -> None:
    node, other, _ = held_by_s2()
    with pytest.raises(UnknownTask, match="ifmesh board"):
        await queueing.queue_instead(node, {"task": "NOPE", "queue": True})  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="--urgency is one of low, medium, high, critical"):
        await queueing.queue_instead(node, {"task": "A", "queue": True, "urgency": "asap"})  # type: ignore[arg-type]
    node.deliver(other.complete("A", at(1)))
    with pytest.raises(TaskCompleted, match="ifmesh next"):
        await queueing.queue_instead(node, {"task": "A", "queue": True})  # type: ignore[arg-type]
    node.replica.claim("F", at(2))
    with pytest.raises(AlreadyHolder, match="ifmesh release F"):
        await queueing.queue_instead(node, {"task": "F", "queue": True})  # type: ignore[arg-type]


async def test_wait_until_mine_returns_when_the_queued_claim_is_decided() -> None:
    node, other, handlers = held_by_s2()
    await queueing.queue_instead(node, {"task": "A", "queue": True})  # type: ignore[arg-type]
    waiting = asyncio.create_task(handlers.wait({"task": "A", "until": "mine", "timeout": 5}))
    await asyncio.sleep(0)
    node.clock = at(3)
    node.deliver(other.release("A", at(3)))
    assert not waiting.done()
    # The node's timer: its turn is due, and it claims through the ordinary path.
    assert node.replica.get_timer() == at(3)
    assert node.replica.due_queue_claims(at(3)) == ["A"]
    claim = node.replica.claim("A", at(3))
    assert not waiting.done()
    node.deliver(decided(node.replica, claim))  # (its own claim is folded already)
    answer = await asyncio.wait_for(waiting, 5)
    assert [e.type for e in claim] == ["task.claim"]
    assert answer["until"] == "mine" and answer["task"]["owner"] == "s1"
    assert answer["task"]["confirmed"] is True


async def test_wait_until_mine_fails_when_another_session_completes_the_task() -> None:
    node, other, handlers = held_by_s2()
    waiting = asyncio.create_task(handlers.wait({"task": "A", "until": "mine"}))
    await asyncio.sleep(0)
    node.deliver(other.complete("A", at(2)))
    with pytest.raises(TaskCompleted, match="COMPLETED \\(by s2\\)"):
        await asyncio.wait_for(waiting, 5)


async def test_ask_release_keep_and_wait_until_asked() -> None:
    node, other, handlers = held_by_s2()
    commands = handlers.commands()
    with pytest.raises(ConfigError, match="--reason"):
        await commands["ask-release"]({"task": "A", "reason": " "})
    asked = await commands["ask-release"]({"task": "A", "reason": "demo at four"})
    assert asked["holder"] == "s2" and asked["grace_until"] == "2025-11-12T14:06:00Z"  # 300 s
    status = await handlers.status({})
    assert status["asking"] == [
        {"task": "A", "holder": "s2", "grace_until": "2025-11-12T14:06:00Z"}
    ]
    # On the holder's side: s2's node, whose agent waits to be asked.
    holder = Node()
    holder.session = "s2"
    holder.replica = other
    holder.config = NodeConfig(session="s2", lease_seconds=LEASE.total_seconds())
    holder_handlers = Handlers(holder)  # type: ignore[arg-type]
    waiting = asyncio.create_task(holder_handlers.wait({"until": "asked", "timeout": 5}))
    await asyncio.sleep(0)
    holder.deliver(node.sent)
    answer = await asyncio.wait_for(waiting, 5)
    assert answer["task"]["id"] == "A" and answer["task"]["ask"]["asker"] == "s1"
    holder_status = await holder_handlers.status({})
    assert holder_status["asked"][0]["reason"] == "demo at four"
    with pytest.raises(NotOwner, match="only A's holder may keep it"):
        await commands["keep"]({"task": "A", "reason": "mine"})
    kept = await holder_handlers.commands()["keep"]({"task": "A", "reason": "nearly done"})
    assert kept["asked_by"] == "s1" and [e["type"] for e in kept["events"]] == ["task.keep"]
    with pytest.raises(NotOwner, match="nobody will ask you for it"):
        await handlers.wait({"task": "A", "until": "asked"})


async def test_status_next_and_the_board_show_the_queue() -> None:
    node, other, handlers = held_by_s2()
    await queueing.queue_instead(node, {"task": "A", "queue": True})  # type: ignore[arg-type]
    board = await handlers.board({})
    task_a = next(t for t in board["tasks"] if t["id"] == "A")
    assert [w["session"] for w in task_a["queue"]] == ["s1"] and task_a["queue_turn"] is None
    status = await handlers.status({})
    assert status["queued"] == [
        {"task": "A", "position": 1, "queue_length": 1, "urgency": "medium", "holder": "s2",
         "turn": None}
    ]  # fmt: skip
    # Once A is free, its turn is s1's: `next` puts it first.
    node.deliver(other.release("A", at(2)))
    first = (await handlers.next({}))["tasks"]
    assert first[0]["id"] == "A" and first[0]["queue_turn"] == "s1"
    # Another session's turn: s1 is not offered the task at all.
    third = Replica("s3", "inc-3", initial=chain_board(), config=BoardConfig(LEASE))
    for event in node.replica.log:
        third.receive(event)
    node.deliver(third.queues.join("F", at(2), urgency="low"))
    listed = [t["id"] for t in (await handlers.next({}))["tasks"]]
    assert "F" not in listed and "A" in listed
    assert (await handlers.next({}))["queued"][0]["task"] == "A"


async def test_unqueue_leaves_and_refuses_when_not_queued() -> None:
    node, _, handlers = held_by_s2()
    unqueue = handlers.commands()["unqueue"]
    with pytest.raises(Exception, match="not in A's claim queue"):
        await unqueue({"task": "A"})
    await queueing.queue_instead(node, {"task": "A", "queue": True})  # type: ignore[arg-type]
    left = await unqueue({"task": "A"})
    assert [e["type"] for e in left["events"]] == ["task.unqueue"]
    assert node.board.tasks["A"].queue == ()
