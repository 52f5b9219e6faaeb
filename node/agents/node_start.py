"""``ifmesh mcp --start``: start the session's node when none runs, and stop it again when
the MCP server ends.

The node is a real ``ifmesh node`` process with the flags ``ifmesh mcp`` was given, its output
in ``node.log`` in its state directory (never on the MCP server's stdout, which is the MCP
wire). It runs in a process group of its own: an MCP client ends its server by killing the
server's whole group (the SDK's stdio client does), and a node killed that way would leave no
final STATUS; instead, the server sends the node it started SIGTERM as it ends, and the node
drains the mesh and pushes its final STATUS on its own (docs/agents.md, "MCP server"). A node
that was already running is never stopped.

Until the node's control API answers there is no event to wait on (it publishes
``control.json`` once it has fetched the coordination branch), so the start looks for it
every :data:`LOOK_EVERY` seconds, as ``ifmesh up`` does.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import structlog

from ifmesh.node.control.endpoint import ControlEndpoint, find_node
from ifmesh.node.errors import ConfigError, NodeNotRunning
from ifmesh.node.runtime.statedir import is_locked

log = structlog.get_logger(__name__)

LOOK_EVERY = 0.1  # seconds between looks for control.json while a node starts
START_TIMEOUT = 180.0  # a first start clones the coordination branch: loaded machines are slow
LOG_FILE = "node.log"
LOG_TAIL = 2000  # characters of the node's log quoted when it fails to start


@dataclass(frozen=True)
class NodePlan:
    """What ``--start`` would start: the ``ifmesh node`` flags, and where that node lives."""

    flags: tuple[str, ...]
    session: str
    state_dir: Path  # where its lock, control.json and log are
    explicit_state_dir: Path | None  # as given (flag, environment or file), for find_node


class NodeStarter:
    """Starts one node on demand (at most one start at a time) and stops what it started."""

    def __init__(self, plan: NodePlan | ConfigError, *, timeout: float = START_TIMEOUT) -> None:
        self.plan = plan
        self.timeout = timeout
        self.process: subprocess.Popen[bytes] | None = None
        self._lock = asyncio.Lock()

    @property
    def log_path(self) -> Path | None:
        return None if isinstance(self.plan, ConfigError) else self.plan.state_dir / LOG_FILE

    async def start(self) -> ControlEndpoint:
        """The node's endpoint once its control API answers: the one starting already (ours or
        another process's), else a new one. Raises what keeps it from starting: a setting
        (``config_error``), or its own exit or silence (``node_not_running``)."""
        if isinstance(self.plan, ConfigError):
            raise ConfigError(f"ifmesh mcp --start cannot start a node: {self.plan}")
        plan = self.plan
        async with self._lock:
            with_ours = self.process is not None and self.process.poll() is None
            if not with_ours and not is_locked(plan.state_dir):
                self._spawn(plan)
            return await self._answering(plan)

    def _spawn(self, plan: NodePlan) -> None:
        try:
            plan.state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
            with (plan.state_dir / LOG_FILE).open("ab") as log_file:  # the child keeps its fd
                self.process = subprocess.Popen(
                    [sys.executable, "-m", "ifmesh", "node", *plan.flags],
                    stdin=subprocess.DEVNULL,
                    stdout=log_file,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
        except OSError as exc:
            raise NodeNotRunning(
                f"ifmesh mcp --start could not start a node for {plan.session} in"
                f" {plan.state_dir}: {exc}"
            ) from None
        log.info("mcp.node_started", session=plan.session, pid=self.process.pid)

    async def _answering(self, plan: NodePlan) -> ControlEndpoint:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout
        while True:
            process = self.process
            if process is not None and process.poll() is not None:
                raise NodeNotRunning(
                    f"the node ifmesh mcp --start started for {plan.session} exited with code"
                    f" {process.returncode}; its log ({plan.state_dir / LOG_FILE}) ends:\n"
                    + self._log_tail(plan)
                )
            try:
                endpoint = find_node(plan.session, state_dir=plan.explicit_state_dir)
            except NodeNotRunning:
                endpoint = None
            if endpoint is not None and (process is None or endpoint.pid == process.pid):
                return endpoint
            if loop.time() > deadline:
                raise NodeNotRunning(
                    f"the node for {plan.session} did not open its control API within"
                    f" {self.timeout:g} s; see {plan.state_dir / LOG_FILE}"
                )
            await asyncio.sleep(LOOK_EVERY)

    def _log_tail(self, plan: NodePlan) -> str:
        try:
            text = (plan.state_dir / LOG_FILE).read_text(encoding="utf-8", errors="replace")
        except OSError as exc:
            return f"(unreadable: {exc.strerror})"
        return text[-LOG_TAIL:].strip() or "(empty)"

    def stop(self) -> None:
        """SIGTERM to the node this server started, if it still runs; the node drains and
        pushes its final STATUS by itself, in its own process group."""
        process = self.process
        if process is not None and process.poll() is None:
            log.info("mcp.node_stopping", pid=process.pid)
            process.send_signal(signal.SIGTERM)
