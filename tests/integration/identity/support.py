"""What the identity integration tests share: a node's status, waiting on it, and pushing to
the coordination remote as someone with nothing but push access would."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from ifmesh.node.cli.room import BRANCH, LocalRoom


async def status(room: LocalRoom, session: str) -> dict[str, Any]:
    async with room.client(session) as node:
        result: dict[str, Any] = await node.query("status")
    return result


async def until(predicate: Callable[[], Awaitable[bool]], timeout: float, what: str) -> None:
    """Re-checks a condition spread over node processes (nothing to subscribe to across them)."""
    try:
        async with asyncio.timeout(timeout):
            while not await predicate():  # noqa: ASYNC110
                await asyncio.sleep(0.1)
    except TimeoutError:
        raise AssertionError(f"timed out after {timeout:g} s waiting for {what}") from None


def git(*args: str, cwd: Path) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, check=True, capture_output=True, text=True
    ).stdout


def push_as_anyone(remote: Path, work: Path, change: Callable[[Path], None]) -> None:
    """Clones the coordination branch, applies ``change`` to the work tree, commits and pushes
    with plain git (retrying when a node's push lands first)."""
    git("clone", "--quiet", "--branch", BRANCH, str(remote), str(work), cwd=work.parent)
    change(work)
    git("add", "-A", cwd=work)
    git("-c", "user.name=mallory", "-c", "user.email=m@localhost", "commit", "-qm", "forged",
        cwd=work)  # fmt: skip
    for _ in range(20):
        done = subprocess.run(["git", "push", "-q", "origin", BRANCH], cwd=work, check=False)
        if done.returncode == 0:
            return
        git("pull", "--quiet", "--rebase", "origin", BRANCH, cwd=work)
    raise AssertionError("could not push to the coordination branch")
