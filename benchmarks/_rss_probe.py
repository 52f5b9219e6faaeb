"""Where a node's RSS goes under the soak's load, quickly (a probe, not a benchmark: no checks).

A LocalRoom of 2-3 real nodes on the soak's 20,000-task board (benchmarks/_boards.py), a driver
that claims, reports 50 % and completes through the control API at the soak's pace (4 tasks a
second, 12 events), and every --every seconds each node's RSS (/proc/PID/status VmRSS) and its
anonymous memory (smaps_rollup) against the events driven.

Each node runs under this script (``--as-node``), which only adds a real-time signal handler to
the ``ifmesh`` process: on SIGRTMIN+3 it writes what the process holds to the room's directory
(glibc's mallinfo2: in use, free in the heap, mmapped; the Python objects by type; with
``PROBE_TRACE=1`` in that node's environment, tracemalloc's top allocation sites, by line and by
file, and the whole snapshot in a ``.snap`` file beside, to diff two dumps with ``compare_to``);
on SIGRTMIN+4 the same, then ``malloc_trim(0)`` and the RSS after it. Nothing of this is in the
product.

Per-node environments (``--env session-2-webrtc:MALLOC_ARENA_MAX=2``) put A/B variants in one
room, so they share the load. ``PROBE_WITHOUT_MMAP_FIX=1`` in one: that node leaves glibc's
mmap threshold dynamic, as before node/runtime/heap.py fixed it (the scribe is the first
session). ``--poll`` adds the `status` and `board` queries a dashboard makes.

``--pregrown N`` starts the nodes on logs of N signed events per session, each resuming its own
(as ``benchmarks/soak.py --pregrown``).

Run: .venv/bin/python benchmarks/_rss_probe.py [--nodes 3] [--minutes 3] [--poll SECONDS]
     [--env SESSION:NAME=VALUE ...] [--pregrown N] [--restart-every S [--restart-signaling]]
     [--keep DIR]
     (last line: JSON)
"""

from __future__ import annotations

import argparse
import asyncio
import ctypes
import json
import os
import random
import signal
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DUMP, DUMP_AND_TRIM = signal.SIGRTMIN + 3, signal.SIGRTMIN + 4
STEPS_PER_SECOND = 4.0


# --- inside a node -------------------------------------------------------------------------


def _status_kb(pid: int | str = "self") -> dict[str, int]:
    found = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(("VmRSS:", "RssAnon:", "RssFile:")):
            found[line.split(":")[0]] = int(line.split()[1])
    return found


def _anonymous_kb(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Anonymous:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


class _Mallinfo2(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_size_t)
        for name in ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks",
                     "uordblks", "fordblks", "keepcost")
    ]  # fmt: skip


def _dump(trim: bool) -> None:
    import gc
    import tracemalloc

    libc = ctypes.CDLL("libc.so.6")
    libc.mallinfo2.restype = _Mallinfo2
    info = libc.mallinfo2()
    report: dict[str, Any] = {
        "pid": os.getpid(),
        "time": time.time(),
        "status_kb": _status_kb(),
        "threads": len(list(Path("/proc/self/task").iterdir())),
        "mallinfo_kb": {
            "heap_in_use": info.uordblks // 1024,  # main arena + others: allocated
            "heap_free": info.fordblks // 1024,  # free chunks still held (fragmentation)
            "heap_total": info.arena // 1024,
            "mmapped": info.hblkhd // 1024,
            "releasable_top": info.keepcost // 1024,
        },
    }
    report["pymalloc_kb"] = _pymalloc_kb()
    gc.collect()
    counts = Counter(type(o).__name__ for o in gc.get_objects())
    report["gc_objects"] = sum(counts.values())
    report["gc_top_types"] = counts.most_common(25)
    report["gc_frozen"] = gc.get_freeze_count()
    report["duplicates"] = _duplicate_messages(gc)
    if os.environ.get("PROBE_CENSUS"):  # a script whose census() sizes the node's parts
        import runpy

        report["census_kb"] = runpy.run_path(os.environ["PROBE_CENSUS"])["census"]()
    if tracemalloc.is_tracing():
        snapshot = tracemalloc.take_snapshot()
        # Whole, for compare_to between two dumps offline: where the growth was allocated.
        dumps, session = Path(os.environ["PROBE_DUMPS"]), os.environ["PROBE_SESSION"]
        snapshot.dump(str(dumps / f"{session}.{time.time():.0f}.snap"))
        current, peak = tracemalloc.get_traced_memory()
        report["traced_kb"] = {"current": current // 1024, "peak_since_last_dump": peak // 1024}
        tracemalloc.reset_peak()
        report["top_traceback"] = [
            [s.size // 1024, s.count, [str(f) for f in s.traceback]]
            for s in snapshot.statistics("traceback")[:15]
        ]
        for key, limit in (("lineno", 30), ("filename", 25)):
            stats = snapshot.statistics(key)[:limit]
            report[f"top_{key}"] = [[str(s.traceback[0]), s.size // 1024, s.count] for s in stats]
    if trim:
        before = _status_kb()["VmRSS"]
        libc.malloc_trim(0)
        report["trim"] = {"rss_before_kb": before, "rss_after_kb": _status_kb()["VmRSS"]}
    target = Path(os.environ["PROBE_DUMPS"]) / f"{os.environ['PROBE_SESSION']}.jsonl"
    with target.open("a") as out:
        out.write(json.dumps(report) + "\n")


def _pymalloc_kb() -> dict[str, int]:
    """Python's small-object allocator: its arenas (1 MB each, given back only when empty)
    against the bytes in blocks in use; the difference is what partly filled arenas hold."""
    import re
    import tempfile

    with tempfile.TemporaryFile() as out:
        saved = os.dup(2)  # _debugmallocstats writes to C's stderr
        os.dup2(out.fileno(), 2)
        try:
            sys._debugmallocstats()
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        out.seek(0)
        text = out.read().decode(errors="replace")
    found: dict[str, int] = {}
    for line in text.splitlines():
        match = re.match(r"^(#?\s*[a-z][^=]*?)\s+=\s+([\d,]+)$", line)
        if match:
            found[match.group(1).strip("# ").strip()] = int(match.group(2).replace(",", ""))
    arenas = found.get("arenas allocated current", 0)
    in_use = found.get("bytes in allocated blocks", 0)
    return {"arenas": arenas * 1024, "in_blocks": in_use // 1024,
            "free_in_arenas": arenas * 1024 - in_use // 1024}  # fmt: skip


def _holders(gc: Any, messages: list[object], by_id: object) -> list[Any]:
    """Who holds the decoded messages: each referrer as its type and length, with the types
    of what holds it in turn, counted over every message."""
    counts: Counter[str] = Counter()
    described: dict[int, str] = {}
    for message in messages:
        for r in gc.get_referrers(message):
            if r is messages or (isinstance(r, list) and r in by_id.values()):  # type: ignore[attr-defined]
                continue
            key = described.get(id(r))
            if key is None:
                up = sorted({type(u).__name__ for u in gc.get_referrers(r)} - {"list", "frame"})
                size = len(r) if hasattr(r, "__len__") else None
                key = f"{type(r).__name__}[{size}] in {','.join(up[:4])}"
                if size is None or size < 8:  # a small holder: describe by kind, not instance
                    key = f"{type(r).__name__} in {','.join(up[:4])}"
                described[id(r)] = key
            counts[key] += 1
    return counts.most_common(12)


def _duplicate_messages(gc: Any) -> dict[str, Any]:
    """Decoded messages held more than once (equal ids, distinct objects), and who holds one
    such pair: the referrers' types, two levels up."""
    by_id: dict[str, list[object]] = {}
    for o in gc.get_objects():
        if type(o).__name__.endswith("Message") and isinstance(getattr(o, "id", None), str):
            by_id.setdefault(o.id, []).append(o)  # type: ignore[attr-defined]
    twice = [objects for objects in by_id.values() if len(objects) > 1]
    found: dict[str, Any] = {"ids": len(by_id), "held_more_than_once": len(twice)}
    found["holders"] = _holders(gc, [objects[0] for objects in by_id.values()], by_id)
    if twice:
        owners = []
        for o in twice[0]:
            level = []
            for r in gc.get_referrers(o):
                if r is twice[0] or r is by_id:
                    continue
                up = [type(u).__name__ for u in gc.get_referrers(r)][:6]
                level.append([type(r).__name__, len(r) if hasattr(r, "__len__") else None, up])
            owners.append(level[:6])
        found["owners_of_one"] = owners
    return found


def as_node(argv: list[str]) -> None:
    """Runs ``ifmesh ARGV`` in this process with the dump handlers installed."""
    import runpy

    if os.environ.get("PROBE_TRACE"):
        import tracemalloc

        tracemalloc.start(int(os.environ["PROBE_TRACE"]))
    if os.environ.get("PROBE_WITHOUT_MMAP_FIX"):  # the "before" of heap.keep_big_buffers_off_heap
        from ifmesh.node.runtime import heap

        heap.keep_big_buffers_off_heap = lambda: False
    signal.signal(DUMP, lambda *_: _dump(trim=False))
    signal.signal(DUMP_AND_TRIM, lambda *_: _dump(trim=True))
    sys.argv = ["ifmesh", *argv]
    runpy.run_module("ifmesh", run_name="__main__", alter_sys=True)


# --- the room ------------------------------------------------------------------------------


async def run(args: argparse.Namespace, directory: Path) -> dict[str, Any]:
    from benchmarks._boards import available_board
    from benchmarks._figures import progress
    from benchmarks._pregrown import day_files, place_key
    from ifmesh.node.cli.room import LocalRoom, session_list
    from ifmesh.node.errors import IfmeshError

    dumps = directory / "dumps"
    dumps.mkdir(parents=True, exist_ok=True)
    extra: dict[str, dict[str, str]] = {}
    for item in args.env:
        session, _, assignment = item.partition(":")
        name, _, value = assignment.partition("=")
        extra.setdefault(session, {})[name] = value

    class ProbedRoom(LocalRoom):
        def node_prefix(self, session: str) -> list[str]:
            variables = {"PROBE_DUMPS": str(dumps), "PROBE_SESSION": session}
            return ["env", *(f"{k}={v}" for k, v in (variables | extra.get(session, {})).items())]

        def _spawn(self, argv: list[str], log_name: str, prefix: Any = ()) -> Any:
            if argv[0] != "node":
                return super()._spawn(argv, log_name, prefix)
            import subprocess

            with (self.directory / log_name).open("ab") as log_file:
                return subprocess.Popen(
                    [*prefix, sys.executable, __file__, "--as-node", *argv], env=self.env,
                    stdout=log_file, stderr=log_file, cwd=self.directory,
                )  # fmt: skip

    board = available_board(directory / "board.md", "Probe board", "K", args.tasks)
    sessions = [s for s, _ in session_list(args.nodes)]
    day = [s for s, _ in session_list(8)]  # the soak's eight sessions' logs, as in a room of 8
    files, keys = day_files(args.pregrown, day) if args.pregrown else ({}, {})
    room = ProbedRoom(directory, sessions=args.nodes, fetch_interval_seconds=2, board=board,
                      status_sessions=(), extra_args=("--budget", "1000000000"), files=files,
                      start_timeout=900.0)  # fmt: skip
    for session in sessions if keys else ():  # as the soak's --pregrown: each resumes its log
        place_key(room.state_root, session, keys[session])
    rng = random.Random(22)
    timeline: list[dict[str, Any]] = []
    state = {"tasks": 0, "won": 0, "errors": 0}

    def sample(label: str) -> dict[str, Any]:
        row: dict[str, Any] = {"t": label, "events_driven": state["won"] * 3}
        for session in sessions:
            member = room.members[session]
            pid = member.process.pid if member.process else 0
            kb = _status_kb(pid)
            row[session] = {"rss_mb": round(kb["VmRSS"] / 1024, 1),
                            "anon_mb": round((_anonymous_kb(pid) or 0) / 1024, 1)}  # fmt: skip
        return row

    async def drive(until: float) -> None:
        while time.monotonic() < until:
            began = time.monotonic()
            state["tasks"] += 1
            task = f"K.{state['tasks']}"
            try:
                async with room.client(rng.choice(sessions)) as node:
                    await node.call("claim", {"task": task, "timeout": 30}, timeout=60)
                    state["won"] += 1
                    await node.call("progress", {"task": task, "percent": 50, "milestone": "h"})
                    await node.call("complete", {"task": task, "tests_pass": True})
            except (IfmeshError, OSError):
                state["errors"] += 1
            await asyncio.sleep(max(0.0, 1 / STEPS_PER_SECOND - (time.monotonic() - began)))

    async def poll(until: float) -> None:
        while args.poll and time.monotonic() < until:
            for session in sessions:
                try:
                    async with room.client(session) as node:
                        await node.query("status")
                        await node.query("board")
                except (IfmeshError, OSError):
                    state["errors"] += 1
            await asyncio.sleep(args.poll)

    def signal_all(signum: int) -> None:
        for session in sessions:
            process = room.members[session].process
            if process is not None:
                process.send_signal(signum)

    async def restart(until: float) -> None:
        """--restart-every: the last node stopped and started again, kill -9 and SIGTERM in
        turn (the soak's faults), so the others' growth across peers' restarts shows."""
        victim, count = sessions[-1], 0
        while args.restart_every and time.monotonic() + args.restart_every < until:
            await asyncio.sleep(args.restart_every)
            count += 1
            state["restarts"] = count
            if args.restart_signaling:  # the signaling server instead (SIGTERM)
                await room.stop_signaling()
                await room.start_signaling()
                continue
            if count % 2:
                room.kill_node(victim)
            else:
                await room.stop_node(victim)
            room.start_node(victim)
            await room.wait_control(victim, timeout=600)

    async with room:
        await room.wait_mesh(timeout=900)
        await asyncio.sleep(5)
        timeline.append(sample("0"))
        signal_all(DUMP)
        began = time.monotonic()
        until = began + args.minutes * 60
        driving = asyncio.gather(drive(until), poll(until), restart(until))
        while time.monotonic() < until:
            await asyncio.sleep(min(args.every, max(0.0, until - time.monotonic())))
            timeline.append(sample(f"{time.monotonic() - began:.0f}"))
            progress(json.dumps(timeline[-1]))
            if args.dump_every_sample:
                signal_all(DUMP)
        await driving
        await asyncio.sleep(5)  # the git bridge's last batch
        timeline.append(sample("end"))
        signal_all(DUMP_AND_TRIM)
        # A traced node's snapshot takes seconds: wait for every node's second dump.
        for _ in range(120):
            await asyncio.sleep(0.5)
            written = [dumps / f"{session}.jsonl" for session in sessions]
            dumps_made = 2 + (len(timeline) - 2 if args.dump_every_sample else 0)
            if all(p.exists() and len(p.read_text().splitlines()) >= dumps_made for p in written):
                break
        timeline.append(sample("trimmed"))
    dumped = {}
    for session in sessions:
        path = dumps / f"{session}.jsonl"
        dumped[session] = [json.loads(line) for line in path.read_text().splitlines()]
    return {"nodes": args.nodes, "minutes": args.minutes, "poll": args.poll, "env": extra,
            "driven": state, "timeline": timeline, "dumps": dumped}  # fmt: skip


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--as-node":
        as_node(sys.argv[2:])
        return
    parser = argparse.ArgumentParser(description="where a node's RSS goes under load")
    parser.add_argument("--nodes", type=int, default=3)
    parser.add_argument("--minutes", type=float, default=3.0)
    parser.add_argument("--tasks", type=int, default=20000)
    parser.add_argument("--every", type=float, default=15.0)
    parser.add_argument("--poll", type=float, default=0.0, help="status+board every N s")
    parser.add_argument("--env", action="append", default=[], help="SESSION:NAME=VALUE")
    parser.add_argument("--keep", type=Path)
    parser.add_argument("--pregrown", type=int, default=0, help="logs of N events (soak.py's)")
    parser.add_argument(
        "--restart-signaling",
        action="store_true",
        help="--restart-every restarts the signaling server, not a node",
    )
    parser.add_argument(
        "--restart-every",
        type=float,
        default=0.0,
        help="stop (kill -9, SIGTERM in turn) and restart the last node every N s",
    )
    parser.add_argument("--dump-every-sample", action="store_true", help="not only at the ends")
    args = parser.parse_args()
    from benchmarks._figures import work_directory

    with work_directory(args.keep, "rss") as directory:
        figures = asyncio.run(run(args, directory))
    print(json.dumps({"benchmark": "rss_probe", "figures": figures}))


if __name__ == "__main__":
    main()
