"""A mesh-only node process driven by JSON lines, and the driver that runs one.

``python -m ifmesh.node.mesh.probe --signaling ws://127.0.0.1:8765/ws --room R --session S`` joins
nothing until told to: it reads commands from stdin and writes events to stdout, one JSON
object per line, each stamped ``t`` with ``time.monotonic()`` (one clock for every process of
a Linux host, so latencies can be computed across processes). Integration tests use it to run
nodes as real OS processes (and ``kill -9`` them); ``benchmarks/mesh.py`` drives it and a bare
aiortc twin speaking the same lines.

Commands: ``{"cmd": "join"}``, ``{"cmd": "broadcast", "label": L, "count": n, "pad": bytes,
"ack": bool}``, ``{"cmd": "metrics"}``, ``{"cmd": "close"}``.
Events: ``started``, ``joined``, ``up``/``down``/``suspect`` (with ``peer``), ``message`` (per
message, ``t`` being when the mesh accepted it), ``flood`` (once ``n`` messages of a ``flood*``
label came from a peer), ``sent`` (``t_first``: when the first broadcast began), ``metrics`` (with
``rss_kb``), ``closed``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import logging
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import structlog

from ifmesh.node.mesh.config import MeshConfig
from ifmesh.node.mesh.events import (
    MeshReady,
    MessageReceived,
    PeerDown,
    PeerSuspect,
    PeerUp,
    SignalingChanged,
)
from ifmesh.node.mesh.liveness import LivenessConfig
from ifmesh.node.mesh.mesh import Mesh
from ifmesh.node.protocol import messages

Event = dict[str, Any]


def rss_kb() -> int:
    """Resident set size of this process (Linux /proc), in KiB; 0 where unknown."""
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def emit(event: str, **fields: Any) -> None:
    fields["event"] = event
    fields.setdefault("t", time.monotonic())
    with contextlib.suppress(BrokenPipeError):  # the driver went away: nobody to tell
        sys.stdout.buffer.write(orjson.dumps(fields) + b"\n")
        sys.stdout.buffer.flush()


def probe_message(source: str, label: str, index: int, count: int, pad: int) -> messages.Envelope:
    metadata: dict[str, Any] = {"label": label, "i": index, "n": count, "t": time.monotonic()}
    if pad:
        metadata["pad"] = "x" * pad
    payload = messages.TaskClaim(
        task_id="PROBE.1", epoch=0, swarm_id=source, timestamp=datetime.now(UTC), metadata=metadata
    )
    return messages.make_message(payload, source=source, timestamp=datetime.now(UTC))


@dataclass
class _Floods:
    counts: dict[tuple[str, str], int] = field(default_factory=dict)
    first: dict[tuple[str, str], float] = field(default_factory=dict)

    def count(self, peer: str, label: str, total: int, now: float) -> None:
        key = (peer, label)
        self.first.setdefault(key, now)
        self.counts[key] = self.counts.get(key, 0) + 1
        if self.counts[key] == total:
            emit("flood", peer=peer, label=label, count=total, t_first=self.first[key], t=now)


def _reporter() -> Callable[[MessageReceived], None]:
    """What the probe does with each message, inside the mesh's delivery callback (as a node
    does, through :meth:`Mesh.on_message`), as the bare twin does in its channel callback."""
    floods = _Floods()

    def report(event: MessageReceived) -> None:
        meta = getattr(event.message.payload, "metadata", {})
        label = str(meta.get("label", ""))
        # The time the mesh accepted the message, as the bare twin stamps its own in the
        # channel callback: both before aiortc's SACK.
        if label.startswith("flood"):
            floods.count(event.peer, label, int(meta["n"]), event.received_at)
        else:
            emit("message", peer=event.peer, label=label, i=meta.get("i"), size=event.size,
                 t=event.received_at)  # fmt: skip

    return report


async def _watch(mesh: Mesh) -> None:
    async for event in mesh.events():
        if isinstance(event, PeerUp):
            emit("up", peer=event.peer, epoch=event.epoch)
        elif isinstance(event, PeerDown):
            emit("down", peer=event.peer, reason=event.reason.value, detail=event.detail)
        elif isinstance(event, PeerSuspect):
            emit("suspect", peer=event.peer)
        elif isinstance(event, SignalingChanged) and event.joined:
            emit("joined")
        elif isinstance(event, MeshReady):
            # What forming the mesh built (connections, certificates, SDP) lives as long as
            # the pairs do: out of the collector's generations, it costs no pause later.
            gc.freeze()


async def _commands() -> asyncio.StreamReader:
    reader = asyncio.StreamReader()
    loop = asyncio.get_running_loop()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    return reader


async def run(config: MeshConfig) -> None:
    commands = await _commands()
    # Start-up garbage collected and what remains frozen before any clock starts: otherwise
    # the first full collection (~150 ms with aiortc and pydantic loaded) lands mid-run.
    gc.collect()
    gc.freeze()
    emit("started", pid=os.getpid())
    mesh: Mesh | None = None
    watcher: asyncio.Task[None] | None = None
    while line := await commands.readline():
        command = orjson.loads(line)
        kind = command.get("cmd")
        if kind == "join" and mesh is None:
            mesh = Mesh(config)
            mesh.on_message(_reporter())
            watcher = asyncio.create_task(_watch(mesh))
            await mesh.__aenter__()
            # Everything loaded so far (pydantic schemas, aiortc) lives as long as the process:
            # keeping it out of the collector's generations keeps GC pauses off message paths.
            gc.freeze()
        elif kind == "broadcast" and mesh is not None:
            count, pad = int(command.get("count", 1)), int(command.get("pad", 0))
            acked: set[str] = set()
            # Built before the clock starts: constructing messages is the application's work,
            # sending them (encoding included) is the mesh's.
            label = str(command["label"])
            batch = [probe_message(config.session, label, 0, count, pad)]
            for index in range(1, count):
                if label.startswith("flood"):
                    # One shared payload, a new id each: the RSS figure should measure the
                    # mesh, not thousands of payloads this scaffolding holds at once.
                    batch.append(batch[0].model_copy(update={"id": messages.new_message_id()}))
                else:
                    batch.append(probe_message(config.session, label, index, count, pad))
            started = time.monotonic()
            for message in batch:
                acked |= await mesh.broadcast(message, ack=bool(command.get("ack")))
            emit("sent", label=command["label"], count=count, acked=sorted(acked),
                 t_first=started)  # fmt: skip
        elif kind == "metrics":
            peers = {} if mesh is None else mesh.metrics()
            emit("metrics", rss_kb=rss_kb(),
                 peers={p: {"state": m.state.value, "rtt": m.rtt, "messages_in": m.messages_in,
                            "reconnects": m.reconnects} for p, m in peers.items()})  # fmt: skip
        elif kind == "close":
            break
    if mesh is not None:
        await mesh.close()
    if watcher is not None:
        await watcher
    emit("closed")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ifmesh.node.mesh.probe", description=__doc__)
    parser.add_argument("--signaling", required=True, help="ws://HOST:PORT/ws")
    parser.add_argument("--room", required=True)
    parser.add_argument("--session", required=True)
    parser.add_argument("--host-address", action="append", help="gather only these (repeat)")
    parser.add_argument("--liveness", default="1,3,5", help="ping,suspect,dead seconds")
    args = parser.parse_args(argv)
    # stdout carries the protocol: logs go to stderr, warnings and worse only.
    logging.basicConfig(stream=sys.stderr, level=logging.WARNING)
    structlog.configure(
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
        wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING),
    )
    ping, suspect, dead = (float(x) for x in args.liveness.split(","))
    config = MeshConfig(
        args.signaling, args.room, args.session, host_addresses=args.host_address,
        liveness=LivenessConfig(ping, suspect, dead), join_timeout=30.0,
    )  # fmt: skip
    asyncio.run(run(config))
    return 0


# --- the driver side ----------------------------------------------------------------------


class ProbeProcess:
    """One probe (or a twin speaking its lines) as a child process, with its event stream."""

    def __init__(self, session: str, argv: Sequence[str]) -> None:
        self.session = session
        self.argv = list(argv)
        self.events: list[Event] = []
        self._arrived = asyncio.Event()
        self.process: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task[None] | None = None

    @classmethod
    def mesh(cls, signaling_url: str, room: str, session: str, *extra: str) -> ProbeProcess:
        argv = [
            *(sys.executable, "-m", "ifmesh.node.mesh.probe", "--signaling", signaling_url),
            *("--room", room, "--session", session, "--host-address", "127.0.0.1", *extra),
        ]
        return cls(session, argv)

    async def start(self, cwd: str | None = None) -> None:
        self.process = await asyncio.create_subprocess_exec(
            *self.argv, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            cwd=cwd,
        )  # fmt: skip
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self.process is not None and self.process.stdout is not None
        while line := await self.process.stdout.readline():
            self.events.append(orjson.loads(line))
            self._arrived.set()
        self._arrived.set()

    async def command(self, cmd: str, **fields: Any) -> None:
        assert self.process is not None and self.process.stdin is not None
        self.process.stdin.write(orjson.dumps({"cmd": cmd, **fields}) + b"\n")
        await self.process.stdin.drain()

    async def expect(self, match: Callable[[Event], bool], timeout: float, start: int = 0) -> Event:
        """The first event (from index ``start``) matching ``match``, waiting up to ``timeout``."""
        async with asyncio.timeout(timeout):
            seen = start
            while True:
                for event in self.events[seen:]:
                    if match(event):
                        return event
                seen = len(self.events)
                if self._reader is not None and self._reader.done():
                    raise EOFError(f"probe {self.session} exited; last events {self.events[-3:]}")
                self._arrived.clear()
                await self._arrived.wait()

    def kill(self) -> None:
        assert self.process is not None
        self.process.kill()

    async def stop(self) -> None:
        """Closes the probe gracefully (bounded), else kills it; always reaps it."""
        if self.process is None or self.process.returncode is not None:
            return
        with contextlib.suppress(ConnectionError, RuntimeError):
            await self.command("close")
        try:
            async with asyncio.timeout(10):
                await self.process.wait()
        except TimeoutError:
            self.process.kill()
            await self.process.wait()
        if self._reader is not None:
            await self._reader


if __name__ == "__main__":
    sys.exit(main())
