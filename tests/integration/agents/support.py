"""What the MCP tests share: an `ifmesh mcp` server spawned by the SDK's own stdio client as a
session's agent would spawn it, tool calls that must succeed or must fail with a code, and
waiting on a resource through its update notifications (never a sleep)."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from mcp import Client, StdioServerParameters
from mcp.client.session import MessageHandlerFnT
from mcp.client.stdio import stdio_client

import ifmesh
from ifmesh.node.cli.room import LocalRoom

SOURCE = Path(ifmesh.__file__).resolve().parents[1]
BOARD, SESSION = "ifmesh://board", "ifmesh://session"
HEADER = (
    "# MCP board\n\n| ID | Task | Status | Owner | Dependencies | Deliverable | Est | Model |\n"
    "|----|------|--------|-------|--------------|-------------|-----|-------|\n"
)


def small_board(directory: Path, tasks: int = 6) -> Path:
    """Free tasks M.1 … M.n without dependencies: what every test claims from."""
    rows = [f"| M.{n} | Task {n} | 🔵 AVAILABLE | - | None | `m{n}.md` | 1h | Haiku |\n"
            for n in range(1, tasks + 1)]  # fmt: skip
    path = directory / "mcp-board.md"
    path.write_text(HEADER + "".join(rows), encoding="utf-8")
    return path


@asynccontextmanager
async def mcp_client(
    room: LocalRoom,
    *args: str,
    mode: str = "auto",
    message_handler: MessageHandlerFnT | None = None,
    log_name: str = "mcp",
) -> AsyncIterator[Client]:
    """`ifmesh mcp ARGS` as a subprocess of the SDK's stdio client, in the room's state root
    and, as an agent's would, in a git working tree (the room's seed of its coordination
    branch); its stderr goes to LOG_NAME.log in the room's directory."""
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "ifmesh", "mcp", *args],
        # The server runs the ifmesh this test imports, wherever the environment's install
        # points (the SDK passes a server only HOME, PATH and a few more of its own).
        env={"XDG_STATE_HOME": str(room.directory / "state"), "PYTHONPATH": str(SOURCE)},
        cwd=room.directory / "seed",
    )
    with (room.directory / f"{log_name}.log").open("a", encoding="utf-8") as errlog:
        transport = stdio_client(params, errlog=errlog)
        async with Client(transport, mode=mode, message_handler=message_handler) as client:
            yield client


async def ok(client: Client, tool: str, **arguments: Any) -> dict[str, Any]:
    """The tool's structured result; fails the test on a tool error."""
    result = await client.call_tool(tool, arguments)
    assert not result.is_error, f"{tool}({arguments}): {result.content}"
    assert isinstance(result.structured_content, dict), result
    return result.structured_content


async def refused(client: Client, tool: str, **arguments: Any) -> dict[str, Any]:
    """The tool error's ``{"code", "message", "advice"}``; fails the test on success."""
    result = await client.call_tool(tool, arguments)
    assert result.is_error, f"{tool}({arguments}) succeeded: {result.structured_content}"
    assert isinstance(result.structured_content, dict), result
    error: dict[str, Any] = result.structured_content["error"]
    text = result.content[0].text  # type: ignore[union-attr]
    assert text.startswith(f"{error['code']}: "), text  # the code is what a model reads first
    return error


async def read_json(client: Client, uri: str) -> dict[str, Any]:
    result = await client.read_resource(uri)
    documents = [c for c in result.contents if c.mime_type == "application/json"]
    assert len(documents) == 1, result
    document: dict[str, Any] = json.loads(documents[0].text)  # type: ignore[union-attr]
    return document


async def until_resource(
    client: Client,
    uri: str,
    predicate: Callable[[dict[str, Any]], bool],
    what: str,
    timeout: float = 120,
) -> dict[str, Any]:
    """Reads ``uri`` again on each of its update notifications until ``predicate`` holds."""
    try:
        async with asyncio.timeout(timeout), client.listen(resource_subscriptions=[uri]) as updates:
            while not predicate(document := await read_json(client, uri)):
                await anext(updates)
            return document
    except TimeoutError:
        pytest.fail(f"timed out after {timeout:g}s waiting for {what}")


def task(board: dict[str, Any], task_id: str) -> dict[str, Any]:
    found: dict[str, Any] = next(t for t in board["tasks"] if t["id"] == task_id)
    return found
