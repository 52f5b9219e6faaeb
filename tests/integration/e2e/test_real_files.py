"""End to end with files as sessions really write them: a session without a node reporting
through its STATUS file on its own branch, and a room that starts on a messy board and messy
STATUS files (tests/integration/e2e/messy/), then claims. Real node processes, a signaling
server and a bare git remote, as in test_room.py."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from ifmesh.node.cli.room import BRANCH, LocalRoom
from tests.conftest import require_tool
from tests.integration.e2e.support import board, board_without_absent_owners, ifmesh, tasks, until

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]
MESSY = Path(__file__).with_name("messy")
WEBRTC = "session-2-webrtc"


def git(*args: str, cwd: Path) -> str:
    done = subprocess.run(
        ["git", "-c", "user.name=ndi", "-c", "user.email=ndi@localhost", *args],
        cwd=cwd, capture_output=True, timeout=60, check=True,
    )  # fmt: skip
    return done.stdout.decode()  # bytes as git has them: CRLF stays CRLF


class SessionWithoutNode:
    """Session 1 as the Phase-0 instructions run it: a clone, its own branch, a STATUS file."""

    def __init__(self, remote: Path, work: Path) -> None:
        self.work = work
        git("clone", "--quiet", "-b", BRANCH, str(remote), str(work), cwd=work.parent)
        git("checkout", "--quiet", "-b", "claude/ndi-work", cwd=work)

    def report(self, message: str, **fields: str) -> None:
        stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        lines = ["session: session-1-ndi", *(f"{k}: {v}" for k, v in fields.items())]
        lines += [f"timestamp: {stamp}", "branch: claude/ndi-work"]
        (self.work / "STATUS-SESSION-1-NDI.yaml").write_text("\n".join(lines) + "\n")
        git("add", "STATUS-SESSION-1-NDI.yaml", cwd=self.work)
        git("commit", "--quiet", "-m", message, cwd=self.work)
        git("push", "--quiet", "origin", "claude/ndi-work", cwd=self.work)


async def test_a_session_without_a_node_takes_part_under_the_default_policy(
    tmp_path: Path,
) -> None:
    require_tool("git")
    async with LocalRoom(
        tmp_path, sessions=1, fetch_interval_seconds=0.5,
        board=board_without_absent_owners(tmp_path),
        extra_args=("--status-branches", "claude/*"),
    ) as room:  # fmt: skip
        assert room.remote is not None
        ndi = SessionWithoutNode(room.remote, tmp_path / "ndi")

        async def task(task_id: str) -> dict[str, Any]:
            return tasks(await board(room, WEBRTC))[task_id]

        async def shows(check: Any, what: str) -> None:
            async def holds() -> bool:
                return bool(check(await task("P0.1.4")))

            await until(room, holds, 90, what, watch=WEBRTC)

        ndi.report("claim: P0.1.4", claiming="P0.1.4", milestone='"0% - Starting task"')
        await shows(lambda t: t["status"] == "CLAIMED" and t["owner"] == "session-1-ndi", "claim")
        ndi.report("progress", current_task="P0.1.4", milestone='"50% - Detector wired"')
        await shows(lambda t: t["percent"] == 50 and t["milestone"] == "Detector wired", "50 %")
        ndi.report("blocked", current_task="P0.1.4", blocked_on="P0.2.6", next_action="waiting")

        async def blocked() -> bool:
            found = (await board(room, WEBRTC))["blockers"]
            return any(b["session"] == "session-1-ndi" and b["task"] == "P0.1.4" for b in found)

        await until(room, blocked, 90, "the blocker", watch=WEBRTC)
        ndi.report(
            "complete: P0.1.4", completed="P0.1.4", milestone='"100% - Complete"',
            deliverable="src/blockers.py", tests_pass="true",
        )  # fmt: skip
        await shows(lambda t: t["status"] == "COMPLETED" and t["owner"] == "session-1-ndi", "done")
        # Reported completed at the end, never claimed: COMPLETED all the same, and said so.
        ndi.report("catch up", tasks_completed="[P0.1.4, P0.3.4]")

        async def caught_up() -> bool:
            return (await task("P0.3.4"))["status"] == "COMPLETED"

        await until(room, caught_up, 90, "the unclaimed completion", watch=WEBRTC)
        code, status = await ifmesh(room, WEBRTC, "status")
        assert code == 0
        assert status["completed_without_claim"] == ["P0.3.4"]
        refused = [r for r in status["refusals"]["recent"] if r["source"] == "session-1-ndi"]
        assert refused == [], refused

        # A claim the board must refuse (P0.1.5 waits on P0.1.3) is never silent.
        ndi.report("claim: P0.1.5", claiming="P0.1.5", milestone='"0% - Starting task"')

        async def refusal_shown() -> bool:
            code, status = await ifmesh(room, WEBRTC, "status")
            recent = status["refusals"]["recent"] if code == 0 else []
            return any(r["source"] == "session-1-ndi" and r["task"] == "P0.1.5" for r in recent)

        await until(room, refusal_shown, 90, "the refusal in `ifmesh status`", watch=WEBRTC)
        code, status = await ifmesh(room, WEBRTC, "status")
        [refusal] = [r for r in status["refusals"]["recent"] if r["task"] == "P0.1.5"]
        assert refusal["code"] == "dependencies_not_completed" and "P0.1.3" in refusal["reason"]
        assert (await task("P0.1.5"))["status"] == "BLOCKED"
        url = room.endpoint(WEBRTC).url + "/metrics"
        async with aiohttp.ClientSession() as http, http.get(url) as response:
            page = await response.text()
        assert 'ifmesh_events_refused_total{code="dependencies_not_completed"} 1.0' in page


async def test_a_room_starts_on_messy_files_and_a_claim_reaches_git(tmp_path: Path) -> None:
    require_tool("git")
    files = {p.name: p.read_bytes() for p in MESSY.glob("STATUS-*.yaml")}
    async with LocalRoom(
        tmp_path, sessions=2, fetch_interval_seconds=1, board=MESSY / "PHASE-0-TASK-BOARD.md",
        files=files, status_sessions=(),
    ) as room:  # fmt: skip
        await room.wait_mesh(timeout=150)
        assert room.remote is not None
        code, status = await ifmesh(room, WEBRTC, "status")
        assert code == 0
        where = {p["where"] for p in status["read_problems"]}
        assert "PHASE-0-TASK-BOARD.md:43" in where  # the manual dependency
        assert "PHASE-0-TASK-BOARD.md:45" in where  # the duplicate row, left out
        assert "STATUS-SESSION-1-NDI.yaml:9" in where  # YAML broken part-way

        async def same_everywhere() -> bool:
            # Stale claims the old STATUS files imply may be stolen as the nodes come up:
            # the boards agree once every node has folded the same events.
            documents = [tasks(await board(room, s)) for s in room.members]
            return all(d == documents[0] for d in documents[1:])

        await until(room, same_everywhere, 120, "the same board on every node", watch=WEBRTC)
        read = tasks(await board(room, WEBRTC))
        assert read["P0.2.3"]["status"] == "BLOCKED"
        assert read["P0.2.3"]["manual_dependency"] == "Waiting on finance sign-off"
        assert read["P0.5.2"]["warnings"] and read["P0.1.2"]["status"] == "COMPLETED"
        assert "TBD" not in read

        code, claimed = await ifmesh(room, WEBRTC, "claim", "P0.2.1", "--confirmed")
        assert code == 0, claimed
        branch = git("show", f"{BRANCH}:STATUS-SESSION-2.yaml", cwd=room.remote)
        assert "claiming: P0.2.1" in branch and "session: session-2-webrtc" in branch
        listing = git("ls-tree", "--name-only", BRANCH, cwd=room.remote).split()
        assert "STATUS-SESSION-2-WEBRTC.yaml" not in listing, "one file per session, never two"

        def rows() -> tuple[list[str], list[str]]:
            before = (MESSY / "PHASE-0-TASK-BOARD.md").read_bytes().decode().splitlines(True)
            after = git("show", f"{BRANCH}:PHASE-0-TASK-BOARD.md", cwd=room.remote)
            return before, after.splitlines(True)

        async def rendered() -> bool:
            return any("P0.2.1" in line and WEBRTC in line for line in rows()[1])

        await until(room, rendered, 120, "the scribe's board", watch=WEBRTC)
        before, after = rows()
        assert len(before) == len(after)
        [(old, new)] = [
            (line, new) for line, new in zip(before, after, strict=True)
            if line.startswith("| Haiku | P0.2.1 ")
        ]  # fmt: skip
        assert new.endswith("\r\n") and "🟡 CLAIMED" in new and f"| {WEBRTC} |" in new
        same = [c for c in range(len(old.split("|"))) if c not in (5, 6)]  # State, Assignee
        assert [old.split("|")[c] for c in same] == [new.split("|")[c] for c in same]
        # Rows whose meaning did not change keep their bytes, however they were written.
        for line in before:
            if line.startswith(("| P0.1.1 ", "| P0.1.2 ", "| P0.2.3 ", "\ufeff")):
                assert line in after, line
