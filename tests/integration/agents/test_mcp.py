"""`ifmesh mcp` end to end: the SDK's own client spawns the server over stdio, as a coding
agent's client does, against a real room (signaling server, node processes, a bare git
remote). What an agent sees: the tools and resources, one winner of a race, `wait` woken by
another session, resource updates after a claim (both protocol eras), typed tool errors, a
node going away and coming back under a server that stays up, `--start`, and the whole
Phase-0 flow through MCP alone."""

from __future__ import annotations

import asyncio
import fcntl
import os
import threading
import warnings
from pathlib import Path
from typing import Any

import mcp_types as types
import pytest
from mcp import MCPDeprecationWarning

from ifmesh.node.cli.room import BRANCH, LocalRoom, session_list
from tests.conftest import require_tool
from tests.integration.agents.support import (
    BOARD,
    SESSION,
    mcp_client,
    ok,
    read_json,
    refused,
    small_board,
    task,
    until_resource,
)

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

TOOLS = {"claim", "progress", "complete", "fail", "release", "block", "help", "offer",
         "ask_release", "keep", "unqueue", "wait", "next", "board", "peers", "status",
         "reserve", "unreserve", "check_paths"}  # fmt: skip


def room(tmp_path: Path, sessions: int) -> LocalRoom:
    require_tool("git")
    return LocalRoom(
        tmp_path, sessions=sessions, fetch_interval_seconds=1, board=small_board(tmp_path)
    )


async def test_an_agent_sees_every_tool_and_resource_and_typed_errors(tmp_path: Path) -> None:
    async with (
        room(tmp_path, 1) as here,
        mcp_client(here, "--session", "session-2-webrtc") as agent,
    ):
        listed = (await agent.list_tools()).tools
        assert {tool.name for tool in listed} == TOOLS
        for tool in listed:
            assert tool.description and len(tool.description) > 80, tool.name  # for a model
            assert tool.input_schema["type"] == "object", tool.name
            assert tool.output_schema is not None and tool.output_schema["type"] == "object"
        claim = next(tool for tool in listed if tool.name == "claim")
        assert {"task", "queue", "urgency", "provisional", "timeout"} <= set(
            claim.input_schema["properties"]
        )
        assert claim.input_schema["required"] == ["task"]
        resources = (await agent.list_resources()).resources
        assert {str(r.uri) for r in resources} == {BOARD, SESSION}
        assert (await ok(agent, "status"))["session"] == "session-2-webrtc"

        # Refused by the server's own schema check, with what is wrong, before the node.
        error = await refused(agent, "progress", task="M.1", percent=30)
        assert error["code"] == "bad_request" and "percent" in error["message"], error
        error = await refused(agent, "claim", task="M.1", urgent=True)
        assert error["code"] == "bad_request" and "urgent" in error["message"], error
        assert (await refused(agent, "claim"))["code"] == "bad_request"
        assert (await refused(agent, "take", task="M.1"))["code"] == "unknown_tool"
        # Refused by the node: its own codes, with what to do next.
        assert (await refused(agent, "claim", task="NOPE.1"))["code"] == "unknown_task"
        error = await refused(agent, "progress", task="M.1", percent=25)
        assert error["code"] == "not_owner" and error["advice"], error

        # Path reservations (issue 20, section 3): served by the node, or a typed error from
        # a node of a version without them.
        assert (await ok(agent, "claim", task="M.2"))["won"] is True
        reserved = await agent.call_tool("reserve", {"patterns": ["docs/**"], "task": "M.2"})
        if reserved.is_error:
            assert reserved.structured_content is not None
            assert reserved.structured_content["error"]["code"] == "unknown_command", reserved
        else:
            assert reserved.structured_content is not None
            assert [r["pattern"] for r in reserved.structured_content["reserved"]] == ["docs/**"]
            checked = await ok(agent, "check_paths", paths=["docs/guide.md"])
            assert checked["ok"] is True and checked["conflicts"] == []  # one's own: no conflict
            assert (await ok(agent, "unreserve", task="M.2"))["reserved"] == []
            error = await refused(agent, "reserve", patterns=["docs/**"], task="M.3")
            assert error["code"] == "not_owner", error
        # Still serving after every refusal.
        assert (await ok(agent, "status"))["holding"] == ["M.2"]
        board = await ok(agent, "board")
        assert task(board, "M.2")["owner"] == "session-2-webrtc"


async def test_two_agents_race_for_a_task_and_exactly_one_wins(tmp_path: Path) -> None:
    async with room(tmp_path, 2) as here:
        await here.wait_mesh(timeout=150)
        first, second = list(here.members)
        async with (
            mcp_client(here, "--session", first, log_name=first) as one,
            mcp_client(here, "--session", second, log_name=second) as other,
        ):
            for task_id in ("M.1", "M.2", "M.3"):
                results = await asyncio.gather(
                    one.call_tool("claim", {"task": task_id}),
                    other.call_tool("claim", {"task": task_id}),
                )
                winners = [r for r in results if not r.is_error]
                assert len(winners) == 1, [r.content for r in results]
                assert winners[0].structured_content is not None
                assert winners[0].structured_content["won"] is True
                loser = next(r for r in results if r.is_error)
                assert loser.structured_content is not None
                assert loser.structured_content["error"]["code"] in {
                    "claim_lost",
                    "already_claimed",
                }, loser.content
                winner = (first, second)[results.index(winners[0])]

                def held(board: dict[str, Any], t: str = task_id, w: str = winner) -> bool:
                    return bool(task(board, t)["owner"] == w)

                board = await until_resource(other, BOARD, held, f"{winner} holding {task_id}")
                assert task(board, task_id)["status"] == "CLAIMED"


async def test_wait_returns_when_another_session_completes_the_task(tmp_path: Path) -> None:
    async with room(tmp_path, 2) as here:
        await here.wait_mesh(timeout=150)
        worker, waiter = list(here.members)
        async with (
            mcp_client(here, "--session", worker, log_name=worker) as working,
            mcp_client(here, "--session", waiter, log_name=waiter) as waiting,
        ):
            assert (await ok(working, "claim", task="M.1"))["won"] is True
            await until_resource(
                waiting, BOARD, lambda b: task(b, "M.1")["owner"] == worker, "the claim seen"
            )
            woken = asyncio.create_task(
                waiting.call_tool("wait", {"task": "M.1", "until": "completed", "timeout": 120})
            )
            await ok(working, "progress", task="M.1", percent=50, milestone="half")
            assert not woken.done()  # a milestone is not what it waits for
            await ok(working, "complete", task="M.1", tests_pass=True)
            result = await asyncio.wait_for(woken, 150)
            assert not result.is_error, result.content
            assert result.structured_content is not None
            assert result.structured_content["task"]["status"] == "COMPLETED"
            assert result.structured_content["task"]["owner"] == worker


async def test_a_subscriber_is_told_the_resources_changed_after_a_claim(tmp_path: Path) -> None:
    async with room(tmp_path, 1) as here:
        me = "session-2-webrtc"
        async with mcp_client(here, "--session", me) as agent:
            assert agent.protocol_version == "2026-07-28"  # subscriptions/listen
            async with agent.listen(resource_subscriptions=[SESSION, BOARD]) as updates:
                assert (await read_json(agent, SESSION))["tasks"] == []
                assert (await ok(agent, "claim", task="M.1"))["won"] is True
                told: set[str] = set()
                async with asyncio.timeout(60):
                    while not (told >= {SESSION, BOARD} and await _holds(agent, "M.1")):
                        event = await anext(updates)
                        told.add(event.uri)  # type: ignore[union-attr]
            board = await read_json(agent, BOARD)
            assert task(board, "M.1")["owner"] == me

        # A client of the handshake era subscribes with resources/subscribe instead.
        notices: asyncio.Queue[str] = asyncio.Queue()

        async def on_message(message: Any) -> None:
            if isinstance(message, types.ResourceUpdatedNotification):
                notices.put_nowait(message.params.uri)

        handshake = mcp_client(here, "--session", me, mode="legacy", message_handler=on_message)
        async with handshake as old:
            with warnings.catch_warnings():  # the SDK deprecates it for 2026-07-28 clients
                warnings.simplefilter("ignore", MCPDeprecationWarning)
                await old.session.subscribe_resource(SESSION)
            await ok(old, "claim", task="M.2")
            async with asyncio.timeout(60):
                while not (await notices.get() == SESSION and await _holds(old, "M.2")):
                    pass


async def _holds(agent: Any, task_id: str) -> bool:
    return task_id in [t["id"] for t in (await read_json(agent, SESSION))["tasks"]]


async def test_the_phase_0_flow_through_mcp_alone(tmp_path: Path) -> None:
    async with room(tmp_path, 2) as here:
        await here.wait_mesh(timeout=150)
        worker, helper = list(here.members)  # the helper has lang:python
        async with (
            mcp_client(here, "--session", worker, log_name=worker) as working,
            mcp_client(here, "--session", helper, log_name=helper) as helping,
        ):
            assert [t["id"] for t in (await ok(working, "next"))["tasks"]][:1] == ["M.1"]
            claimed = await ok(working, "claim", task="M.1")
            assert claimed["won"] is True and claimed["decided_by"] in {"mesh", "git"}
            for percent in (25, 50, 75, 100):
                await ok(working, "progress", task="M.1", percent=percent, milestone=f"{percent}")
            assert task(await ok(working, "board"), "M.1")["percent"] == 100
            await ok(working, "block", task="M.1", reason="the review is pending")
            asked = await ok(
                working, "help", task="M.1", need=["lang:python"], description="review"
            )
            request = asked["request_id"]
            assert helper in asked["helpers"], asked

            wanted = await until_resource(
                helping,
                SESSION,
                lambda s: request in [h["id"] for h in s["help_wanted"]],
                "the help request in the helper's session resource",
            )
            assert wanted["help_wanted"][0]["requester"] == worker
            await ok(helping, "offer", request=request, message="I can review it")
            await until_resource(
                working, BOARD, lambda b: helper in _request(b, request)["offers"], "the offer"
            )
            reserved = await working.call_tool("reserve", {"patterns": ["docs/**"], "task": "M.1"})
            if not reserved.is_error:  # a node with path reservations (issue 20, section 3)
                await until_resource(
                    helping, BOARD, lambda b: bool(b["reservations"]), "the reservation seen"
                )
                checked = await ok(helping, "check_paths", paths=["docs/guide.md"])
                assert not checked["ok"], checked
                assert [(c["holder"], c["task"]) for c in checked["conflicts"]] == [(worker, "M.1")]
            await ok(working, "complete", task="M.1", tests_pass=True, deliverable="m1.md")
            board = await until_resource(
                helping, BOARD, lambda b: task(b, "M.1")["status"] == "COMPLETED", "M.1 done"
            )
            assert task(board, "M.1")["owner"] == worker
            assert (await ok(working, "status"))["holding"] == []


def _request(board: dict[str, Any], request_id: str) -> dict[str, Any]:
    found: dict[str, Any] = next(h for h in board["help_requests"] if h["id"] == request_id)
    return found


async def test_a_node_going_away_fails_the_call_and_the_server_stays_up(tmp_path: Path) -> None:
    async with room(tmp_path, 1) as here:
        me = "session-2-webrtc"
        async with mcp_client(here, "--session", me) as agent:
            assert (await ok(agent, "claim", task="M.1"))["won"] is True
            waiting = asyncio.create_task(
                agent.call_tool("wait", {"task": "M.1", "until": "completed"})
            )
            await ok(agent, "status")  # answered while the wait is in flight
            here.kill_node(me)
            result = await asyncio.wait_for(waiting, 60)
            assert result.is_error and result.structured_content is not None
            assert result.structured_content["error"]["code"] == "node_not_running"
            assert (await refused(agent, "board"))["code"] == "node_not_running"
            assert {tool.name for tool in (await agent.list_tools()).tools} == TOOLS

            here.start_node(me)
            await here.wait_control(me, timeout=120)
            assert (await ok(agent, "status"))["holding"] == ["M.1"]  # the node found again


async def test_start_starts_the_sessions_node_and_stops_it_at_the_end(tmp_path: Path) -> None:
    async with room(tmp_path, 1) as here:
        assert here.remote is not None
        session, capabilities = session_list(2)[1]
        flags = ["--start", "--session", session, "--room", "demo", "--remote", str(here.remote),
                 "--branch", BRANCH, "--signaling", here.signaling_url,
                 "--capabilities", capabilities, "--fetch-interval-seconds", "1"]  # fmt: skip
        async with mcp_client(here, *flags) as agent:
            status = await ok(agent, "status")  # answered once the node it started is up
            assert status["session"] == session
            assert (await ok(agent, "claim", task="M.1"))["won"] is True
        state = here.state_root / session
        assert (state / "node.log").is_file()
        await _until_unlocked(state / "node.lock", 60)  # SIGTERM: it drains, then exits


async def _until_unlocked(lock: Path, timeout: float) -> None:
    """Until the process holding ``lock`` (an flock) is gone: the kernel wakes the waiter."""
    loop = asyncio.get_running_loop()
    released: asyncio.Future[None] = loop.create_future()

    def take() -> None:
        fd = os.open(lock, os.O_RDWR)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
        finally:
            os.close(fd)
        loop.call_soon_threadsafe(released.set_result, None)

    threading.Thread(target=take, daemon=True).start()
    await asyncio.wait_for(released, timeout)
