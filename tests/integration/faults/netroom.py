"""A LocalRoom whose nodes each run in a network namespace of their own (topology.py).

What changes from LocalRoom: each node runs under ``ip netns exec``, offers its namespace's
address as its only ICE host candidate, and serves its control API on a unix socket (a path in
the file system reaches across namespaces; 127.0.0.1 inside a namespace does not). The
signaling server runs in the services namespace on the address the nodes reach; the git remote
is either the bare repository's path (file:// is no network traffic: no cut reaches it) or,
with ``git_over_network``, ``git daemon`` in the services namespace, so a cut that separates a
node from the services also separates it from git.
"""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ifmesh.node.cli.room import LocalRoom, session_list
from tests.integration.faults.topology import Host

GIT_PORT = 9418
SIGNALING_PORT = 8765  # each namespace has ports of its own: no clash between rooms


def listening(namespace: str, port: int) -> bool:
    """Whether something in ``namespace`` listens on TCP ``port`` (``ss -N``: no process
    has to enter the namespace to ask)."""
    done = subprocess.run(
        ["ss", "-N", namespace, "-Htln", f"sport = :{port}"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    return done.returncode == 0 and bool(done.stdout.strip())


@dataclass
class NamespacedRoom(LocalRoom):
    services: Host | None = None  # where signaling (and git daemon) run
    hosts: Mapping[str, Host] = field(default_factory=dict)  # session → its namespace
    signaling_bind: str = ""  # default: the services' address; "0.0.0.0" for every link
    # session → the signaling address it dials (default: the services' address)
    signaling_addresses: Mapping[str, str] = field(default_factory=dict)
    git_over_network: bool = False
    # session → settings written to its --config file (credentials stay out of argv)
    node_config: Mapping[str, Mapping[str, object]] = field(default_factory=dict)
    git_daemon: subprocess.Popen[bytes] | None = None

    def __post_init__(self) -> None:
        self.signaling_port = SIGNALING_PORT

    def _services(self) -> Host:
        assert self.services is not None, "a NamespacedRoom needs its services host"
        return self.services

    @property
    def signaling_url(self) -> str:
        return f"ws://{self._services().address}:{self.signaling_port}/ws"

    def signaling_url_for(self, session: str) -> str:
        address = self.signaling_addresses.get(session, self._services().address)
        return f"ws://{address}:{self.signaling_port}/ws"

    async def start_signaling(self) -> None:
        services = self._services()
        bind = self.signaling_bind or services.address
        self.signaling = self._spawn(
            ["signaling", "--host", bind, "--port", str(self.signaling_port),
             "--insecure-bind-all"],  # the namespaces are the test's own: no secret needed
            "signaling.log", services.exec_prefix,
        )  # fmt: skip
        await self._until(
            lambda: listening(services.namespace, self.signaling_port), 30, "signaling"
        )
        if self.git_over_network:
            await self.start_git_daemon()

    async def start_git_daemon(self) -> None:
        services = self._services()
        assert self.remote is not None
        with (self.directory / "git-daemon.log").open("ab") as log_file:
            self.git_daemon = subprocess.Popen(  # noqa: ASYNC220  (returns at once)
                [*services.exec_prefix, "git", "daemon", "--reuseaddr", "--export-all",
                 "--enable=receive-pack", f"--base-path={self.remote.parent}",
                 f"--listen={services.address}", f"--port={GIT_PORT}", str(self.remote.parent)],
                stdout=log_file, stderr=log_file,
            )  # fmt: skip
        await self._until(lambda: listening(services.namespace, GIT_PORT), 30, "git daemon")

    @property
    def git_url(self) -> str:
        assert self.remote is not None
        if not self.git_over_network:
            return str(self.remote)
        return f"git://{self._services().address}:{GIT_PORT}/{self.remote.name}"

    def node_args(self, session: str) -> list[str]:
        args = super().node_args(session)
        args[args.index("--remote") + 1] = self.git_url
        args[args.index("--signaling") + 1] = self.signaling_url_for(session)
        extra = [
            "--host-addresses", self.hosts[session].address,
            "--control-socket", str(self.directory / f"{session}.sock"),
        ]  # fmt: skip
        if session in self.node_config:
            path = self.directory / f"{session}.yaml"
            settings = dict(self.node_config[session])
            path.write_text(json.dumps(settings), encoding="utf-8")  # JSON is YAML
            extra = ["--config", str(path), *extra]
        return [*args, *extra]

    def node_prefix(self, session: str) -> list[str]:
        return self.hosts[session].exec_prefix

    async def close(self) -> None:
        await super().close()
        if self.git_daemon is not None:
            self.git_daemon.send_signal(signal.SIGTERM)
            try:
                await asyncio.to_thread(self.git_daemon.wait, 10)
            except subprocess.TimeoutExpired:
                self.git_daemon.kill()
            self.git_daemon = None


def hosts_for(hosts: Sequence[Host]) -> dict[str, Host]:
    """The room's session names (LocalRoom's, in order) paired with ``hosts``."""
    return {s: h for (s, _), h in zip(session_list(len(hosts)), hosts, strict=True)}


def log_tail(path: Path, lines: int = 30) -> str:
    if not path.is_file():
        return f"(no {path.name})"
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
