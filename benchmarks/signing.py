"""What signing costs: per message, and on the decided-claim path of a room of 8 nodes.

Measured in the same run, next to each other:

* per message, in this process: ifmesh's sign (node.identity.seal.sign: the canonical bytes
  of every field but ``signature`` and ``hops``, Ed25519, the signature object) plus its check
  (seal.check: the signed_fields rule, the canonical bytes again, Ed25519 verify), against
  ``cryptography``'s bare Ed25519 sign plus verify of the same bytes. Blocks of each alternate
  (BLOCKS x BLOCK_SIZE), so both see the same load; p50 of the per-message times. Reported
  beside it: the gate's whole judgement (what the mesh inbox runs per event) and the size of a
  claim on the wire with and without its signature;
* mesh broadcast latency at N = 8, signed against unsigned: two rooms of 8 mesh processes
  against one in-process signaling server, all on 127.0.0.1, up at once: the mesh probe
  (``python -m ifmesh.node.mesh.probe``, as benchmarks/mesh.py runs it) and the same probe with
  signing on (benchmarks/_signing_mesh_node.py: the sender signs inside ``broadcast``, each
  receiver's inbox runs the identity gate before it accepts). A claim-sized message from one
  node until the last receiver accepted it, p50/p99 over LATENCY_ROUNDS rounds, the rooms
  alternating which goes first;
* the decided-claim path at N = 8 (reported, not checked): two rooms of 8 real `ifmesh node`
  processes (LocalRoom: a bare git remote, a signaling process), one signing (the default)
  and one with ``--no-signing``. A claim is a broadcast and an ack from each peer, and each
  receiver verifies before it acks. Claim by claim the rooms take turns, each claim of a fresh
  task by a member drawn at random (seeded) in a room at rest, as benchmarks/claims.py
  measures it. Each claim waits for git to settle, so this gets few samples in its budget, and
  two *equal* rooms measured this way differ by up to ~25 % here (``--same`` runs that A/A
  comparison): the broadcast figure above is the check.

Targets (issue 23): sign+verify p50 <= 1.3x cryptography's bare sign+verify p50; mesh broadcast
p50 at N = 8 signed <= 1.3x unsigned.
Run: .venv/bin/python benchmarks/signing.py   (last stdout line: the JSON result)
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
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks._figures import check, percentile, progress  # noqa: E402
from benchmarks._probe_room import Launch, ProbeRoom, mesh_probe  # noqa: E402
from ifmesh.node.cli.room import LocalRoom  # noqa: E402
from ifmesh.node.control.client import ControlClient  # noqa: E402
from ifmesh.node.errors import IfmeshError  # noqa: E402
from ifmesh.node.identity import seal  # noqa: E402
from ifmesh.node.identity.gate import Gate, Verdict, VerifiedSignatures  # noqa: E402
from ifmesh.node.identity.keys import SessionKey  # noqa: E402
from ifmesh.node.identity.pins import FIRST_USE, Pin, PinBook  # noqa: E402
from ifmesh.node.mesh.probe import ProbeProcess  # noqa: E402
from ifmesh.node.protocol import codec, messages  # noqa: E402
from ifmesh.signaling.config import ServerConfig  # noqa: E402
from ifmesh.signaling.server import SignalingServer  # noqa: E402

LATENCY_ROUNDS = 300  # per room
BLOCKS = 40
BLOCK_SIZE = 50  # messages per block: 2,000 of each kind
SIZE = 8
ROUNDS = 30  # claims per room, alternating
BUDGET = 90.0  # seconds for the claim rounds (never fewer than MIN_ROUNDS each)
MIN_ROUNDS = 6
BOARD_TASKS = 120
SEED = 23
START = 240.0
WAIT = 60.0
REST_POLL = 0.02
CLAIM_TIMEOUT = 60.0
CALL_TIMEOUT = 90.0
HEADER = (
    "# Signing benchmark board\n\n"
    "| ID | Task | Status | Owner | Dependencies | Deliverable | Est | Model |\n"
    "|----|------|--------|-------|--------------|-------------|-----|-------|\n"
)


def summary(values: list[float], unit: str = "ms") -> dict[str, float]:
    if not values:
        return {}
    return {
        f"p50_{unit}": round(statistics.median(values), 3),
        f"p99_{unit}": round(percentile(values, 0.99), 3),
        "samples": len(values),
    }


# --- per message ------------------------------------------------------------------------------


def a_claim(session: str, seq: int) -> messages.Envelope:
    now = datetime.now(UTC)
    payload = messages.TaskClaim(task_id=f"P0.{seq}", epoch=0, swarm_id=session, timestamp=now)
    return messages.make_message(
        payload, source=session, timestamp=now, seq=seq, lamport=seq, incarnation="1a2b3c4d",
        sender=messages.agent_uri(session),
    )  # fmt: skip


def per_message() -> dict[str, Any]:
    key = SessionKey.generate()
    session = "session-2-webrtc"
    gate = Gate(PinBook([Pin(session, key.public, "", FIRST_USE)]))
    gate.verified = VerifiedSignatures(capacity=0)  # each judgement verifies: no repeats here
    events = [a_claim(session, n) for n in range(1, BLOCK_SIZE + 1)]
    received = [codec.decode(codec.encode(seal.sign(e, key))) for e in events]
    fields = [codec.signable_fields(e) for e in events]
    data = [codec.signing_bytes(e, f) for e, f in zip(events, fields, strict=True)]
    ours: list[float] = []
    bare: list[float] = []
    judged: list[float] = []
    clock = time.perf_counter
    for block in range(BLOCKS):
        for kind in ("ours", "bare") if block % 2 == 0 else ("bare", "ours"):
            for index in range(BLOCK_SIZE):
                start = clock()
                if kind == "ours":
                    signed = seal.sign(events[index], key)
                    seal.check(received[index], key.public)
                    sample = ours
                else:
                    signature = key.private.sign(data[index])
                    key.public.key.verify(signature, data[index])
                    sample = bare
                sample.append((clock() - start) * 1e6)
        for index in range(BLOCK_SIZE):
            start = clock()
            assert gate.judge(received[index]).verdict is Verdict.ACCEPT
            judged.append((clock() - start) * 1e6)
    assert signed.signature is not None
    return {
        "ifmesh_sign_verify": summary(ours, "us"),
        "cryptography_sign_verify": summary(bare, "us"),
        "gate_judgement": summary(judged, "us"),
        "claim_bytes_unsigned": len(codec.encode(events[0])),
        "claim_bytes_signed": len(codec.encode(seal.sign(events[0], key))),
    }


# --- mesh broadcast at N = 8 ------------------------------------------------------------------


def signing_probe(url: str) -> Launch:
    """The mesh probe with signing on (benchmarks/_signing_mesh_node.py)."""
    script = str(ROOT / "benchmarks" / "_signing_mesh_node.py")
    return lambda room, session: ProbeProcess(session, [
        sys.executable, script, "--signaling", url, "--room", room, "--session", session,
        "--host-address", "127.0.0.1",
    ])  # fmt: skip


async def broadcast_ms(room: ProbeRoom, label: str) -> float:
    """Milliseconds from the sender's broadcast until the last receiver accepted the message."""
    began, arrived = await room.broadcast(label, 1)
    return (max(arrived) - began) * 1000


async def mesh_broadcast(rounds: int) -> dict[str, Any]:
    progress(f"N={SIZE}: mesh broadcast, signed beside unsigned, {rounds} rounds each")
    server = SignalingServer(ServerConfig(port=0))
    await server.start()
    rooms = {
        "signed": ProbeRoom("signed", SIZE, signing_probe(server.url)),
        "unsigned": ProbeRoom("unsigned", SIZE, mesh_probe(server.url)),
    }
    latencies: dict[str, list[float]] = {kind: [] for kind in rooms}
    try:
        for room in rooms.values():
            await room.start(START)
            await room.form(START)
        for round_ in range(rounds):
            order = ("signed", "unsigned") if round_ % 2 == 0 else ("unsigned", "signed")
            for kind in order:
                latencies[kind].append(await broadcast_ms(rooms[kind], f"lat{round_}"))
    finally:
        for room in rooms.values():
            await room.stop()
        await server.stop()
    return {kind: summary(values) for kind, values in latencies.items()}


# --- the decided-claim path at N = 8 ----------------------------------------------------------


def claim_board(directory: Path) -> Path:
    rows = [f"| R.{n} | Claim {n} | 🔵 AVAILABLE | - | None | `r{n}.md` | 1h | Haiku |\n"
            for n in range(1, BOARD_TASKS + 1)]  # fmt: skip
    path = directory / "signing-board.md"
    path.write_text(HEADER + "".join(rows), encoding="utf-8")
    return path


class Room:
    """One room's members, their held connections, and the fresh tasks left to claim."""

    def __init__(self, name: str, room: LocalRoom, clients: dict[str, ControlClient]) -> None:
        self.name = name
        self.room = room
        self.clients = clients
        self.rng = random.Random(SEED)
        self._tasks: Iterator[str] = iter(f"R.{n}" for n in range(1, BOARD_TASKS + 1))
        self.last_task: str | None = None
        self.latencies: list[float] = []
        self.failures: dict[str, int] = {}

    async def at_rest(self) -> None:
        """Every node holds the last claim confirmed by git, and no commit waits anywhere."""
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            statuses = await asyncio.gather(*(c.query("status") for c in self.clients.values()))
            boards = await asyncio.gather(*(c.query("board") for c in self.clients.values()))
            idle = all(s["git"]["pending_commits"] == 0 for s in statuses)
            confirmed = self.last_task is None or all(
                t["confirmed"] for b in boards for t in b["tasks"] if t["id"] == self.last_task
            )
            if idle and confirmed:
                return
            await asyncio.sleep(REST_POLL)
        raise IfmeshError(f"{self.name}: the room did not come to rest within {WAIT} s")

    async def claim(self) -> None:
        actor = self.rng.choice(sorted(self.clients))
        self.last_task = task = next(self._tasks)
        start = time.monotonic()
        try:
            result = await self.clients[actor].call(
                "claim", {"task": task, "timeout": CLAIM_TIMEOUT}, timeout=CALL_TIMEOUT
            )
        except IfmeshError as exc:
            self.failures[exc.code] = self.failures.get(exc.code, 0) + 1
            progress(f"  {self.name}: claim by {actor} failed: {exc.code}: {exc}")
            return
        elapsed = (time.monotonic() - start) * 1000
        if result.get("won") and result.get("decided_by") == "mesh":
            self.latencies.append(elapsed)
        else:
            reason = f"decided_by_{result.get('decided_by')}"
            self.failures[reason] = self.failures.get(reason, 0) + 1


@contextlib.asynccontextmanager
async def started(name: str, directory: Path, extra: list[str]) -> Any:
    board = claim_board(directory)
    async with LocalRoom(
        directory / name, sessions=SIZE, fetch_interval_seconds=2, board=board,
        extra_args=extra, start_timeout=START,
    ) as room:  # fmt: skip
        await room.wait_mesh(timeout=START)
        async with contextlib.AsyncExitStack() as stack:
            clients = {
                s: await stack.enter_async_context(room.client(s)) for s in sorted(room.members)
            }
            yield Room(name, room, clients)


async def claim_path(directory: Path, *, same: bool = False) -> dict[str, Any]:
    progress(f"N={SIZE}: starting a signing room and an unsigned room")
    async with (
        started("signed", directory, []) as signed,
        started("unsigned", directory, [] if same else ["--no-signing"]) as unsigned,
    ):
        for room in (signed, unsigned):  # a first claim warms each room's paths up
            await room.at_rest()
            await room.claim()
            room.latencies.clear()
        deadline = time.monotonic() + BUDGET
        for round_ in range(ROUNDS):
            if round_ >= MIN_ROUNDS and time.monotonic() >= deadline:
                break
            order = (signed, unsigned) if round_ % 2 == 0 else (unsigned, signed)
            for room in order:
                await room.at_rest()
                await room.claim()
        identity = (await signed.clients[sorted(signed.clients)[0]].query("status"))["identity"]
        return {
            "signed": summary(signed.latencies) | {"failures": signed.failures},
            "unsigned": summary(unsigned.latencies) | {"failures": unsigned.failures},
            "signed_room_refusals": identity["refused"]["by_code"],
        }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="per-message figures only")
    parser.add_argument("--rounds", type=int, default=LATENCY_ROUNDS, help="broadcast rounds")
    parser.add_argument("--no-claims", action="store_true", help="skip the decided-claim rooms")
    parser.add_argument(
        "--same",
        action="store_true",
        help="both rooms sign (an A/A run: how far apart two equal rooms measure here)",
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    figures: dict[str, Any] = {}
    checks = []
    progress("per message: ifmesh sign+verify beside cryptography's bare sign+verify")
    figures["per_message"] = per_message()
    ours = figures["per_message"]["ifmesh_sign_verify"]["p50_us"]
    bare = figures["per_message"]["cryptography_sign_verify"]["p50_us"]
    checks.append(check("sign+verify per message vs raw cryptography", round(ours / bare, 3),
                        "ratio", "<=", 1.3))  # fmt: skip
    if not args.quick:
        try:
            figures["mesh_broadcast_n8"] = mesh = await mesh_broadcast(args.rounds)
            ratio = mesh["signed"]["p50_ms"] / mesh["unsigned"]["p50_ms"]
            figures["mesh_broadcast_n8"]["p99_signed_over_unsigned"] = round(
                mesh["signed"]["p99_ms"] / mesh["unsigned"]["p99_ms"], 3
            )
        except (TimeoutError, EOFError, KeyError, OSError) as exc:
            # A missed measurement is information: report it, and its check as missed.
            figures["mesh_broadcast_n8"] = {"error": f"{type(exc).__name__}: {exc}"}
            ratio = 1e9
        checks.append(check("N=8 p50 signed vs unsigned", round(ratio, 3), "ratio", "<=", 1.3))
    if not args.quick and not args.no_claims:
        with tempfile.TemporaryDirectory(prefix="ifmesh-signing-") as scratch:
            try:
                path = await claim_path(Path(scratch), same=args.same)
                path["p50_signed_over_unsigned"] = round(
                    path["signed"]["p50_ms"] / path["unsigned"]["p50_ms"], 3
                )
                figures["decided_claim_n8"] = path
            except (IfmeshError, KeyError, OSError) as exc:
                figures["decided_claim_n8"] = {"error": f"{type(exc).__name__}: {exc}"}
    print(json.dumps({"benchmark": "signing", "figures": figures, "checks": checks}))


if __name__ == "__main__":
    asyncio.run(main())
