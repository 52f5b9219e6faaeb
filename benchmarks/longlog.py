"""Long sessions in the git tier (issue 22): a bridge whose session log holds a Phase-0 day of
work (20,000 events) against one whose log is fresh, in the same run.

Two rooms, each its own bare remote in a temp dir with the same sessions, keys and board: in
the *long* room every session's log is pre-grown to ``--events`` real signed events, laid out
on the branch as the bridge writes them (:func:`pregrown_files`); in the *fresh* room the logs
are empty. The same bridges (node.gitsync.bridge.GitSync, with signing: every event read from
another session's log is verified) then take turns landing claims, the rooms interleaved
landing by landing (the first room alternates) so the machine's noise falls on both alike.
Each landing: a claim and a progress event handed to the writer's bridge with its confirm
record, until git's verdict comes back (commit, push, read: what a claim waits for in git).
The landing's turn hint goes to the room's other bridges, as the mesh would carry it.

Figures per room: landing p50/p99/max (ms), the turn hints' size as sent (JSON bytes) and the
size of the objects a hint would carry were there no cap (node.gitsync.handoff.MAX_BYTES), and
how many hints carried their objects. Ratios long/fresh. Start-up (``--startup-sessions``): a
new bridge starting on a branch holding that many pre-grown logs (fetch, verify and read every
event), and its reader's read alone with and without verification.

Target (issue 22): ``20k-event logs: landing p99 vs fresh log`` <= 2. benchmarks/faults.py
runs :func:`measure` for that check; this module also runs alone:

    .venv/bin/python benchmarks/longlog.py [--events 20000] [--landings 60] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import random
import shutil
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import structlog  # noqa: E402

from benchmarks._figures import check, percentile, progress, work_directory  # noqa: E402
from ifmesh.node.gitsync import handoff, hints, segments  # noqa: E402
from ifmesh.node.gitsync.bridge import GitSync  # noqa: E402
from ifmesh.node.gitsync.config import BridgeConfig  # noqa: E402
from ifmesh.node.gitsync.keyfiles import key_file_path  # noqa: E402
from ifmesh.node.gitsync.keypublish import OwnKey  # noqa: E402
from ifmesh.node.gitsync.outputs import Landed, Outputs  # noqa: E402
from ifmesh.node.gitsync.paths import legacy_log_path  # noqa: E402
from ifmesh.node.gitsync.reader import BranchReader  # noqa: E402
from ifmesh.node.identity import seal  # noqa: E402
from ifmesh.node.identity.gate import Gate  # noqa: E402
from ifmesh.node.identity.keys import SessionKey  # noqa: E402
from ifmesh.node.identity.pins import PinBook  # noqa: E402
from ifmesh.node.protocol import codec  # noqa: E402
from ifmesh.node.protocol.messages import Envelope, make_message  # noqa: E402
from ifmesh.node.protocol.payloads import (  # noqa: E402
    LeaseRenew,
    Payload,
    TaskClaim,
    TaskComplete,
    TaskConfirmed,
    TaskProgress,
)

NAME = "longlog"
CHECK = "20k-event logs: landing p99 vs fresh log"
BRANCH = "ifmesh/coordination"
SESSIONS = ("session-1-core", "session-2-webrtc", "session-3-sip", "session-4-h323",
            "session-5-ui", "session-6-docs", "session-7-infra", "session-8-review")  # fmt: skip
BOARD = (ROOT / "examples/phase0/PHASE-0-TASK-BOARD.md").read_text()
GIT_ENV = {
    **os.environ,
    "GIT_AUTHOR_NAME": "bench",
    "GIT_AUTHOR_EMAIL": "bench@ifmesh.invalid",
    "GIT_COMMITTER_NAME": "bench",
    "GIT_COMMITTER_EMAIL": "bench@ifmesh.invalid",
    "GIT_CONFIG_NOSYSTEM": "1",
}
DAY_START = datetime(2025, 11, 3, 8, tzinfo=UTC)
MILESTONES = ("parser reads the seed's files", "tests for the edge cases pass", "docs written")


class Author:
    """One session's events as its node writes them: stamped, signed, canonically encoded.

    A working day's mix, per task: a claim, its confirmation, three progress reports, a lease
    renewal and the completion (realistic sizes; the bridge does not fold them)."""

    def __init__(self, session: str, key: SessionKey) -> None:
        self.session = session
        self.key = key
        self.incarnation = uuid.uuid4().hex
        self.seq = 0

    def event(self, payload: Payload, at: datetime) -> Envelope:
        self.seq += 1
        message = make_message(
            payload, source=self.session, timestamp=at, seq=self.seq, lamport=self.seq,
            incarnation=self.incarnation,
        )  # fmt: skip
        return seal.sign(message, self.key)

    def day(self, count: int) -> list[bytes]:
        """``count`` events of a working day, encoded as log lines."""
        lines = []
        step = timedelta(hours=8) / max(count, 1)
        for n in range(count):
            at = DAY_START + n * step
            lines.append(codec.encode(self.event(_day_payload(self.session, n, at), at)) + b"\n")
        return lines

    def restart(self) -> None:
        """A new process of the session: a new incarnation, seq and lamport resumed."""
        self.incarnation = uuid.uuid4().hex


def _day_payload(session: str, n: int, at: datetime) -> Payload:
    task = f"D.{n // 7}"
    kind = n % 7
    if kind == 0:
        return TaskClaim(
            task_id=task, epoch=0, swarm_id=session, timestamp=at, policy_hash="9" * 64
        )
    if kind == 1:
        return TaskConfirmed(task_id=task, epoch=0, winner=session)
    if kind == 5:
        return LeaseRenew(task_ids=[task])
    if kind == 6:
        return TaskComplete(task_id=task, epoch=0, deliverable=f"docs/{task}.md", tests_pass=True)
    return TaskProgress(task_id=task, epoch=0, percent=(25, 50, 75)[kind % 3],
                        milestone=MILESTONES[kind % 3])  # fmt: skip


def pregrown_files(session: str, lines: list[bytes], *, legacy: bool = False) -> dict[str, bytes]:
    """The files of ``session``'s log on the branch after its node wrote ``lines``, one to three
    events a commit (segments); ``legacy``: the one file nodes wrote before segments."""
    if legacy:
        return {legacy_log_path(session): b"".join(lines)}
    sizes = random.Random(session)
    commits = []
    start = 0
    while start < len(lines):
        step = sizes.randint(1, 3)
        commits.append(b"".join(lines[start : start + step]))
        start += step
    return segments.lay_out(session, commits)


def git(*args: str, cwd: Path | None = None) -> str:
    result = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True,
                            env=GIT_ENV, check=False)  # fmt: skip
    if result.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)}: {result.stderr.strip()}")
    return result.stdout


def make_remote(root: Path, files: dict[str, bytes]) -> Path:
    """A bare remote whose coordination branch holds the board and ``files``, in one commit."""
    remote = root / "remote.git"
    work = root / "work"
    git("init", "--quiet", "--bare", str(remote))
    git("init", "--quiet", str(work))
    for path, data in {"PHASE-0-TASK-BOARD.md": BOARD.encode(), **files}.items():
        target = work / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    git("add", "-A", cwd=work)
    git("commit", "--quiet", "-m", "a Phase-0 day", cwd=work)
    git("push", "--quiet", str(remote), f"HEAD:refs/heads/{BRANCH}", cwd=work)
    shutil.rmtree(work)
    return remote


def key_files(authors: list[Author]) -> dict[str, bytes]:
    return {key_file_path(a.session): (a.key.public.text + "\n").encode() for a in authors}


def bridge(root: Path, remote: Path, author: Author, *, signed: bool = True) -> GitSync:
    config = BridgeConfig(
        session=author.session, remote_url=str(remote), branch=BRANCH,
        state_dir=root / "state" / author.session, incarnation=author.incarnation,
        seed_branch_glob=None,
    )  # fmt: skip
    gate = Gate(PinBook()) if signed else None
    own = OwnKey(author.session, author.key.public) if signed else None
    return GitSync(config, rng=random.Random(7), gate=gate, own_key=own)


@dataclass
class Room:
    name: str
    authors: list[Author]
    bridges: list[GitSync]
    last_tip: str | None = None
    landings_ms: list[float] = field(default_factory=list)
    hint_bytes: list[int] = field(default_factory=list)  # as sent on the mesh (JSON)
    objects_bytes: list[int] = field(default_factory=list)  # uncapped
    with_objects: int = 0
    start_s: list[float] = field(default_factory=list)

    def figures(self) -> dict[str, Any]:
        ms = self.landings_ms
        return {
            "landings": len(ms),
            "landing_p50_ms": round(percentile(ms, 0.5), 1),
            "landing_p99_ms": round(percentile(ms, 0.99), 1),
            "landing_max_ms": round(max(ms), 1),
            "hint_bytes_p50": percentile([float(b) for b in self.hint_bytes], 0.5),
            "hint_bytes_max": max(self.hint_bytes),
            "hint_objects_bytes_p50": percentile([float(b) for b in self.objects_bytes], 0.5),
            "hint_objects_bytes_max": max(self.objects_bytes),
            "hints_with_objects": f"{self.with_objects}/{len(self.hint_bytes)}",
            "bridge_start_s_max": round(max(self.start_s), 2),
        }


def open_room(name: str, root: Path, authors: list[Author], files: dict[str, bytes]) -> Room:
    root.mkdir(parents=True)
    remote = make_remote(root, {**key_files(authors), **files})
    room = Room(name, authors, [])
    for author in authors:
        author.restart()
        sync = bridge(root, remote, author)
        started = time.perf_counter()
        resume = sync.start(time.time())
        room.start_s.append(time.perf_counter() - started)
        author.seq = resume.seq
        room.bridges.append(sync)
        sync.take_outputs()
    room.last_tip = room.bridges[-1].clone.ref(room.bridges[-1].clone.remote_ref)
    return room


def land(room: Room, turn: int) -> None:
    """One landing of the room's next writer (in ring order); its hint goes to the others."""
    index = turn % len(room.bridges)
    sync, author = room.bridges[index], room.authors[index]
    task = f"L.{turn}"
    at = datetime.now(UTC)
    started = time.perf_counter()
    now = time.time()
    sync.submit(author.event(TaskClaim(task_id=task, epoch=0, swarm_id=author.session,
                                       timestamp=at), at), now)  # fmt: skip
    sync.submit(author.event(TaskProgress(task_id=f"L.{turn - 1}", epoch=0, percent=50,
                                          milestone=MILESTONES[1]), at), now)  # fmt: skip
    sync.write_confirm_record(task, 0, now)
    landed: list[Landed] = []
    deadline = started + 120
    while True:
        timer = sync.get_timer()
        wall = time.time()
        if timer is not None and timer <= wall:
            sync.handle_timer(wall)
            outputs = sync.take_outputs()
            landed.extend(outputs.landed)
            if any(v.task == task for v in outputs.verdicts):
                break
            for problem in outputs.errors:
                progress(f"  {room.name} {author.session}: {problem.code}: {problem}")
        elif time.perf_counter() > deadline:
            raise RuntimeError(f"{room.name}: {task} not landed within 120 s")
        else:
            time.sleep(min(0.005, max(0.0, (timer or wall + 0.005) - wall)))
    room.landings_ms.append((time.perf_counter() - started) * 1000)
    for hint_landed in landed:
        packed = handoff.pack(sync.clone, hint_landed.tip, room.last_tip) if room.last_tip else None
        room.objects_bytes.append(len(packed) if packed is not None else 0)
        room.last_tip = hint_landed.tip
        room.with_objects += hint_landed.objects is not None
    for hint in hints.to_send(_only_landed(landed)):
        room.hint_bytes.append(len(json.dumps(hint)))
        for other in room.bridges:
            if other is not sync:
                hints.received(_Taker(other), author.session, hint)


def _only_landed(landed: list[Landed]) -> Outputs:
    return Outputs(landed=landed)


class _Taker:
    def __init__(self, sync: GitSync) -> None:
        self.sync = sync

    def landed_elsewhere(self, session: str, tip: str, objects: bytes | None) -> None:
        self.sync.landed_elsewhere(session, tip, time.time(), objects)

    def waiting_elsewhere(self, session: str) -> None:
        self.sync.waiting_elsewhere(session, time.time())


def measure_landings(
    root: Path, *, events: int, sessions: int, landings: int, profile: bool,
    days: dict[str, list[bytes]], keys: dict[str, SessionKey], legacy: bool = False,
) -> dict[str, Any]:  # fmt: skip
    """The rooms, interleaved landing by landing."""
    names = SESSIONS[:sessions]
    long_authors = [Author(s, keys[s]) for s in names]
    fresh_authors = [Author(s, keys[s]) for s in names]
    pregrown: dict[str, bytes] = {}
    for session in names:
        pregrown |= pregrown_files(session, days[session][:events])
    progress(f"longlog: rooms of {sessions} sessions, logs of {events} events against fresh")
    rooms = {
        "fresh": open_room("fresh", root / "fresh", fresh_authors, {}),
        "long": open_room("long", root / "long", long_authors, pregrown),
    }
    if legacy:  # a branch from before segments, its nodes upgraded
        old_layout: dict[str, bytes] = {}
        for session in names:
            old_layout |= pregrown_files(session, days[session][:events], legacy=True)
        authors = [Author(s, keys[s]) for s in names]
        rooms["legacy"] = open_room("legacy", root / "legacy", authors, old_layout)
    profilers = {name: cProfile.Profile() for name in rooms} if profile else {}
    try:
        for turn in range(landings):
            names_now = list(rooms)
            shift = turn % len(names_now)
            for name in names_now[shift:] + names_now[:shift]:
                if name in profilers:
                    profilers[name].enable()
                land(rooms[name], turn)
                if name in profilers:
                    profilers[name].disable()
            if turn % 10 == 9:
                progress(f"  {turn + 1}/{landings} landings per room")
    finally:
        for room in rooms.values():
            for sync in room.bridges:
                sync.close()
    for name, profiler in profilers.items():
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(30)
        progress(f"profile of the {name} room's landings:\n{out.getvalue()}")
    fresh, long = rooms["fresh"].figures(), rooms["long"].figures()
    extra = {"legacy": rooms["legacy"].figures()} if legacy else {}
    return {
        "events_per_session": events,
        "log_bytes_per_session": len(b"".join(days[names[0]][:events])),
        "fresh": fresh,
        "long": long,
        **extra,
        "landing_p99_ratio": round(long["landing_p99_ms"] / fresh["landing_p99_ms"], 2),
        "landing_p50_ratio": round(long["landing_p50_ms"] / fresh["landing_p50_ms"], 2),
        "hint_bytes_p50_ratio": round(long["hint_bytes_p50"] / fresh["hint_bytes_p50"], 2),
        "hint_objects_bytes_p50_ratio": _ratio(
            long["hint_objects_bytes_p50"], fresh["hint_objects_bytes_p50"]
        ),
    }


def _ratio(a: float, b: float) -> float | None:
    return round(a / b, 2) if b else None


def measure_startup(
    root: Path, *, events: int, sessions: int, days: dict[str, list[bytes]],
    keys: dict[str, SessionKey], legacy: bool = False,
) -> dict[str, Any]:  # fmt: skip
    """A new session's bridge starting on a branch with ``sessions`` pre-grown logs (in the
    layout before segments: ``legacy``)."""
    progress(f"longlog: start-up on {sessions} logs of {events} events (legacy: {legacy})")
    root.mkdir(parents=True)
    authors = [Author(s, keys[s]) for s in SESSIONS[:sessions]]
    files = key_files(authors)
    for author in authors:
        files |= pregrown_files(author.session, days[author.session][:events], legacy=legacy)
    remote = make_remote(root, files)
    newcomer = Author("session-9-new", SessionKey.generate())
    figures: dict[str, Any] = {"sessions": sessions, "events_per_session": events}
    sync = bridge(root, remote, newcomer)
    started = time.perf_counter()
    sync.start(time.time())
    figures["new_bridge_start_s"] = round(time.perf_counter() - started, 2)
    figures["new_bridge_start_us_per_event"] = round(
        figures["new_bridge_start_s"] * 1e6 / (sessions * events), 1
    )
    try:
        # The same read without verifying signatures: what parsing alone costs.
        reader = BranchReader(sync.clone, session=newcomer.session, branch=BRANCH,
                              read_seed_branches=False, renew_interval=300)  # fmt: skip
        started = time.perf_counter()
        result = reader.read(sync.clone.ref(sync.clone.remote_ref))
        figures["read_unverified_s"] = round(time.perf_counter() - started, 2)
        figures["events_read"] = len(result.events)
    finally:
        sync.close()
    return figures


def measure(
    *, events: int = 20_000, sessions: int = 3, landings: int = 60, startup_sessions: int = 8,
    profile: bool = False, keep: Path | None = None, legacy: bool = False,
) -> dict[str, Any]:  # fmt: skip
    """The long-log figures (blocking: run it in a thread from async code)."""
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(30))
    count = max(sessions, startup_sessions)
    keys = {s: SessionKey.generate() for s in SESSIONS[:count]}
    started = time.perf_counter()
    days = {s: Author(s, keys[s]).day(events) for s in SESSIONS[:count]}
    progress(f"longlog: {count} x {events} signed events in {time.perf_counter() - started:.1f} s")
    with work_directory(keep, "longlog") as root:
        figures = measure_landings(
            root / "landings", events=events, sessions=sessions, landings=landings,
            profile=profile, days=days, keys=keys, legacy=legacy,
        )  # fmt: skip
        for old_layout in (False, True) if legacy else (False,):
            if startup_sessions:
                figures["startup_legacy" if old_layout else "startup"] = measure_startup(
                    root / f"startup-{old_layout}", events=events, sessions=startup_sessions,
                    days=days, keys=keys, legacy=old_layout,
                )  # fmt: skip
    return figures


def checks(figures: dict[str, Any]) -> list[dict[str, Any]]:
    return [check(CHECK, figures["landing_p99_ratio"], "ratio", "<=", 2)]


def main() -> None:
    parser = argparse.ArgumentParser(description="long session logs in the git tier (issue 22)")
    parser.add_argument("--events", type=int, default=20_000, help="events per pre-grown log")
    parser.add_argument("--sessions", type=int, default=3, help="writers per room")
    parser.add_argument("--landings", type=int, default=60, help="landings per room")
    parser.add_argument("--startup-sessions", type=int, default=8,
                        help="pre-grown logs for the start-up figure (0: skip)")  # fmt: skip
    parser.add_argument("--legacy-room", action="store_true",
                        help="a third room: logs in the layout before segments")  # fmt: skip
    parser.add_argument("--profile", action="store_true", help="profile each room (stderr)")
    parser.add_argument("--keep", type=Path, help="keep the rooms here")
    arguments = parser.parse_args()
    figures = measure(events=arguments.events, sessions=arguments.sessions,
                      landings=arguments.landings, startup_sessions=arguments.startup_sessions,
                      profile=arguments.profile, keep=arguments.keep,
                      legacy=arguments.legacy_room)  # fmt: skip
    print(json.dumps({"benchmark": NAME, "figures": figures, "checks": checks(figures)}))


if __name__ == "__main__":
    main()
