"""The partition scenario of issue 22 §1, run by test_partition.py (a short cut) and by
benchmarks/faults.py (the issue's 30 s cut).

Six node processes, each in a network namespace of its own, on two sites of three joined by
one trunk link (topology.two_sites). Signaling and git (``git daemon``) listen on site A's
side, so cutting the trunk cuts site B off from site A, from signaling *and* from git: the
partition a site that loses its uplink sees. (With git reachable from both sides, every
contested claim would simply be decided by git at once on both sides; cutting B off from git
also makes B's claims wait for the heal, makes B's holder go stale on A's side, and makes B's
pushes pile up and drain after the heal, which is what must not lose events.)

The scenario, with the lease at LEASE seconds so a takeover fits in the cut:

1. B1 claims H.1 and git confirms it (before the cut).
2. Cut. At once, A and B nodes claim the same tasks C.*, and each side claims tasks of its
   own (V.* on A, U.* on B). A's claims are decided by git during the cut (B's members are
   unreachable); B's wait for git until the heal. Winners report a milestone; the V.* and U.*
   winners complete their task. B1 reports progress on H.1, cut off.
3. When A sees H.1 stale and B1 absent, an A node takes it over (git decides; B1 is fenced).
4. Heal after ``cut_seconds``; measure how long until every node holds the same events, at
   least all those held anywhere at the heal, and byte-identical boards.
5. Wait for every answer, every push, and a quiet room; then compare every node's events with
   the union, everyone told "won" with git's first confirm record, and look for B1's fence.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ifmesh.node.errors import IfmeshError
from tests.integration.faults.netroom import NamespacedRoom, hosts_for
from tests.integration.faults.observe import (
    Streams,
    folds,
    git_winners,
    missing,
    union,
    until_converged,
)
from tests.integration.faults.topology import two_sites

LEASE = 6.0
CONTESTED, OWN = 4, 2
HEADER = (
    "# Partition board\n\n"
    "| ID | Task | Status | Owner | Dependencies | Deliverable | Est | Model |\n"
    "|----|------|--------|-------|--------------|-------------|-----|-------|\n"
)
TASKS = [
    "H.1",
    *(f"C.{n}" for n in range(1, CONTESTED + 1)),
    *(f"V.{n}" for n in range(1, OWN + 1)),
    *(f"U.{n}" for n in range(1, OWN + 1)),
]


def partition_board(directory: Path) -> Path:
    rows = [
        f"| {t} | Task {t} | 🔵 AVAILABLE | - | None | `{t}.md` | 1h | Haiku |\n" for t in TASKS
    ]
    path = directory / "partition-board.md"
    path.write_text(HEADER + "".join(rows), encoding="utf-8")
    return path


@dataclass
class Answer:
    session: str
    site: str
    task: str
    asked: float  # seconds after the cut (negative: before it)
    answered: float
    won: bool
    epoch: int | None = None
    decided_by: str | None = None
    code: str | None = None
    taken_over_from: str | None = None


@dataclass
class PartitionReport:
    cut_seconds: float = 0.0
    answers: list[Answer] = field(default_factory=list)
    git: dict[tuple[str, int], str] = field(default_factory=dict)
    converged_after_heal: float | None = None  # seconds; None: not within the wait
    quiet_converged: bool = False
    lost_events: dict[str, int] = field(default_factory=dict)  # node → events of the union lacked
    union_events: int = 0
    unwritten: dict[str, int] = field(default_factory=dict)  # node → own events not in its fold
    takeover: Answer | None = None
    fenced_told_after_heal: float | None = None  # seconds; None: never told
    fenced_told_as: str | None = None  # the effect that told it: fenced, or lost
    pending_commits: dict[str, int] = field(default_factory=dict)
    # node → task → (owner, epoch, status) on its board at the end
    boards: dict[str, dict[str, tuple[str | None, int, str]]] = field(default_factory=dict)
    refusals: list[dict[str, Any]] = field(default_factory=list)  # the fold's, on one node

    def told_won(self) -> dict[tuple[str, int], list[str]]:
        told: dict[tuple[str, int], list[str]] = {}
        for answer in self.answers:
            if answer.won and answer.epoch is not None:
                told.setdefault((answer.task, answer.epoch), []).append(answer.session)
        return told

    def double_winners(self) -> dict[tuple[str, int], list[str]]:
        return {key: who for key, who in self.told_won().items() if len(set(who)) > 1}

    def told_against_git(self) -> dict[tuple[str, int], tuple[list[str], str | None]]:
        """(task, epoch) whose "won" went to a session git did not name first."""
        return {
            key: (who, self.git.get(key))
            for key, who in self.told_won().items()
            if any(w != self.git.get(key) for w in who)
        }


async def run_partition(
    directory: Path, *, cut_seconds: float, say: Callable[[str], None] = lambda _: None
) -> PartitionReport:
    report = PartitionReport(cut_seconds=cut_seconds)
    directory.mkdir(parents=True, exist_ok=True)  # noqa: ASYNC240  (once, before any I/O)
    with two_sites([3, 3]) as sites:
        hosts = hosts_for(sites.hosts)
        room = NamespacedRoom(
            directory, sessions=6, lease_seconds=LEASE, fetch_interval_seconds=1,
            board=partition_board(directory), status_sessions=(), services=sites.hub,
            hosts=hosts, git_over_network=True,
        )  # fmt: skip
        async with room:
            await room.wait_mesh(timeout=240)
            sessions = list(room.members)
            site = {s: hosts[s].site for s in sessions}
            a_side, b_side = [s for s in sessions if site[s] == "a"], sessions[3:]
            streams = Streams(room)
            await streams.start(sessions)
            try:
                await _scenario(room, sites, streams, report, a_side, b_side, site, say)
            finally:
                await streams.stop()
            report.git = git_winners(room.remote) if room.remote else {}
    return report


async def _call(room: NamespacedRoom, session: str, command: str, body: dict[str, Any],
                timeout: float = 60) -> dict[str, Any]:  # fmt: skip
    async with room.client(session) as node:
        return await node.call(command, body, timeout=timeout)


async def _scenario(
    room: NamespacedRoom, sites: Any, streams: Streams, report: PartitionReport,
    a_side: list[str], b_side: list[str], site: dict[str, str], say: Callable[[str], None],
) -> None:  # fmt: skip
    sessions = a_side + b_side
    holder = b_side[0]
    held = await _call(room, holder, "claim", {"task": "H.1", "confirmed": True}, 120)
    report.answers.append(Answer(holder, "b", "H.1", -1, -1, True, held["epoch"],
                                 held.get("decided_by")))  # fmt: skip
    await _call(room, holder, "progress", {"task": "H.1", "percent": 25, "milestone": "started"})

    claim_timeout = report.cut_seconds + 120  # B's claims wait for git through the cut
    sites.cut()
    cut_at = time.monotonic()
    say(f"cut at {time.strftime('%X')}")
    healed = asyncio.Event()

    async def claim(session: str, task: str, finish: bool) -> None:
        asked = time.monotonic() - cut_at
        body = {"task": task, "timeout": claim_timeout}
        try:
            result = await _call(room, session, "claim", body, claim_timeout + 60)
        except IfmeshError as exc:
            answered = time.monotonic() - cut_at
            report.answers.append(
                Answer(session, site[session], task, asked, answered, False, code=exc.code)
            )
            return
        report.answers.append(Answer(
            session, site[session], task, asked, time.monotonic() - cut_at, True,
            result["epoch"], result.get("decided_by"),
        ))  # fmt: skip
        with contextlib.suppress(IfmeshError):
            await _call(room, session, "progress",
                        {"task": task, "percent": 50, "milestone": f"{task} halfway"})  # fmt: skip
            if finish:
                await _call(room, session, "complete", {"task": task, "tests_pass": True})

    claims = []
    for n in range(1, CONTESTED + 1):
        claims.append(claim(a_side[n % 3], f"C.{n}", False))
        claims.append(claim(b_side[n % 3], f"C.{n}", False))
    for n in range(1, OWN + 1):
        claims.append(claim(a_side[n % 3], f"V.{n}", True))
        claims.append(claim(b_side[n % 3], f"U.{n}", True))
    running = [asyncio.create_task(c) for c in claims]
    with contextlib.suppress(IfmeshError):  # B1 goes on working on H.1, cut off
        await _call(
            room, holder, "progress", {"task": "H.1", "percent": 50, "milestone": "cut off"}
        )

    report.takeover = await _take_over(room, a_side[0], holder, cut_at, report.cut_seconds)
    if report.takeover is not None:
        report.answers.append(report.takeover)

    await asyncio.sleep(max(0.0, report.cut_seconds - (time.monotonic() - cut_at)))
    at_heal = union(f.frontier for f in await folds(room, sessions))
    sites.heal()
    healed_at = time.monotonic()
    healed.set()
    say(f"healed after {healed_at - cut_at:.1f} s")
    report.converged_after_heal = await until_converged(room, sessions, 120, at_heal)
    say(f"boards identical {report.converged_after_heal} s after the heal")

    async with asyncio.timeout(claim_timeout + 90):
        await asyncio.gather(*running)
    # Quiet: every push landed, every node holds every event and the same board bytes.
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        snapshot = await folds(room, sessions)
        report.pending_commits = {f.session: f.pending_commits for f in snapshot}
        if not any(report.pending_commits.values()) and await until_converged(room, sessions, 5):
            report.quiet_converged = True
            break
        await asyncio.sleep(0.5)
    snapshot = await folds(room, sessions)
    everything = union(f.frontier for f in snapshot)
    report.union_events = sum(everything.values())
    report.lost_events = {f.session: missing(f.frontier, everything) for f in snapshot}
    report.unwritten = {f.session: max(0, f.seq - everything.get(f.session, 0)) for f in snapshot}
    for session in sessions:
        async with room.client(session) as node:
            document = await node.query("board")
        report.boards[session] = {
            t["id"]: (t["owner"], t["epoch"], t["status"]) for t in document["tasks"]
        }
        report.refusals = document["refusals"]
    # B1 is told it no longer holds H.1: `fenced` when its fold accepts the steal; `lost` (git
    # tier) when its fold refused the steal (B1's renewals made during the cut are ordered
    # before it) and git's verdict for the new epoch overruled the fold.
    told = sorted(
        (t, kind) for kind in ("fenced", "lost") for t, line in streams.effects(holder, kind)
        if line.get("task_id") == "H.1" and int(line.get("epoch", 0)) > held["epoch"]
    )  # fmt: skip
    if told:
        report.fenced_told_after_heal = told[0][0] - healed_at
        report.fenced_told_as = told[0][1]


async def _take_over(
    room: NamespacedRoom, taker: str, holder: str, cut_at: float, cut_seconds: float
) -> Answer | None:
    """Once ``taker`` is offered H.1 (stale, its holder absent), it claims it: a takeover."""
    while time.monotonic() - cut_at < cut_seconds - 2:
        async with room.client(taker) as node:
            offers = await node.query("next")
        if any(t["id"] == "H.1" and t.get("take_over_from") == holder for t in offers["tasks"]):
            asked = time.monotonic() - cut_at
            try:
                result = await _call(room, taker, "claim", {"task": "H.1", "timeout": 60}, 90)
            except IfmeshError as exc:
                return Answer(taker, "a", "H.1", asked, time.monotonic() - cut_at, False,
                              code=exc.code)  # fmt: skip
            return Answer(taker, "a", "H.1", asked, time.monotonic() - cut_at, True,
                          result["epoch"], result.get("decided_by"),
                          taken_over_from=result.get("taken_over_from", holder))  # fmt: skip
        await asyncio.sleep(0.5)
    return None
