"""Path reservations are decided like claims (docs/agents.md, "Path reservations"): three node
processes, each holding its own task; round after round two of them reserve overlapping
exclusive patterns at the same instant, released together by a barrier through the control
API. Exactly one is told "reserved" each round, and git — read from the bare remote alone,
through the reservation ledger — keeps the records of exactly the sessions told so.

The last rounds race globs that overlap only through a file git tracks (``src/*.py`` and
``src/a*``, over ``src/a.py``), each command sent from a real working tree: one that tracks
the file for both sessions, then one for one session and a tree without it for the other
(the event of the one whose tree tracks it carries it as a witness)."""

from __future__ import annotations

import asyncio
import subprocess
from datetime import datetime
from itertools import cycle
from pathlib import Path

import pytest

from ifmesh.node.board.formats.status import StatusFile
from ifmesh.node.cli.room import BRANCH, LocalRoom, session_list
from ifmesh.node.errors import IfmeshError
from ifmesh.node.gitsync.confirm import ConfirmLedger, records_in
from ifmesh.node.gitsync.paths import session_of_status
from ifmesh.node.gitsync.reservation_ledger import ReservationLedger, conflicting
from ifmesh.node.gitsync.statusfiles import read_status
from tests.conftest import require_tool
from tests.integration.e2e.support import until

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]
ROUNDS = 20
TRACKED_ROUNDS = ("src", "lib", "app", "pkg")  # src/*.py against src/a*, and so on
BOARD = (
    "# Reservation race\n\n"
    "| ID | Task | Status | Owner | Dependencies | Deliverable | Est | Model |\n"
    "|----|------|--------|-------|--------------|-------------|-----|-------|\n"
    + "".join(f"| W.{n} | Work {n} | 🔵 AVAILABLE | - | None | `w{n}.md` | 1h | Haiku |\n"
              for n in (1, 2, 3))
)  # fmt: skip


def git(remote: Path, *args: str) -> str:
    done = subprocess.run(["git", "--git-dir", str(remote), *args], capture_output=True,
                          text=True, timeout=60, check=True)  # fmt: skip
    return done.stdout


def working_tree(path: Path, files: list[str]) -> Path:
    """A git working tree tracking ``files`` (in the index: what `git ls-files` lists)."""
    for name in files:
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        (path / name).write_text("x\n", encoding="utf-8")
    subprocess.run(["git", "init", "-q", str(path)], check=True, timeout=60)
    subprocess.run(["git", "-C", str(path), "add", "."], check=True, timeout=60)
    return path


def ledger_of(remote: Path) -> ReservationLedger:
    """The branch's reservation records judged from git alone, commit by commit."""
    confirms, reservations = ConfirmLedger(), ReservationLedger()
    log = git(remote, "log", "--first-parent", "--reverse", "--format=%H %cI", BRANCH)
    for line in log.splitlines():
        sha, committed = line.split(" ", 1)
        changed = git(remote, "diff-tree", "--no-commit-id", "--name-only", "-r", "--root",
                      "-m", "--first-parent", sha)  # fmt: skip
        files: list[tuple[str, StatusFile]] = []
        for path in changed.split():
            if session_of_status(path) is not None:
                shown = subprocess.run(["git", "--git-dir", str(remote), "show", f"{sha}:{path}"],
                                       capture_output=True, timeout=60)  # fmt: skip
                if shown.returncode == 0:
                    files.append((path, read_status(shown.stdout, path, sha)))
        won = confirms.apply(records_in(sha, files))
        reservations.apply(sha, datetime.fromisoformat(committed), files, won)
    return reservations


async def test_of_two_sessions_reserving_overlapping_paths_at_once_exactly_one_is_told(
    tmp_path: Path,
) -> None:
    require_tool("git")
    board = tmp_path / "board.md"
    board.write_text(BOARD, encoding="utf-8")
    tracking = working_tree(tmp_path / "tracking", [f"{d}/{f}" for d in TRACKED_ROUNDS
                                                    for f in ("a.py", "b.py")])  # fmt: skip
    lacking = working_tree(tmp_path / "lacking", [f"{d}/b.py" for d in TRACKED_ROUNDS])
    running = [session for session, _ in session_list(3)]  # no STATUS of sessions without a node
    async with LocalRoom(
        tmp_path, sessions=3, fetch_interval_seconds=1, board=board, status_sessions=running
    ) as room:
        await room.wait_mesh(timeout=120)
        sessions = sorted(room.members)
        holds = {s: f"W.{n}" for n, s in enumerate(sessions, start=1)}
        for session, task in holds.items():
            async with room.client(session) as node:
                assert (await node.call("claim", {"task": task}, timeout=90))["won"]

        told: dict[int, tuple[str, str]] = {}  # round → (session told "reserved", its pattern)
        refused: dict[int, tuple[str, str]] = {}
        decided_by: list[str] = []
        lost_over: list[str] = []  # what each loser's reservation_conflict names
        pairs = cycle([(a, b) for i, a in enumerate(sessions) for b in sessions[i + 1 :]])

        async def race(round_: int, wanted: dict[str, str], trees: dict[str, Path]) -> None:
            barrier = asyncio.Barrier(2)

            async def reserve(session: str, pattern: str) -> bool:
                async with room.client(session) as node:
                    await barrier.wait()
                    body = {"task": holds[session], "patterns": [pattern]}
                    if session in trees:
                        body["cwd"] = str(trees[session])
                    try:
                        result = await node.call("reserve", body, timeout=90)
                    except IfmeshError as exc:
                        assert exc.code == "reservation_conflict", exc
                        lost_over.append(str(exc))
                        return False
                    decided_by.append(f"{result['decided_by']} {result.get('why_git', '')}")
                    return True

            outcome = await asyncio.gather(*(reserve(s, p) for s, p in wanted.items()))
            winners = [(s, p) for (s, p), won in zip(wanted.items(), outcome, strict=True) if won]
            assert len(winners) == 1, f"round {round_}: {wanted} → {outcome}"
            told[round_] = winners[0]
            refused[round_] = next((s, p) for s, p in wanted.items() if (s, p) != winners[0])

        for round_ in range(1, ROUNDS + 1):
            # A directory and a file inside it, or one file: every pair overlaps by the rule.
            wanted = dict(zip(next(pairs), (f"r{round_}/", f"r{round_}/notes.md"), strict=True))
            if round_ % 2:
                wanted = dict.fromkeys(wanted, f"r{round_}/same.md")
            await race(round_, wanted, {})
        for number, directory in enumerate(TRACKED_ROUNDS, start=ROUNDS + 1):
            # Two globs no path can be derived from; src/a.py, tracked, lies under both.
            one, two = next(pairs)
            wanted = {one: f"{directory}/*.py", two: f"{directory}/a*"}
            first_trees = number - ROUNDS <= 2  # both in the tracking tree, then one each
            trees = {one: tracking, two: tracking if first_trees else lacking}
            if number % 2:
                trees = {one: trees[two], two: trees[one]}
            del lost_over[:]
            await race(number, wanted, trees)
            assert [f"{directory}/a.py is reserved by" in why for why in lost_over] == [True]

        # Members connected and caught up: the mesh decided (git only as a fallback).
        assert sum(by.startswith("mesh") for by in decided_by) >= ROUNDS // 2, decided_by
        assert room.remote is not None
        remote = room.remote
        expected = {(s, holds[s], p) for s, p in told.values()}

        async def git_agrees() -> bool:
            ledger = await asyncio.to_thread(ledger_of, remote)
            standing = {(r.session, r.entry.task, r.entry.pattern) for r in ledger.standing()}
            return expected <= standing

        await until(room, git_agrees, 60, "git to hold every reservation told", watch=sessions[0])
        ledger = await asyncio.to_thread(ledger_of, remote)
        standing = ledger.standing()
        for session, pattern in refused.values():  # a loser's record, if any, never stood
            assert (session, holds[session], pattern) not in {
                (r.session, r.entry.task, r.entry.pattern) for r in standing
            }
        for i, later in enumerate(standing):  # and no two standing records conflict
            for earlier in standing[:i]:
                assert conflicting(later.entry, later.session, earlier) is None or (
                    conflicting(earlier.entry, earlier.session, later) is None
                )
