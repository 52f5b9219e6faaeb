"""Exit within 5 s of SIGTERM, every time (issue 22 §4): a room of node processes, one of them
sent SIGTERM at a random moment, many times over, and the time until it exited measured.

A room of --nodes (4) `ifmesh node` processes, one signaling server and a bare git remote, all
on 127.0.0.1 (node/cli/room.py). Each round draws a scenario (every scenario once per cycle,
in a seeded random order) and a node, sends that node SIGTERM at a random moment of the
scenario, measures from the signal until the process is gone (waitpid), and starts it again:

* ``idle``: the room formed and quiet, SIGTERM 0-2 s later;
* ``claim``: 0-250 ms after a claim was sent to the node's control API (mid-decision);
* ``push``: the moment the node's `git push` child process is seen (after a claim);
* ``forming``: 0-3 s after a restarted node's control API answered (pairs being built);
* ``starting``: 0-0.7 s after a restarted process began to handle SIGTERM (it opens its git
  clone and fetches, reads the board, starts its control API and mesh);
* ``signaling-down``: 0-4 s after the signaling server was killed (kill -9);
* ``signaling-frozen``: 0-4 s after the signaling server was stopped (SIGSTOP): it accepts
  connections and never answers, as an overloaded server does;
* ``peer-killed``: 0-3 s after another node was killed (kill -9): its bye is never answered,
  and the mesh does not know it is gone yet (dead after 5 s of silence);
* ``remote-gone``: 0-1 s after a claim, with the git remote moved away (unreachable): the
  final push cannot land.

A node still running 5 s after SIGTERM is a miss: it is sent SIGUSR1 (its asyncio tasks'
stacks) and SIGUSR2 (every thread's stack, faulthandler) and given until 20 s; one still
running then is a hang, killed with SIGKILL. Both dumps go to the node's log, and the part of
the log written after the SIGTERM is printed to stderr (--keep DIR keeps every log). A node
whose own stop overran ends itself at 4.5 s with status 1, its threads' stacks in its log
(node/cli/node.py): ``exit_codes`` counts the statuses. ``rounds_without_full_mesh`` counts
rounds that began before the room had formed again within 90 s (a mesh fault, not an exit's).

Why a benchmark and not a test: the result is a distribution of wall-clock times over a few
minutes of real processes, which a test must not assert (shared/CONVENTIONS.md), and a run
is too long for `make test`. Target (issue 22): every exit within 5 s.
Run: .venv/bin/python benchmarks/exit_stress.py [--rounds 45] [--nodes 4] [--keep DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks._boards import available_board  # noqa: E402
from benchmarks._figures import check, percentile, progress, work_directory  # noqa: E402
from ifmesh.node.cli.room import LocalRoom, RoomError  # noqa: E402
from ifmesh.node.errors import IfmeshError  # noqa: E402

SEED = 22
EXIT_TARGET = 5.0  # s, issue 22
GIVE_UP = 20.0  # s after SIGTERM: a node still running then is a hang
PUSH_WAIT = 10.0  # s to see the `git push` child of a claim
SCENARIOS = (
    "idle", "claim", "push", "forming", "starting", "signaling-down", "signaling-frozen",
    "peer-killed", "remote-gone",
)  # fmt: skip


def board(directory: Path, count: int) -> Path:
    return available_board(directory / "exit-board.md", "Exit board", "X", count)


def git_push_child(pid: int) -> bool:
    """Whether ``pid`` has a `git push` child right now (the bridge pushes with git's CLI)."""
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry.name}/stat").read_bytes()
            if int(stat.rsplit(b")", 1)[1].split()[1]) != pid:
                continue
            argv = Path(f"/proc/{entry.name}/cmdline").read_bytes().split(b"\0")
        except (OSError, ValueError, IndexError):
            continue
        if b"push" in argv:
            return True
    return False


def catches_sigterm(pid: int) -> bool:
    """Whether ``pid`` handles SIGTERM yet (before, SIGTERM ends Python at once: nothing to
    measure). The node installs its handler once imported, before it starts git."""
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("SigCgt:"):
                return bool(int(line.split()[1], 16) & (1 << (signal.SIGTERM - 1)))
    return False


@dataclass
class Exit:
    scenario: str
    session: str
    seconds: float  # from SIGTERM until the process was gone (GIVE_UP for a hang)
    code: int | None  # None: a hang, killed
    note: str = ""
    log: str = ""  # the node's log after the SIGTERM, for a slow exit


class Stress:
    def __init__(self, room: LocalRoom, rng: random.Random) -> None:
        self.room, self.rng = room, rng
        self.next_task = 0
        self.exits: list[Exit] = []
        self.unformed = 0  # rounds that began without a full mesh

    # --- one SIGTERM, measured ---------------------------------------------------------

    async def terminate(self, scenario: str, session: str, note: str = "") -> Exit:
        member = self.room.members[session]
        process, log_path = member.process, member.log_path
        assert process is not None and log_path is not None
        offset = log_path.stat().st_size if log_path.exists() else 0
        sent = time.monotonic()
        process.send_signal(signal.SIGTERM)
        try:
            code: int | None = await asyncio.to_thread(process.wait, EXIT_TARGET)
        except subprocess.TimeoutExpired:
            code = await self._slow(process)
        seconds = time.monotonic() - sent if code is not None else GIVE_UP
        result = Exit(scenario, session, round(seconds, 3), code, note)
        if code is None or seconds > EXIT_TARGET:
            with log_path.open("rb") as log:
                log.seek(offset)
                result.log = log.read().decode("utf-8", "replace")
            progress(f"--- {session} ({scenario}) took {seconds:.1f} s; its log after SIGTERM:")
            progress(result.log[-20000:])
        self.exits.append(result)
        return result

    async def _slow(self, process: subprocess.Popen[bytes]) -> int | None:
        """Past the target: ask for the stacks, wait until GIVE_UP, then kill."""
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGUSR1)  # asyncio tasks (node/cli/node.py)
            process.send_signal(signal.SIGUSR2)  # every thread (faulthandler)
        try:
            return await asyncio.to_thread(process.wait, GIVE_UP - EXIT_TARGET)
        except subprocess.TimeoutExpired:
            process.kill()
            await asyncio.to_thread(process.wait, 10)
            return None

    async def restart(self, session: str) -> None:
        member = self.room.members[session]
        if member.running:
            self.room.kill_node(session)
        self.room.start_node(session)
        await self.room.wait_control(session, 180)

    async def formed(self) -> None:
        try:
            await self.room.wait_mesh(timeout=90)
        except RoomError:
            self.unformed += 1

    async def claim(self, session: str) -> None:
        self.next_task += 1
        with contextlib.suppress(IfmeshError, OSError):
            async with self.room.client(session) as node:
                await node.call("claim", {"task": f"X.{self.next_task}", "timeout": 20}, timeout=30)

    # --- scenarios -----------------------------------------------------------------------

    async def idle(self, session: str) -> None:
        await self.formed()
        await asyncio.sleep(self.rng.uniform(0, 2))
        await self.terminate("idle", session)

    async def mid_claim(self, session: str) -> None:
        await self.formed()
        claiming = asyncio.create_task(self.claim(session))
        await asyncio.sleep(self.rng.uniform(0, 0.25))
        await self.terminate("claim", session)
        await claiming

    async def mid_push(self, session: str) -> None:
        await self.formed()
        member = self.room.members[session]
        assert member.process is not None
        claiming = asyncio.create_task(self.claim(session))
        deadline, seen = time.monotonic() + PUSH_WAIT, False
        while not seen and time.monotonic() < deadline:
            seen = await asyncio.to_thread(git_push_child, member.process.pid)
            if not seen:
                await asyncio.sleep(0.005)  # a child process has no event to wait on
        await self.terminate("push", session, "" if seen else "no push seen")
        await claiming

    async def forming(self, session: str) -> None:
        await self.restart(session)
        await asyncio.sleep(self.rng.uniform(0, 3))
        await self.terminate("forming", session)

    async def starting(self, session: str) -> None:
        self.room.kill_node(session)
        self.room.start_node(session)
        process, up = self.room.members[session].process, False
        assert process is not None
        for _ in range(6000):  # 60 s at most; installing a handler makes no event to wait on
            if catches_sigterm(process.pid):
                break
            await asyncio.sleep(0.01)
        await asyncio.sleep(self.rng.uniform(0, 0.7))
        with contextlib.suppress(IfmeshError):
            up = self.room.endpoint(session).pid == process.pid
        await self.terminate("starting", session, "control API up" if up else "before control")

    async def signaling_down(self, session: str) -> None:
        await self.formed()
        server = self.room.signaling
        assert server is not None
        server.kill()
        await asyncio.to_thread(server.wait, 10)
        self.room.signaling = None
        try:
            await asyncio.sleep(self.rng.uniform(0, 4))
            await self.terminate("signaling-down", session)
        finally:
            await self.room.start_signaling()

    async def signaling_frozen(self, session: str) -> None:
        await self.formed()
        server = self.room.signaling
        assert server is not None
        server.send_signal(signal.SIGSTOP)
        try:
            await asyncio.sleep(self.rng.uniform(0, 4))
            await self.terminate("signaling-frozen", session)
        finally:
            server.send_signal(signal.SIGCONT)

    async def peer_killed(self, session: str) -> None:
        await self.formed()
        victim = self.rng.choice(sorted(set(self.room.members) - {session}))
        self.room.kill_node(victim)
        try:
            await asyncio.sleep(self.rng.uniform(0, 3))
            await self.terminate("peer-killed", session, "")
        finally:
            await self.restart(victim)

    async def remote_gone(self, session: str) -> None:
        await self.formed()
        remote = self.room.remote
        assert remote is not None
        away = remote.with_name(remote.name + ".away")
        claiming = asyncio.create_task(self.claim(session))
        remote.rename(away)
        try:
            await asyncio.sleep(self.rng.uniform(0, 1))
            await self.terminate("remote-gone", session)
        finally:
            away.rename(remote)
        await claiming

    def scenario(self, name: str) -> Callable[[str], Awaitable[None]]:
        return {
            "idle": self.idle, "claim": self.mid_claim, "push": self.mid_push,
            "forming": self.forming, "starting": self.starting,
            "signaling-down": self.signaling_down, "signaling-frozen": self.signaling_frozen,
            "peer-killed": self.peer_killed, "remote-gone": self.remote_gone,
        }[name]  # fmt: skip


def summary(exits: list[Exit]) -> dict[str, Any]:
    seconds = [e.seconds for e in exits]
    if not seconds:
        return {"samples": 0}
    return {"samples": len(seconds), "p50_s": round(percentile(seconds, 0.5), 3),
            "p99_s": round(percentile(seconds, 0.99), 3), "max_s": round(max(seconds), 3),
            "over_target": sum(s > EXIT_TARGET for s in seconds)}  # fmt: skip


async def run(rounds: int, nodes: int, directory: Path) -> dict[str, Any]:
    rng = random.Random(SEED)
    room = LocalRoom(
        directory, sessions=nodes, fetch_interval_seconds=2, board=board(directory, 2000),
        status_sessions=(), start_timeout=180,
    )  # fmt: skip
    began = time.monotonic()
    async with room:
        stress = Stress(room, rng)
        order: list[str] = []
        for n in range(rounds):
            if not order:
                order = rng.sample(SCENARIOS, len(SCENARIOS))
            name, session = order.pop(), rng.choice(sorted(room.members))
            await stress.scenario(name)(session)
            last = stress.exits[-1]
            progress(f"round {n + 1}/{rounds}: {name} {session}: {last.seconds:.2f} s, "
                     f"exit {last.code} {last.note}")  # fmt: skip
            await stress.restart(session)
    exits = stress.exits
    figures: dict[str, Any] = {
        "nodes": nodes, "rounds": rounds, "minutes": round((time.monotonic() - began) / 60, 1),
        "all": summary(exits),
        "by_scenario": {s: summary([e for e in exits if e.scenario == s]) for s in SCENARIOS},
        "exit_codes": {str(c): sum(e.code == c for e in exits) for c in {e.code for e in exits}},
        "hangs": sum(e.code is None for e in exits),
        "slow": [{"scenario": e.scenario, "session": e.session, "seconds": e.seconds,
                  "code": e.code, "note": e.note} for e in exits if e.seconds > EXIT_TARGET],
        "notes": sorted({f"{e.scenario}: {e.note}" for e in exits if e.note}),
        "rounds_without_full_mesh": stress.unformed,
        "rounds_in_order": [[e.scenario, e.session, e.seconds, e.code] for e in exits],
    }  # fmt: skip
    return figures


def checks(figures: dict[str, Any]) -> list[dict[str, Any]]:
    slowest = figures["all"].get("max_s", GIVE_UP)
    return [
        check("exit after SIGTERM, slowest of all rounds (s)", slowest, "s", "<=", EXIT_TARGET),
        check("exits after SIGTERM over 5 s", figures["all"].get("over_target", 0), "exits",
              "<=", 0),
    ]  # fmt: skip


async def main() -> None:
    parser = argparse.ArgumentParser(description="exit within 5 s of SIGTERM (issue 22)")
    parser.add_argument("--rounds", type=int, default=45, help="SIGTERMs (5 per scenario)")
    parser.add_argument("--nodes", type=int, default=4)
    parser.add_argument("--keep", type=Path, help="keep the room's files and logs here")
    arguments = parser.parse_args()
    with work_directory(arguments.keep, "exit") as directory:
        figures = await run(arguments.rounds, arguments.nodes, directory)
    print(json.dumps({"benchmark": "exit_stress", "figures": figures, "checks": checks(figures)}))


if __name__ == "__main__":
    asyncio.run(main())
