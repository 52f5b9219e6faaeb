"""A whole room on one machine, as real processes: a bare git remote seeded with a board, a
signaling server and N nodes, all on 127.0.0.1. `ifmesh up` and the end-to-end tests use it.

Every process is a real `ifmesh` process started the way a user would start it; this module
only chooses ports and directories and waits until each part answers.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import ClassVar

from ifmesh import shipped_path
from ifmesh.node.cli.signals import STOP_WITH_PARENT
from ifmesh.node.control.client import ControlClient
from ifmesh.node.control.endpoint import ControlEndpoint, find_node
from ifmesh.node.errors import ControlError, IfmeshError
from ifmesh.node.gitsync.paths import BOARD_PATH, status_path

BRANCH = "ifmesh/coordination"
EXAMPLE_BOARD = shipped_path("examples", "phase0", BOARD_PATH)
SESSIONS = (
    ("session-2-webrtc", "docs:technical-writing,protocol:webrtc,test:fixtures,protocol:sdp"),
    ("session-3-h323", "protocol:h323,media:mcu,test:integration,lang:python"),
    ("session-5-cli", "lang:python,tooling:cli,test:integration,governor:policy"),
    ("session-1-ndi", "protocol:ndi,media:video-routing,test:integration,lang:python"),
    ("session-4-sip", "protocol:sip,protocol:sdp,test:sipp,lang:python"),
)


def session_list(count: int) -> list[tuple[str, str]]:
    """The Phase-0 sessions first; beyond five, plain extra sessions (benchmarks use 8)."""
    extra = [(f"session-{n}-peer", "lang:python,test:integration") for n in range(6, count + 1)]
    return [*SESSIONS, *extra][:count]


class RoomError(IfmeshError):
    code = "room_error"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _git(*args: str, cwd: Path) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def seed_remote(
    directory: Path,
    board: Path = EXAMPLE_BOARD,
    sessions: Sequence[str] = (),
    files: Mapping[str, bytes] | None = None,
) -> Path:
    """A bare remote whose coordination branch holds ``board`` and a fresh STATUS per session
    (fresh, so their claims on the example board are not stale when the room starts), then
    ``files`` as given (path → bytes: STATUS files as sessions wrote them, say)."""
    remote, work = directory / "remote.git", directory / "seed"
    _git("init", "--quiet", "--bare", str(remote), cwd=directory)
    _git("init", "--quiet", "-b", BRANCH, str(work), cwd=directory)
    (work / BOARD_PATH).write_bytes(board.read_bytes())
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    for session in sessions:
        (work / status_path(session)).write_text(
            f"session: {session}\nstatus: polling\ntimestamp: {stamp}\n", encoding="utf-8"
        )
    for path, data in (files or {}).items():
        (work / path).parent.mkdir(parents=True, exist_ok=True)
        (work / path).write_bytes(data)
    _git("add", ".", cwd=work)
    _git("-c", "user.name=ifmesh", "-c", "user.email=ifmesh@localhost", "commit", "--quiet",
         "-m", "chore: Phase-0 task board", cwd=work)  # fmt: skip
    _git("push", "--quiet", str(remote), BRANCH, cwd=work)
    return remote


def ifmesh_command() -> list[str]:
    return [sys.executable, "-m", "ifmesh"]


@dataclass
class Member:
    session: str
    capabilities: str
    process: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None


@dataclass
class LocalRoom:
    directory: Path
    sessions: int = 3
    lease_seconds: float = 900.0
    fetch_interval_seconds: float = 30.0
    extra_args: Sequence[str] = ()
    board: Path = EXAMPLE_BOARD
    # Further files on the coordination branch (path → bytes); STATUS files here replace the
    # fresh ones `seed_remote` writes for the sessions that share their name.
    files: Mapping[str, bytes] = field(default_factory=dict)
    status_sessions: Sequence[str] | None = None  # who gets a fresh STATUS (default: all five)
    start_timeout: float = 120.0  # per node, until its control API answers (loaded machines)
    members: dict[str, Member] = field(default_factory=dict)
    signaling: subprocess.Popen[bytes] | None = None
    signaling_port: int = 0
    remote: Path | None = None
    max_sessions: ClassVar[int] = 16  # `ifmesh up`'s limit; the scale benchmark goes further

    @property
    def state_root(self) -> Path:
        """Where the nodes' state directories are (``$XDG_STATE_HOME/ifmesh``)."""
        return self.directory / "state" / "ifmesh"

    @property
    def env(self) -> dict[str, str]:
        return {**os.environ, "XDG_STATE_HOME": str(self.directory / "state")}

    @property
    def signaling_url(self) -> str:
        return f"ws://127.0.0.1:{self.signaling_port}/ws"

    async def __aenter__(self) -> LocalRoom:
        if not 1 <= self.sessions <= self.max_sessions:
            raise RoomError(f"a local room has 1 to {self.max_sessions} sessions")
        self.directory.mkdir(parents=True, exist_ok=True)
        chosen = session_list(self.sessions)
        fresh = [s for s, _ in SESSIONS] if self.status_sessions is None else self.status_sessions
        self.remote = seed_remote(self.directory, self.board, fresh, self.files)
        try:
            await self.start_signaling()
            for session, capabilities in chosen:
                self.members[session] = Member(session, capabilities)
                self.start_node(session)
            for session in self.members:
                await self.wait_control(session, self.start_timeout)
        except BaseException:
            await self.close()
            raise
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    def _spawn(
        self, args: list[str], log_name: str, prefix: Sequence[str] = ()
    ) -> subprocess.Popen[bytes]:
        # What the room starts ends with this process, however it ends (node/cli/signals.py).
        env = self.env | {STOP_WITH_PARENT: str(os.getpid())}
        with (self.directory / log_name).open("ab") as log_file:  # the child keeps its own fd
            return subprocess.Popen(
                [*prefix, *ifmesh_command(), *args], env=env, stdout=log_file,
                stderr=log_file, cwd=self.directory,
            )  # fmt: skip

    async def start_signaling(self) -> None:
        self.signaling_port = self.signaling_port or free_port()
        self.signaling = self._spawn(
            ["signaling", "--host", "127.0.0.1", "--port", str(self.signaling_port)],
            "signaling.log",
        )
        await self._until(self._signaling_answers, 30, "the signaling server to listen")

    async def stop_signaling(self) -> None:
        if self.signaling is not None:
            self.signaling.send_signal(signal.SIGTERM)
            try:
                await asyncio.to_thread(self.signaling.wait, 15)
            except subprocess.TimeoutExpired:
                self.signaling.kill()
                await asyncio.to_thread(self.signaling.wait, 10)
            self.signaling = None

    def _signaling_answers(self) -> bool:
        with (
            contextlib.suppress(OSError),
            socket.create_connection(("127.0.0.1", self.signaling_port), timeout=0.5),
        ):
            return True
        return False

    def start_node(self, session: str) -> None:
        member = self.members[session]
        member.log_path = self.directory / f"{session}.log"
        member.process = self._spawn(
            self.node_args(session), f"{session}.log", self.node_prefix(session)
        )

    def node_args(self, session: str) -> list[str]:
        """The arguments of ``session``'s `ifmesh node`; rooms on other networks (the fault
        tests' namespaces) change the addresses."""
        member = self.members[session]
        assert self.remote is not None
        return [
            "node", "--session", session, "--room", "demo",
            "--remote", str(self.remote), "--branch", BRANCH,
            "--signaling", self.signaling_url, "--capabilities", member.capabilities,
            "--lease-seconds", str(self.lease_seconds),
            "--fetch-interval-seconds", str(self.fetch_interval_seconds),
            *self.extra_args,
        ]  # fmt: skip

    def node_prefix(self, session: str) -> list[str]:
        """What ``session``'s node runs under: nothing here; ``ip netns exec NS`` in the
        fault tests, which give each node a network namespace of its own."""
        return []

    def kill_node(self, session: str) -> None:
        """``kill -9``: no bye, no final push — what a crash looks like to the others."""
        process = self.members[session].process
        if process is not None:
            process.kill()
            process.wait(10)

    async def stop_node(self, session: str) -> int:
        process = self.members[session].process
        if process is None:
            return 0
        process.send_signal(signal.SIGTERM)
        return await asyncio.to_thread(process.wait, 30)

    def endpoint(self, session: str) -> ControlEndpoint:
        return find_node(session, root=self.state_root)

    def client(self, session: str) -> ControlClient:
        return ControlClient(self.endpoint(session))

    async def wait_control(self, session: str, timeout: float = 60) -> None:
        member = self.members[session]

        def answers() -> bool:
            if not member.running:
                raise RoomError(f"{session} exited; see {member.log_path}")
            try:
                endpoint = self.endpoint(session)
            except ControlError:
                return False
            # A restarted node's old control.json names the dead process until it is replaced.
            return member.process is not None and endpoint.pid == member.process.pid

        await self._until(answers, timeout, f"{session}'s control API")

    async def wait_mesh(self, timeout: float = 60) -> None:
        """Until every node sees every other node up on the mesh."""
        expected = set(self.members)

        async def full() -> bool:
            for session in expected:
                async with self.client(session) as node:
                    status = await node.query("status")
                if set(status["mesh"]["peers_up"]) != expected - {session}:
                    return False
            return True

        await self._until_async(full, timeout, "a full mesh")

    async def _until(self, predicate: object, timeout: float, what: str) -> None:
        async def check() -> bool:
            return bool(predicate())  # type: ignore[operator]

        await self._until_async(check, timeout, what)

    async def _until_async(self, predicate: object, timeout: float, what: str) -> None:
        """Re-checks ``predicate`` while processes start: a process coming up has no event to
        wait on until its control API answers."""
        try:
            async with asyncio.timeout(timeout):
                while not await predicate():  # type: ignore[operator]  # noqa: ASYNC110
                    await asyncio.sleep(0.05)
        except TimeoutError:
            raise RoomError(f"timed out after {timeout:g}s waiting for {what}") from None

    async def close(self) -> None:
        for session in self.members:
            process = self.members[session].process
            if process is not None and process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for member in self.members.values():
            if member.process is not None:
                try:
                    await asyncio.to_thread(member.process.wait, 30)
                except subprocess.TimeoutExpired:
                    member.process.kill()
                    await asyncio.to_thread(member.process.wait, 10)
        await self.stop_signaling()
