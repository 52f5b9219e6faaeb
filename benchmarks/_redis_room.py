"""A LocalRoom on several signaling instances that share rooms through one real redis-server
(benchmarks/scale.py, benchmarks/soak.py): nodes are spread over the instances round-robin,
any instance can be killed and started again on its port, and the room may exceed `ifmesh
up`'s 16 sessions. Everything listens on 127.0.0.1."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

from ifmesh.node.cli.room import LocalRoom, free_port


def start_redis(directory: Path) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    process = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--dir", str(directory)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while True:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            return process, port
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError("redis-server did not start")
        time.sleep(0.05)


@dataclass
class RedisRoom(LocalRoom):
    max_sessions: ClassVar[int] = 64
    instances: int = 3
    redis_url: str = ""
    ports: list[int] = field(default_factory=list)
    servers: list[subprocess.Popen[bytes] | None] = field(default_factory=list)

    def instance_of(self, session: str) -> int:
        return list(self.members).index(session) % self.instances

    async def start_signaling(self) -> None:
        self.ports = [free_port() for _ in range(self.instances)]
        self.servers = [None] * self.instances
        for index in range(self.instances):
            await self.start_instance(index)
        self.signaling_port = self.ports[0]

    async def start_instance(self, index: int) -> None:
        port = self.ports[index]
        self.servers[index] = self._spawn(
            ["signaling", "--host", "127.0.0.1", "--port", str(port), "--redis", self.redis_url,
             "--max-peers", "128"],
            f"signaling-{index}.log",
        )  # fmt: skip

        def answers() -> bool:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
                return True
            return False

        await self._until(answers, 30, f"signaling instance {index}")

    def kill_instance(self, index: int, how: signal.Signals = signal.SIGKILL) -> None:
        process = self.servers[index]
        if process is not None:
            process.send_signal(how)
            process.wait(15)
            self.servers[index] = None

    def node_args(self, session: str) -> list[str]:
        args = super().node_args(session)
        port = self.ports[self.instance_of(session)]
        args[args.index("--signaling") + 1] = f"ws://127.0.0.1:{port}/ws"
        return args

    async def stop_signaling(self) -> None:
        for index, process in enumerate(self.servers):
            if process is not None:
                process.send_signal(signal.SIGTERM)
                try:
                    await asyncio.to_thread(process.wait, 15)
                except subprocess.TimeoutExpired:
                    process.kill()
                self.servers[index] = None


def rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of ``pid`` so far (its threads included)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    ticks = int(fields[11]) + int(fields[12])  # utime, stime (fields 14, 15 of stat)
    return ticks / _CLOCK_TICKS


def machine_busy_seconds() -> float:
    """CPU seconds this host's cores have spent busy so far (/proc/stat: all but idle and
    iowait); over a phase, divided by its wall time, the cores it kept busy."""
    ticks = [int(t) for t in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (sum(ticks) - ticks[3] - ticks[4]) / _CLOCK_TICKS


def open_fds(pid: int) -> int | None:
    try:
        return len(list(Path(f"/proc/{pid}/fd").iterdir()))
    except OSError:
        return None


def fd_kinds(pid: int) -> dict[str, int]:
    """What ``pid``'s open descriptors are, counted by kind (socket, pipe, anon_inode:…, or
    the file's directory): where a growth of open fds went."""
    kinds: dict[str, int] = {}
    with contextlib.suppress(OSError):
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            with contextlib.suppress(OSError):
                target = str(fd.readlink())
                kind = target.split(":")[0] if ":" in target else str(Path(target).parent)
                kinds[kind] = kinds.get(kind, 0) + 1
    return kinds


_CLOCK_TICKS = float(__import__("os").sysconf("SC_CLK_TCK"))
