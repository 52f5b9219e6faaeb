"""The running node as the control API's commands and queries see it.

:class:`RunningNode` names exactly what :mod:`ifmesh.node.control.handlers` uses of the node it
runs in. It exists so that the import points one way, as the layers do: the runtime builds the
control server and hands it the node (:mod:`ifmesh.node.runtime.node` imports this package),
and nothing here imports the runtime. The node's settings, the mesh and the git bridge are
named the same way, down to the records ``status`` shows of them. :class:`BoardChanged` is the
notice the node gives on every change of its board, which the waiting commands sleep on.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

from ifmesh.node.board.formats.problems import ReadProblem
from ifmesh.node.board.replica import Replica
from ifmesh.node.board.state import Board
from ifmesh.node.claims.decider import ClaimDecider
from ifmesh.node.gitsync.outputs import SyncState
from ifmesh.node.governor.policy import Policy
from ifmesh.node.mesh.events import PeerMetrics
from ifmesh.node.protocol.messages import Envelope


class RunningNode(Protocol):
    """One session's node, started: its identity, its board and the way to publish to it, its
    configuration and policy, and what it observes of the mesh and of git (read-only here)."""

    @property
    def session(self) -> str: ...
    @property
    def incarnation(self) -> str: ...
    @property
    def config(self) -> SessionSettings: ...
    @property
    def policy(self) -> Policy: ...
    @property
    def policy_source(self) -> str: ...
    @property
    def board(self) -> Board: ...
    @property
    def changed(self) -> BoardChanged: ...
    @property
    def presence(self) -> Mapping[str, str]: ...
    @property
    def signaling_joined(self) -> bool: ...
    @property
    def mesh(self) -> MeshStatus | None: ...
    @property
    def git(self) -> GitStatus | None: ...
    @property
    def last_git_errors(self) -> Sequence[str]: ...
    @property
    def fatal(self) -> str | None: ...
    @property
    def room_problems(self) -> Sequence[ReadProblem]: ...
    def now(self) -> datetime: ...
    def replica_or_fail(self) -> Replica: ...
    async def publish_now(self, events: Sequence[Envelope]) -> None: ...
    @property
    def claims(self) -> ClaimDecider: ...
    def background(self, work: Coroutine[Any, Any, Any]) -> None: ...
    def identity_status(self) -> dict[str, Any]: ...


def read_problems(node: RunningNode) -> list[ReadProblem]:
    """What the room's files could not fully say: at start, and in git since."""
    live = node.git.state().read_problems if node.git is not None else ()
    return [*node.room_problems, *live]


class BoardChanged:
    """Wakes everyone waiting for the board to change (``wait``, ``claim --confirmed``).

    One event per change, replaced as it is set: notifying costs no task and no lock, and a
    waiter that checked the board and then waits cannot miss a change in between (there is no
    ``await`` between the two)."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def notify(self) -> None:
        self._event.set()
        self._event = asyncio.Event()

    async def wait(self) -> None:
        await self._event.wait()


class SessionSettings(Protocol):
    """What the commands take from the node's configuration: the room, the lease, and the
    defaults of ``register`` and ``offer``."""

    @property
    def room(self) -> str: ...
    @property
    def lease_seconds(self) -> float: ...
    @property
    def capabilities(self) -> Sequence[str]: ...
    @property
    def cost_per_hour(self) -> float: ...
    @property
    def budget(self) -> float: ...
    @property
    def model(self) -> str: ...


class MeshStatus(Protocol):
    """What ``peers`` and ``status`` show of the mesh."""

    @property
    def peers_up(self) -> frozenset[str]: ...
    def metrics(self) -> Mapping[str, PeerMetrics]: ...


class GitStatus(Protocol):
    """What ``status`` shows of the git bridge."""

    def state(self) -> SyncState: ...
