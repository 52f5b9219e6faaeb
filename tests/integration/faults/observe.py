"""Reading a room from outside, for the fault tests and benchmarks: every node's event stream,
what each node has folded (``status.fold``), and git's own verdicts read from the remote.

Git's verdicts are computed here from the bare remote alone, with the product's pure ledger
(node/gitsync/confirm.py: the first confirm record per (task, epoch) in first-parent history),
so a check "nobody was told won for a (task, epoch) git gave to another" does not trust the
nodes it checks.
"""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ifmesh.node.board.formats.status import parse_status
from ifmesh.node.cli.room import BRANCH, LocalRoom
from ifmesh.node.errors import IfmeshError
from ifmesh.node.gitsync.confirm import ConfirmLedger, records_in

Frontier = dict[str, int]


def _git(remote: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "--git-dir", str(remote), *args],
        capture_output=True, text=True, check=True, timeout=60,
    ).stdout  # fmt: skip


def git_winners(remote: Path, branch: str = BRANCH) -> dict[tuple[str, int], str]:
    """(task, epoch) → the session whose confirm record came first on ``branch``."""
    ledger = ConfirmLedger()
    for commit in _git(remote, "rev-list", "--first-parent", "--reverse", branch).split():
        changed = _git(remote, "diff-tree", "--root", "--no-commit-id", "--name-only", "-r",
                       "-m", "--first-parent", commit).split()  # fmt: skip
        files = []
        for path in changed:
            if path.startswith("STATUS-") and path.endswith(".yaml"):
                with contextlib.suppress(subprocess.CalledProcessError):  # deleted in it
                    text = _git(remote, "show", f"{commit}:{path}")
                    files.append((path, parse_status(text, path)))
        ledger.apply(records_in(commit, files))
    return {key: record.session for key, record in ledger.winners().items()}


@dataclass
class Streams:
    """Every node's event stream, kept from subscription on: (monotonic time, line)."""

    room: LocalRoom
    lines: dict[str, list[tuple[float, dict[str, Any]]]] = field(default_factory=dict)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)

    async def start(self, sessions: Iterable[str]) -> None:
        subscribed = []
        for session in sessions:
            ready = asyncio.Event()
            self.lines[session] = []
            self._tasks.append(asyncio.create_task(self._follow(session, ready)))
            subscribed.append(ready)
        async with asyncio.timeout(60):
            await asyncio.gather(*(r.wait() for r in subscribed))

    async def _follow(self, session: str, ready: asyncio.Event) -> None:
        while True:  # a stream cut off (overflow, a restart) is taken up again
            with contextlib.suppress(IfmeshError, OSError):
                async with self.room.client(session) as node:
                    async for line in node.events():
                        ready.set()
                        self.lines[session].append((time.monotonic(), line))
            await asyncio.sleep(0.5)

    def effects(self, session: str, effect: str) -> list[tuple[float, dict[str, Any]]]:
        """``effect`` lines on ``session``'s stream that are for ``session``."""
        return [
            (t, line)
            for t, line in self.lines.get(session, [])
            if line.get("type") == "effect"
            and line.get("effect") == effect
            and line.get("session") == session
        ]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)


@dataclass(frozen=True)
class Fold:
    session: str
    events: int
    frontier: Frontier
    digest: str
    seq: int
    pending_commits: int


async def folds(room: LocalRoom, sessions: Iterable[str]) -> list[Fold]:
    """Every node's fold at (nearly) one moment: the queries go out together."""

    async def one(session: str) -> Fold:
        async with room.client(session) as node:
            status = await node.query("status")
        fold = status["fold"]
        return Fold(session, fold["events"], dict(fold["frontier"]), fold["board_sha256"],
                    status["seq"], status["git"]["pending_commits"])  # fmt: skip

    return list(await asyncio.gather(*map(one, sessions)))


def union(frontiers: Iterable[Frontier]) -> Frontier:
    result: Frontier = {}
    for frontier in frontiers:
        for source, seq in frontier.items():
            result[source] = max(result.get(source, 0), seq)
    return result


def missing(frontier: Frontier, wanted: Frontier) -> int:
    """How many of the events ``wanted`` names (seqs 1..n per source) ``frontier`` lacks."""
    return sum(max(0, n - frontier.get(source, 0)) for source, n in wanted.items())


def converged(snapshot: list[Fold], at_least: Frontier | None = None) -> bool:
    """Every node holds the same events (and at least ``at_least``) and the same board bytes."""
    first = snapshot[0]
    return all(f.frontier == first.frontier and f.digest == first.digest for f in snapshot) and (
        at_least is None or missing(first.frontier, at_least) == 0
    )


async def until_converged(
    room: LocalRoom, sessions: list[str], timeout: float, at_least: Frontier | None = None
) -> float | None:
    """Seconds until the nodes' folds agree (re-read every 100 ms); None if they never did."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        with contextlib.suppress(IfmeshError, OSError):
            if converged(await folds(room, sessions), at_least):
                return time.monotonic() - start
        await asyncio.sleep(0.1)
    return None
