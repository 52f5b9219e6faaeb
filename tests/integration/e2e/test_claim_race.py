"""The README's idiom under concurrency: eight node processes claim one task at the same instant,
round after round, and exactly one is told it won (docs/claims.md); the mesh decides, and git
later names the same winner. Requests are released together by a barrier, through the control
API and through the CLI."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from ifmesh.node.cli.room import LocalRoom
from ifmesh.node.errors import IfmeshError
from tests.conftest import require_tool
from tests.integration.e2e.support import board, ifmesh, tasks, until

pytestmark = [pytest.mark.integration, pytest.mark.timeout(400)]
SESSIONS = 8
ROUNDS = 50  # through the control API
CLI_ROUNDS = 5  # through the CLI, process start included (~2 s a round on 2 cores)
HEADER = (
    "# Race board\n\n| ID | Task | Status | Owner | Dependencies | Deliverable | Est | Model |\n"
    "|----|------|--------|-------|--------------|-------------|-----|-------|\n"
)


def race_board(directory: Path) -> Path:
    rows = [f"| R.{n} | Race {n} | 🔵 AVAILABLE | - | None | `r{n}.md` | 1h | Haiku |\n"
            for n in range(1, ROUNDS + CLI_ROUNDS + 1)]  # fmt: skip
    path = directory / "race.md"
    path.write_text(HEADER + "".join(rows), encoding="utf-8")
    return path


async def test_of_eight_sessions_racing_for_a_task_exactly_one_is_told_it_won(
    tmp_path: Path,
) -> None:
    require_tool("git")
    async with LocalRoom(
        tmp_path, sessions=SESSIONS, fetch_interval_seconds=1, board=race_board(tmp_path)
    ) as room:
        await room.wait_mesh(timeout=300)
        sessions = list(room.members)
        told: dict[str, str] = {}  # task → the session told it won
        deciders: list[str] = []
        for round_ in range(1, ROUNDS + 1):
            task = f"R.{round_}"
            barrier = asyncio.Barrier(len(sessions))  # all released at once, none left behind

            async def claim(session: str, task: str = task, barrier: Any = barrier) -> str | None:
                async with room.client(session) as node:
                    await barrier.wait()
                    try:
                        result = await node.call("claim", {"task": task}, timeout=120)
                    except IfmeshError as exc:
                        assert exc.code in {"claim_lost", "already_claimed"}, exc
                        return None
                    deciders.append(result["decided_by"])
                    return session

            winners = [w for w in await asyncio.gather(*map(claim, sessions)) if w is not None]
            assert len(winners) == 1, f"round {round_}: {winners} were all told they won"
            told[task] = winners[0]

        # The same through the CLI, processes started together.
        for round_ in range(ROUNDS + 1, ROUNDS + CLI_ROUNDS + 1):
            task = f"R.{round_}"
            results = await asyncio.gather(*(ifmesh(room, s, "claim", task) for s in sessions))
            codes = [code for code, _ in results]
            assert codes.count(0) == 1, results
            assert all(c == 1 for c in codes if c != 0), results
            told[task] = sessions[codes.index(0)]

        # With every member connected and caught up, the mesh decided (git only as fallback).
        assert deciders.count("mesh") >= ROUNDS // 2, deciders
        # Git's first confirm record names the session the mesh told, on every task.
        watcher = sessions[0]
        seen: dict[str, dict[str, Any]] = {}

        async def all_confirmed() -> bool:
            seen.update(tasks(await board(room, watcher)))
            return all(seen[t]["confirmed"] for t in told)

        await until(room, all_confirmed, 120, "git to confirm every race", watch=watcher)
        assert {t: seen[t]["owner"] for t in told} == told
