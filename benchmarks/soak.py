"""A bounded soak (issue 22 §4, `make soak`; not part of `make test`): 8 node processes and 2
signaling instances sharing the room through one redis-server (benchmarks/_redis_room.py),
for --minutes (15 by default). A driver claims, reports progress and completes continuously;
every 30 s one random node or signaling instance is stopped — kill -9 or SIGTERM, alternately
— and started again.

Reported at the end, once every node is up and the room is quiet: events lost (every node's
events against the union, and against what each session emitted), double owners ("won"
answers git contradicts, or two for one (task, epoch)), RSS and open fds per node at the start
and the end (and a third of the way in, once the bounded caches are full; the fds by kind at
the end: sockets, pipes, files), the git bridge's pending commits (the backlog must drain),
and how long each node took to exit after SIGTERM (at most 5 s each).

``--pregrown N``: the room starts from logs pre-grown to N events per session (issue 22, long
sessions: 20,000 is a Phase-0 day), each session's node resuming its own log with its own key
(benchmarks/_pregrown.py). Every start and restart then reads and verifies the day first.
``make soak`` passes ``--pregrown 20000`` (``PREGROWN=0`` for empty logs, where a node's growth
is mostly the room's history and its bounded caches filling from nothing: docs/scaling.md).

Run: .venv/bin/python benchmarks/soak.py [--minutes 15] [--pregrown 20000] [--keep DIR]
(last line: JSON)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import signal
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks._boards import available_board  # noqa: E402
from benchmarks._figures import progress, work_directory  # noqa: E402
from benchmarks._pregrown import day_files, place_key  # noqa: E402
from benchmarks._redis_room import (  # noqa: E402
    RedisRoom,
    fd_kinds,
    open_fds,
    rss_mb,
    start_redis,
)
from ifmesh.node.cli.room import session_list  # noqa: E402
from ifmesh.node.errors import IfmeshError  # noqa: E402
from ifmesh.node.identity.keys import SessionKey  # noqa: E402
from tests.integration.faults.observe import folds, git_winners, missing, union  # noqa: E402

NODES, INSTANCES = 8, 2
STEPS_PER_SECOND = 4.0  # claim, report 50 %, complete: 12 events a second in the room
FAULT_EVERY = 30.0
SEED = 22


def board(directory: Path, count: int) -> Path:
    return available_board(directory / "soak-board.md", "Soak board", "K", count)


class Driver:
    """Claims a fresh task from a random running node, reports 50 %, completes it."""

    def __init__(self, room: RedisRoom) -> None:
        self.room = room
        self.rng = random.Random(SEED)
        self.task = 0
        self.won: list[tuple[str, int, str]] = []  # (task, epoch, session) told won
        self.errors: dict[str, int] = {}

    async def step(self) -> None:
        """One task, at most STEPS_PER_SECOND of them: agents work far slower, and a driver
        that spun on failures (a node restarting, signaling down) used up the board's 20,000
        tasks in three minutes and measured its own loop instead of the room."""
        began = time.monotonic()
        try:
            await self._task()
        finally:
            await asyncio.sleep(max(0.0, 1 / STEPS_PER_SECOND - (time.monotonic() - began)))

    async def _task(self) -> None:
        running = [s for s, m in self.room.members.items() if m.running]
        session = self.rng.choice(running)
        self.task += 1
        task = f"K.{self.task}"
        try:
            async with self.room.client(session) as node:
                result = await node.call("claim", {"task": task, "timeout": 30}, timeout=60)
                self.won.append((task, result["epoch"], session))
                await node.call("progress", {"task": task, "percent": 50, "milestone": "half"})
                await node.call("complete", {"task": task, "tests_pass": True})
        except (IfmeshError, OSError) as exc:
            code = getattr(exc, "code", type(exc).__name__)
            self.errors[code] = self.errors.get(code, 0) + 1


def per_node(room: RedisRoom, kinds: bool = False) -> dict[str, dict[str, Any]]:
    """RSS and open fds of every node; ``kinds``: the fds by kind too (at the end)."""
    result: dict[str, dict[str, Any]] = {}
    for session, member in room.members.items():
        pid = member.process.pid if member.process else 0
        result[session] = {"rss_mb": rss_mb(pid), "fds": open_fds(pid)}
        if kinds:
            result[session]["fd_kinds"] = fd_kinds(pid)
    return result


async def run(minutes: float, directory: Path, pregrown: int = 0) -> dict[str, Any]:
    rng = random.Random(SEED)
    figures: dict[str, Any] = {"minutes": minutes, "nodes": NODES, "instances": INSTANCES,
                               "pregrown_events_per_session": pregrown}  # fmt: skip
    files: dict[str, bytes] = {}
    keys: dict[str, SessionKey] = {}
    if pregrown:
        began = time.perf_counter()
        files, keys = day_files(pregrown, [s for s, _ in session_list(NODES)])
        progress(f"soak: {NODES} logs of {pregrown} signed events in "
                 f"{time.perf_counter() - began:.0f} s")  # fmt: skip
    # A node resuming a day's log reads and verifies it all first: minutes on 2 cores.
    start_timeout = 120.0 if not pregrown else 900.0
    redis, port = start_redis(directory)
    faults: list[str] = []
    exits: list[float] = []
    try:
        # A budget no soak spends: with the default (100), the governor refused 2,564 of 2,972
        # claims as budget_exhausted, and the soak drove refusals instead of claims.
        room = RedisRoom(directory, sessions=NODES, instances=INSTANCES, fetch_interval_seconds=2,
                         board=board(directory, 20000), status_sessions=(),
                         redis_url=f"redis://127.0.0.1:{port}/0", files=files,
                         start_timeout=start_timeout,
                         extra_args=("--budget", "1000000000"))  # fmt: skip
        for session, key in keys.items():  # each node resumes its log: its key, kept on restarts
            place_key(room.state_root, session, key)
        async with room:
            await room.wait_mesh(timeout=max(300, start_timeout))
            driver = Driver(room)
            await asyncio.sleep(5)
            start = per_node(room)
            began = time.monotonic()
            next_fault, hard = began + FAULT_EVERY, True
            # A second sample a third of the way in, once the bounded caches (git objects,
            # decoded events, checkpoints) are full: what grows after it grows with history.
            warm: dict[str, Any] | None = None
            while time.monotonic() - began < minutes * 60:
                await driver.step()
                if warm is None and time.monotonic() - began >= minutes * 20:
                    warm = per_node(room)
                if time.monotonic() < next_fault:
                    continue
                next_fault += FAULT_EVERY
                how = signal.SIGKILL if hard else signal.SIGTERM
                hard = not hard
                if rng.random() < 0.25:
                    index = rng.randrange(INSTANCES)
                    room.kill_instance(index, how)
                    await room.start_instance(index)
                    faults.append(f"signaling {index} {how.name}")
                else:
                    session = rng.choice(list(room.members))
                    process = room.members[session].process
                    assert process is not None
                    stopped = time.monotonic()
                    process.send_signal(how)
                    await asyncio.to_thread(process.wait, 60)
                    if how is signal.SIGTERM:
                        exits.append(round(time.monotonic() - stopped, 2))
                    room.start_node(session)
                    await room.wait_control(session, start_timeout)
                    faults.append(f"{session} {how.name}")
                progress(f"  {faults[-1]} at {time.monotonic() - began:.0f} s, "
                         f"{driver.task} tasks so far")  # fmt: skip
            await room.wait_mesh(timeout=max(300, start_timeout))
            sessions = list(room.members)
            quiet = False
            for _ in range(240):
                snapshot = await folds(room, sessions)
                first = snapshot[0]
                if not any(f.pending_commits for f in snapshot) and all(
                    f.frontier == first.frontier and f.digest == first.digest for f in snapshot
                ):
                    quiet = True
                    break
                await asyncio.sleep(0.5)
            snapshot = await folds(room, sessions)
            everything = union(f.frontier for f in snapshot)
            end = per_node(room, kinds=True)
            assert room.remote is not None
            git = git_winners(room.remote)
            told: dict[tuple[str, int], set[str]] = {}
            for task, epoch, session in driver.won:
                told.setdefault((task, epoch), set()).add(session)
            double = [k for k, who in told.items() if len(who) > 1 or git.get(k) not in who]
            figures |= {
                "tasks_driven": driver.task,
                "claims_won": len(driver.won),
                "driver_errors": driver.errors,
                "faults": faults,
                "events_lost": sum(missing(f.frontier, everything) for f in snapshot),
                "own_events_missing": sum(
                    max(0, f.seq - everything.get(f.session, 0)) for f in snapshot
                ),
                "union_events": sum(everything.values()),
                "double_owners": len(double),
                "double_owner_details": [
                    {"task": k[0], "epoch": k[1], "told_won": sorted(told[k]), "git": git.get(k)}
                    for k in double
                ],
                "quiet_and_identical_at_end": quiet,
                "git_pending_commits_end": {f.session: f.pending_commits for f in snapshot},
                "sigterm_exit_s": exits,
                "per_node_start": start,
                "per_node_warm": warm,
                "per_node_end": end,
            }
            figures["rss_growth_max_percent"] = _growth(start, end, "rss_mb")
            figures["rss_growth_from_warm_max_percent"] = _growth(warm or start, end, "rss_mb")
            figures["fds_growth_max_percent"] = _growth(start, end, "fds")
    finally:
        redis.terminate()
        redis.wait(10)
    return figures


def _growth(start: dict[str, Any], end: dict[str, Any], key: str) -> float | None:
    ratios = [
        (end[s][key] - start[s][key]) / start[s][key] * 100
        for s in start
        if start[s][key] and end.get(s, {}).get(key) is not None
    ]
    return round(max(ratios), 1) if ratios else None


def checks(figures: dict[str, Any]) -> list[dict[str, Any]]:
    def check(name: str, value: Any, unit: str, target: float) -> dict[str, Any]:
        met = value is not None and value <= target
        return {"name": name, "value": value, "unit": unit, "op": "<=", "target": target,
                "met": met}  # fmt: skip

    exits = figures["sigterm_exit_s"]
    pending = sum(figures["git_pending_commits_end"].values())
    return [
        check(
            "soak: events lost", figures["events_lost"] + figures["own_events_missing"], "events", 0
        ),
        check("soak: double owners", figures["double_owners"], "tasks", 0),
        check("soak: RSS growth per node (%)", figures["rss_growth_max_percent"], "%", 10),
        check("soak: open fds growth per node (%)", figures["fds_growth_max_percent"], "%", 10),
        check("soak: git backlog at the end (commits)", pending, "commits", 0),
        check("soak: exit after SIGTERM (s)", max(exits) if exits else None, "s", 5),
    ]


async def main() -> None:
    parser = argparse.ArgumentParser(description="a bounded soak (issue 22 §4)")
    parser.add_argument("--minutes", type=float, default=15.0)
    parser.add_argument("--pregrown", type=int, default=0, metavar="EVENTS",
                        help="logs pre-grown to EVENTS per session (a day: 20000)")  # fmt: skip
    parser.add_argument("--keep", type=Path, help="keep the room's files and logs here")
    arguments = parser.parse_args()
    with work_directory(arguments.keep, "soak") as directory:
        figures = await run(arguments.minutes, directory, arguments.pregrown)
    summary = {k: v for k, v in figures.items() if not k.startswith("per_node")}
    progress(json.dumps(summary))
    print(json.dumps({"benchmark": "soak", "figures": figures, "checks": checks(figures)}))


if __name__ == "__main__":
    asyncio.run(main())
