"""What the end-to-end tests share: running `ifmesh` as a session does, reading boards, and
waiting on a node's event stream for a condition."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from ifmesh.node.cli.room import EXAMPLE_BOARD, LocalRoom, ifmesh_command


async def ifmesh(room: LocalRoom, session: str, *args: str) -> tuple[int, Any]:
    """Runs `ifmesh ARGS --json` as session ``session``; returns (exit code, parsed output)."""
    env = room.env | {"IFMESH_SESSION": session}
    process = await asyncio.create_subprocess_exec(
        *ifmesh_command(), *args, "--json", env=env,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode is not None
    text = out.decode().strip()
    return process.returncode, json.loads(text) if text else err.decode()


async def board(room: LocalRoom, session: str) -> dict[str, Any]:
    code, document = await ifmesh(room, session, "board")
    assert code == 0, document
    return document


def tasks(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {task["id"]: task for task in document["tasks"]}


async def until(room: LocalRoom, predicate: Any, timeout: float, what: str, *, watch: str) -> None:
    """Waits until ``predicate()`` holds, re-checking on every event of ``watch``'s node (and
    every few seconds: the condition may span nodes whose events ``watch`` does not see)."""
    changed = asyncio.Event()
    subscribed = asyncio.Event()

    async def follow() -> None:
        async with room.client(watch) as node:
            async for _ in node.events():  # the first line says we are subscribed
                subscribed.set()
                changed.set()

    follower = asyncio.create_task(follow())
    try:
        async with asyncio.timeout(timeout):
            await subscribed.wait()
            while not await predicate():
                changed.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(changed.wait(), 3)
    except TimeoutError:
        pytest.fail(f"timed out waiting for {what}")
    finally:
        follower.cancel()
        await asyncio.gather(follower, return_exceptions=True)


def board_without_absent_owners(directory: Path) -> Path:
    """The example board with its claims by sessions that run no node here given back: with a
    lease of seconds, idle nodes would otherwise steal them as soon as they start."""
    text = EXAMPLE_BOARD.read_text(encoding="utf-8")
    text = re.sub(r"\| 🟡 CLAIMED \| session-[a-z0-9-]+ \|", "| 🔵 AVAILABLE | - |", text)
    path = directory / "board.md"
    path.write_text(text, encoding="utf-8")
    return path
