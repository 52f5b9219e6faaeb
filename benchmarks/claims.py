"""Decided claims: how long `claim` takes to answer, how races end, and what a dead member costs.

A claim is decided on the mesh when every member acked it, else by git (docs/claims.md); the
control API's ``claim`` answers then. Rooms of N = 3 and 8 real node processes (LocalRoom: a
bare git remote, a signaling process, `ifmesh node` processes, all on 127.0.0.1) with a board
of AVAILABLE tasks without dependencies. Every claim is of a task nobody has claimed yet, as an
agent's claim is, by a member drawn at random (seeded): who claims decides how long git's
writers make it wait for its turn (node/gitsync/turns.py), so one fixed member would measure
one place in the ring.

Measured in the same run, next to each other:

* decided-claim latency through the control API, p50/p99, from the call until its answer
  (``won``), one connection per node held for the run, as an agent's integration holds it.
  Each claim is made in a room at rest: the previous claim confirmed by git on every node and
  no commit waiting anywhere (``git_settling`` reports how long that took). Agents claim
  minutes apart, not back to back, so this is the latency a session sees; the check uses it;
* the same, back to back (``back_to_back``): each claim right after the last answer, while
  the git tier still commits, pushes and fetches the previous ones on the same 2 cores.
  Reported, not checked: it measures the machine's spare CPU as much as the decision;
* the floor a claim decided on the mesh stands on: a bare aiortc room of the same N
  (benchmarks/_bare_ack_node.py: plain RTCPeerConnections, no ifmesh code) sends a message of
  a claim's size to every peer and each peer acks it on the same channel; the time until the
  sender holds the last ack. Its rounds alternate with the claim rounds (both rooms are up at
  once, which goes first alternates), so both see the same load on a shared machine;
* through the CLI, process start included (`ifmesh claim TASK`, as a session runs it), p50/p99;
* at N = 8, a race: all 8 members claim one task at the same instant (released by an
  asyncio.Barrier), RACE_ROUNDS times; rounds with exactly one winner, with two or more
  (promise broken: docs/claims.md) and with none, the losers' answers, and the time until every
  contender had its answer;
* at N = 8, after the race, one member killed -9 (well inside its lease, so nobody may take
  its tasks, and it stays a member): decided-claim latency of the survivors, p50/p99, from
  right after the kill — git decides them (the first waits the ack timeout, until liveness
  declares the victim dead).

The sequential phases stop at their round count or their time budget (at least MIN_ROUNDS
each): a claim git decides can take seconds under load, and the run must stay within a few
minutes. ``rounds`` in each figure says how many were made, ``phase_seconds`` where the time
went; ``--keep DIR --node-log-level debug`` keeps the rooms' logs (gitsync.push_deferred shows
the turn waits).

Targets (issue 17): decided claim p50 <= 2x the bare ack round trip p50 at N = 3 and 8; of the
8 x 50 race rounds, all 50 with exactly one winner and none with two.
Run: .venv/bin/python benchmarks/claims.py   (last stdout line: the JSON result)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import random
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks._boards import available_board  # noqa: E402
from benchmarks._figures import check, percentile, progress  # noqa: E402
from ifmesh.node.cli.room import LocalRoom, ifmesh_command, session_list  # noqa: E402
from ifmesh.node.control.client import ControlClient  # noqa: E402
from ifmesh.node.errors import IfmeshError  # noqa: E402
from ifmesh.node.identity import seal  # noqa: E402
from ifmesh.node.identity.keys import SessionKey  # noqa: E402
from ifmesh.node.mesh.probe import ProbeProcess  # noqa: E402
from ifmesh.node.protocol import codec, messages  # noqa: E402
from ifmesh.signaling.config import ServerConfig  # noqa: E402
from ifmesh.signaling.server import SignalingServer  # noqa: E402

SIZES: tuple[int, ...] = (3, 8)
# Sequential phases stop at ROUNDS or once their time budget is spent, whichever comes first,
# but never before MIN_ROUNDS: a decided claim takes seconds at N = 8 today (see the figures),
# and the whole run must fit in a few minutes. Each phase reports the rounds it made.
ROUNDS = 40  # decided claims per N (and as many bare round trips), interleaved
LATENCY_BUDGET = {3: 30.0, 8: 35.0}  # seconds
CLI_ROUNDS = 6
CLI_BUDGET = 15.0
RACE_SIZE = 8
RACE_ROUNDS = 50  # not cut short: the 8 x 50
KILLED_ROUNDS = 12
KILLED_BUDGET = 25.0
MIN_ROUNDS = 4
BOARD_TASKS = 200  # each claim takes a fresh one: N = 8 uses ROUNDS + RACE + CLI + KILLED
SEED = 17
REST_POLL = 0.02  # seconds between looks at the nodes' git state while waiting for rest
CLAIM_TIMEOUT = 60.0  # the node's own limit (then claim_undecided); the call waits longer
CALL_TIMEOUT = 90.0
START = 180.0
WAIT = 60.0
LOSING = {"claim_lost", "already_claimed"}  # the answers a racer that did not win may get


def summary(values: list[float], prefix: str = "") -> dict[str, float]:
    if not values:
        return {}
    return {f"{prefix}p50_ms": round(statistics.median(values), 2),
            f"{prefix}p99_ms": round(percentile(values, 0.99), 2)}  # fmt: skip


def claim_board(directory: Path) -> Path:
    """BOARD_TASKS AVAILABLE tasks without dependencies (tests/.../test_claim_race.py's shape)."""
    return available_board(
        directory / "claims-board.md", "Claims benchmark board", "R", BOARD_TASKS, task="Race"
    )


def claim_frame_size(session: str) -> int:
    """Bytes of a task.claim IFMessage on the wire, as the mesh carries one: signed, as the
    nodes sign it by default (the signature object nearly doubles it: 444 bytes unsigned)."""
    now = datetime.now(UTC)
    payload = messages.TaskClaim(task_id=f"R.{BOARD_TASKS}", epoch=0, swarm_id=session,
                                 timestamp=now, policy_hash="0" * 64)  # fmt: skip
    claim = messages.make_message(payload, source=session, timestamp=now)
    return len(codec.encode(seal.sign(claim, SessionKey.generate())))


class BareAckRoom:
    """N bare aiortc processes (benchmarks/_bare_ack_node.py) in their own signaling room."""

    def __init__(self, url: str, size: int, frame_size: int) -> None:
        self.frame_size = frame_size
        self.sessions = [f"n{i}" for i in range(size)]
        room = f"bare-ack-{size}-{time.monotonic_ns()}"
        script = str(ROOT / "benchmarks" / "_bare_ack_node.py")
        self.probes = [ProbeProcess(s, [sys.executable, script, url, room, s])
                       for s in self.sessions]  # fmt: skip

    async def start(self) -> None:
        await asyncio.gather(*(p.start(cwd=str(ROOT)) for p in self.probes))
        await asyncio.gather(
            *(p.expect(lambda e: e["event"] == "started", START) for p in self.probes)
        )
        for probe in self.probes:
            await probe.command("join")

        def up(peer: str) -> Callable[[dict[str, Any]], bool]:
            return lambda e: bool(e["event"] == "up" and e["peer"] == peer)

        await asyncio.gather(
            *(p.expect(up(o), WAIT) for p in self.probes for o in self.sessions if o != p.session)
        )

    async def round_trip(self, sender_index: int, label: str) -> float:
        """Seconds from sending one message to every peer until the last ack is in hand."""
        sender = self.probes[sender_index % len(self.probes)]
        mark = len(sender.events)
        await sender.command("broadcast", label=label, count=1, size=self.frame_size)
        sent = await sender.expect(
            lambda e: e["event"] == "sent" and e["label"] == label, WAIT, mark
        )
        acked = await sender.expect(
            lambda e: e["event"] == "acked" and e["label"] == label, WAIT, mark
        )
        return float(acked["t"]) - float(sent["t_first"])

    async def stop(self) -> None:
        await asyncio.gather(*(p.stop() for p in self.probes), return_exceptions=True)


async def decided_claim(client: ControlClient, task: str) -> float:
    """Seconds until the node answers a claim of ``task`` as won; raises its error otherwise."""
    start = time.monotonic()
    result = await client.call("claim", {"task": task, "timeout": CLAIM_TIMEOUT},
                               timeout=CALL_TIMEOUT)  # fmt: skip
    elapsed = time.monotonic() - start
    if not result.get("won"):
        raise IfmeshError(f"claim of {task} answered without won: {result}")
    return elapsed


class Claims:
    """One room's members, their held connections, and the fresh tasks left to claim."""

    def __init__(self, room: LocalRoom, clients: dict[str, ControlClient]) -> None:
        self.room = room
        self.clients = clients
        self.rng = random.Random(SEED)
        self._tasks: Iterator[str] = iter(f"R.{n}" for n in range(1, BOARD_TASKS + 1))
        self.failures: Counter[str] = Counter()
        self.last_task: str | None = None

    async def at_rest(self, timeout: float = WAIT) -> float:
        """Wait until the room is at rest after the last claim: every node has it confirmed by
        git and has no commit waiting to be pushed. (Not "on the same head": a node that has
        nothing to push fetches on its own pace, up to half a minute later, and that costs
        the claims nothing.) Returns the seconds waited (the git tier's settling time)."""
        start = time.monotonic()
        while time.monotonic() - start < timeout:
            statuses = await asyncio.gather(*(c.query("status") for c in self.clients.values()))
            boards = await asyncio.gather(*(c.query("board") for c in self.clients.values()))
            idle = all(s["git"]["pending_commits"] == 0 for s in statuses)
            confirmed = self.last_task is None or all(
                t["confirmed"] for b in boards for t in b["tasks"] if t["id"] == self.last_task
            )
            if idle and confirmed:
                return time.monotonic() - start
            await asyncio.sleep(REST_POLL)
        raise IfmeshError(f"the room did not come to rest within {timeout} s")

    def task(self) -> str:
        return next(self._tasks)

    def actor(self, among: list[str] | None = None) -> str:
        return self.rng.choice(among or list(self.clients))

    async def api(self, actor: str) -> float | None:
        self.last_task = self.task()
        try:
            return await decided_claim(self.clients[actor], self.last_task) * 1000
        except IfmeshError as exc:
            self.failures[exc.code] += 1
            progress(f"  claim by {actor} failed: {exc.code}: {exc}")
            return None

    async def cli(self, actor: str) -> float | None:
        start = time.monotonic()
        process = await asyncio.create_subprocess_exec(
            *ifmesh_command(), "claim", self.task(),
            env=self.room.env | {"IFMESH_SESSION": actor},
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        _, err = await asyncio.wait_for(process.communicate(), CALL_TIMEOUT)
        elapsed = (time.monotonic() - start) * 1000
        if process.returncode != 0:
            self.failures[f"cli exit {process.returncode}"] += 1
            progress(
                f"  ifmesh claim by {actor} exited {process.returncode}: {err.decode()[-300:]}"
            )
            return None
        return elapsed


def budgeted(limit: int, seconds: float) -> Iterator[int]:
    """Round numbers up to ``limit``, while ``seconds`` last (but at least MIN_ROUNDS)."""
    deadline = time.monotonic() + seconds
    for round_ in range(limit):
        if round_ >= MIN_ROUNDS and time.monotonic() >= deadline:
            return
        yield round_


async def latency_rounds(
    claims: Claims, bare: BareAckRoom, rounds: Iterator[int], *, rest: list[float] | None = None
) -> tuple[list[float], list[float]]:
    """Decided claims through the API and bare ack round trips, interleaved (ms each).
    With ``rest`` (a list that collects the seconds waited), each round starts in a room at
    rest (:meth:`Claims.at_rest`); without it, rounds follow each other at once."""
    api: list[float] = []
    rtt: list[float] = []
    sessions = list(claims.clients)
    for round_ in rounds:
        actor = claims.actor()
        if rest is not None:
            rest.append(await claims.at_rest())
        for kind in ("bare", "api") if round_ % 2 == 0 else ("api", "bare"):
            if kind == "bare":
                seconds = await bare.round_trip(sessions.index(actor), f"rtt{round_}")
                rtt.append(seconds * 1000)
            elif (ms := await claims.api(actor)) is not None:
                api.append(ms)
    return api, rtt


async def race(claims: Claims, rounds: int) -> dict[str, Any]:
    """Every member claims one task at the same instant, ``rounds`` times."""
    sessions = list(claims.clients)
    winners_per_round: list[int] = []
    answers: Counter[str] = Counter()
    settled_ms: list[float] = []
    for round_ in range(rounds):
        task = claims.task()
        barrier = asyncio.Barrier(len(sessions))  # all released at once, none left behind

        async def contend(session: str, task: str = task, barrier: Any = barrier) -> str:
            await barrier.wait()
            try:
                result = await claims.clients[session].call(
                    "claim", {"task": task, "timeout": CLAIM_TIMEOUT}, timeout=CALL_TIMEOUT
                )
            except IfmeshError as exc:
                return exc.code
            return "won" if result.get("won") else "answered without won"

        start = time.monotonic()
        outcome = await asyncio.gather(*map(contend, sessions))
        settled_ms.append((time.monotonic() - start) * 1000)
        answers.update(outcome)
        winners = outcome.count("won")
        winners_per_round.append(winners)
        if winners != 1 or any(a not in LOSING | {"won"} for a in outcome):
            progress(f"  race round {round_} ({task}): {sorted(outcome)}")
    return {
        "rounds": rounds,
        "contenders": len(sessions),
        "exactly_one_winner": winners_per_round.count(1),
        "two_or_more_winners": sum(1 for w in winners_per_round if w >= 2),
        "no_winner": winners_per_round.count(0),
        "answers": dict(answers),
        **summary(settled_ms, "all_answered_"),
    }


async def cli_rounds(claims: Claims) -> dict[str, Any]:
    made = [await claims.cli(claims.actor()) for _ in budgeted(CLI_ROUNDS, CLI_BUDGET)]
    cli = [ms for ms in made if ms is not None]
    return summary(cli) | {"rounds": len(made), "won": len(cli)}


async def killed_rounds(claims: Claims) -> dict[str, Any]:
    """One member killed -9 (inside its lease); the survivors' decided claims from then on."""
    victim = list(claims.clients)[-1]
    survivors = [s for s in claims.clients if s != victim]
    claims.room.kill_node(victim)
    killed = time.monotonic()
    made = [await claims.api(claims.actor(survivors))
            for _ in budgeted(KILLED_ROUNDS, KILLED_BUDGET)]  # fmt: skip
    latencies = [ms for ms in made if ms is not None]
    return {
        "victim": victim,
        "rounds": len(made),
        "won": len(latencies),
        "first_ms": None if made[0] is None else round(made[0], 2),
        "last_answer_after_kill_s": round(time.monotonic() - killed, 2),
        **summary(latencies, "decided_claim_"),
    }


class Phases:
    """Seconds each phase of a room took (``phase_seconds``)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._began = time.monotonic()

    def done(self, name: str) -> None:
        self.seconds[name] = round(time.monotonic() - self._began, 1)
        self._began = time.monotonic()


async def measure_room(
    size: int, claims: Claims, bare: BareAckRoom, phases: Phases
) -> dict[str, Any]:
    figures: dict[str, Any] = {}
    budget = LATENCY_BUDGET.get(size, 30.0)
    progress(f"N={size}: decided claims beside bare ack round trips, each in a room at rest")
    rest: list[float] = []
    api, rtt = await latency_rounds(claims, bare, budgeted(ROUNDS, budget), rest=rest)
    figures["decided_claim_api"] = summary(api) | {"rounds": len(rtt), "won": len(api)}
    figures["bare_ack_round_trip"] = summary(rtt) | {"rounds": len(rtt), "bytes": bare.frame_size}
    figures["git_settling"] = summary([s * 1000 for s in rest])
    if api:
        figures["api_p50_over_bare_p50"] = round(statistics.median(api) / statistics.median(rtt), 2)
        figures["api_p99_over_bare_p99"] = round(percentile(api, 0.99) / percentile(rtt, 0.99), 2)
    phases.done("latency_s")
    progress(f"N={size}: decided claims back to back (the git tier still busy with the last)")
    api, rtt = await latency_rounds(claims, bare, budgeted(ROUNDS, budget))
    figures["back_to_back"] = {
        "decided_claim_api": summary(api) | {"rounds": len(rtt), "won": len(api)},
        "bare_ack_round_trip": summary(rtt),
    }
    if api:
        figures["back_to_back"]["api_p50_over_bare_p50"] = round(
            statistics.median(api) / statistics.median(rtt), 2
        )
    phases.done("back_to_back_s")
    if size == RACE_SIZE:
        progress(f"N={size}: race, {RACE_ROUNDS} rounds")
        figures["race"] = await race(claims, RACE_ROUNDS)
        phases.done("race_s")
    progress(f"N={size}: claims through the CLI")
    figures["decided_claim_cli"] = await cli_rounds(claims)
    phases.done("cli_s")
    if size == RACE_SIZE:
        progress(f"N={size}: one member killed -9, then claims")
        figures["member_killed"] = await killed_rounds(claims)
        phases.done("killed_s")
    figures["failures"] = dict(claims.failures)
    return figures


async def measure(size: int, url: str, keep: Path | None, node_args: list[str]) -> dict[str, Any]:
    """A bare ack room and a room of ``size`` node processes, up together for the whole run."""
    phases = Phases()
    progress(f"N={size}: bare aiortc ack room and a room of {size} node processes")
    bare = BareAckRoom(url, size, claim_frame_size("session-2-webrtc"))
    try:
        await bare.start()
        with contextlib.ExitStack() as temporary:
            if keep is None:
                path = Path(temporary.enter_context(tempfile.TemporaryDirectory(prefix="claims-")))
            else:  # --keep: the room's logs and git remote stay for a look afterwards
                path = keep / f"n{size}"
                path.mkdir(parents=True)
            # Fresh STATUS files only for the sessions that run a node: a session active
            # without one would send every claim to git (docs/claims.md).
            running = [session for session, _ in session_list(size)]
            room = LocalRoom(path / "room", sessions=size, board=claim_board(path),
                             extra_args=node_args, status_sessions=running)  # fmt: skip
            async with room, contextlib.AsyncExitStack() as stack:
                await room.wait_mesh(timeout=START)
                # One connection per node, held for the run, as an agent's integration holds it.
                clients = {s: await stack.enter_async_context(room.client(s)) for s in room.members}
                phases.done("start_s")
                figures = await measure_room(size, Claims(room, clients), bare, phases)
    finally:
        await bare.stop()
    return figures | {"phase_seconds": phases.seconds}


async def main() -> None:
    global SIZES, ROUNDS, RACE_ROUNDS
    parser = argparse.ArgumentParser(description="decided claims (see module docstring)")
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)), help="e.g. 3 or 3,8")
    parser.add_argument("--rounds", type=int, default=ROUNDS, help="decided claims per N")
    parser.add_argument("--race-rounds", type=int, default=RACE_ROUNDS)
    parser.add_argument(
        "--keep", type=Path, help="keep the rooms (logs, remotes) under this new dir"
    )
    parser.add_argument("--node-log-level", help="e.g. debug: the nodes' pushes and turns")
    parser.add_argument(
        "--node-args", default="", help="more `ifmesh node` flags, e.g. --no-signing"
    )
    args = parser.parse_args()
    SIZES = tuple(int(size) for size in args.sizes.split(","))
    ROUNDS, RACE_ROUNDS = args.rounds, args.race_rounds
    logging.basicConfig(stream=sys.stderr, level=logging.ERROR)
    figures: dict[str, Any] = {}
    checks: list[dict[str, Any]] = []
    server = SignalingServer(ServerConfig(port=0))  # the bare rooms' rendezvous, 127.0.0.1
    await server.start()
    try:
        for size in SIZES:
            name = f"N={size} decided claim p50 vs bare ack round trip"
            try:
                node_args = ["--log-level", args.node_log_level] if args.node_log_level else []
                node_args += args.node_args.split()
                result = await measure(size, server.url, args.keep, node_args)
            except Exception as exc:  # any failure: the run still exits 0 and says what broke
                # A missed measurement is information: reported, and its checks as missed.
                progress(f"N={size} failed: {exc!r}")
                figures[f"n{size}"] = {"error": f"{type(exc).__name__}: {exc}"}
                checks.append(check(name, 1e9, "ratio", "<=", 2.0))
                continue
            figures[f"n{size}"] = result
            progress(f"N={size}: {json.dumps(result)}")
            checks.append(check(name, result.get("api_p50_over_bare_p50", 1e9), "ratio", "<=",
                                2.0))  # fmt: skip
    finally:
        await server.stop()
    race_figures = figures.get(f"n{RACE_SIZE}", {}).get("race", {})
    checks.append(check("race rounds with exactly one winner",
                        race_figures.get("exactly_one_winner", 0), "rounds", ">=",
                        RACE_ROUNDS))  # fmt: skip
    checks.append(check("rounds with two winners",
                        race_figures.get("two_or_more_winners", RACE_ROUNDS), "rounds", "<=",
                        0))  # fmt: skip
    print(json.dumps({"benchmark": "claims", "figures": figures, "checks": checks}))


if __name__ == "__main__":
    asyncio.run(main())
