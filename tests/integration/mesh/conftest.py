"""Real signaling servers (in process) and real aiortc meshes on 127.0.0.1."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

import pytest

from ifmesh.node.mesh.config import LOOPBACK, MeshConfig
from ifmesh.node.mesh.events import Subscription
from ifmesh.node.mesh.liveness import LivenessConfig
from ifmesh.node.mesh.mesh import Mesh
from ifmesh.node.protocol import messages
from ifmesh.signaling.config import ServerConfig
from ifmesh.signaling.server import SignalingServer

TIMEOUT = 10.0
ROOM = "room-1"
E = TypeVar("E")

pytestmark = pytest.mark.integration


def progress(source: str, milestone: str = "", **fields: Any) -> messages.Envelope:
    payload = messages.TaskProgress(task_id="P0.5.2", epoch=1, percent=50, milestone=milestone)
    return messages.make_message(payload, source=source, timestamp=datetime.now(UTC), **fields)


def claim_of_size(source: str, size: int, fill: str = "x") -> messages.Envelope:
    """A task.claim whose canonical encoding is just under ``size`` bytes."""
    payload = messages.TaskClaim(
        task_id="P0.5.2", epoch=0, swarm_id=source, timestamp=datetime.now(UTC),
        metadata={"blob": ""},
    )  # fmt: skip
    base = messages.make_message(payload, source=source, timestamp=datetime.now(UTC))
    from ifmesh.node.protocol import codec

    room = size - len(codec.encode(base)) - 64
    payload = payload.model_copy(update={"metadata": {"blob": fill * room}})
    return messages.make_message(payload, source=source, timestamp=datetime.now(UTC))


async def next_event(
    events: Subscription, kind: type[E], where: Callable[[E], bool] = lambda e: True,
    timeout: float = TIMEOUT,
) -> E:  # fmt: skip
    """The next event of ``kind`` matching ``where`` (others are skipped)."""
    async with asyncio.timeout(timeout):
        async for event in events:
            if isinstance(event, kind) and where(event):
                return event
    raise AssertionError(f"events ended before a {kind.__name__}")


async def take(
    events: Subscription, kind: type[E], count: int, timeout: float = TIMEOUT
) -> list[E]:
    found: list[E] = []
    async with asyncio.timeout(timeout):
        async for event in events:
            if isinstance(event, kind):
                found.append(event)
                if len(found) == count:
                    return found
    raise AssertionError(f"events ended after {len(found)} of {count}")


@pytest.fixture
async def signaling() -> AsyncIterator[SignalingServer]:
    server = SignalingServer(ServerConfig(port=0))
    await server.start()
    yield server
    await server.stop()


MeshFactory = Callable[..., Awaitable[Mesh]]


@pytest.fixture
async def make_mesh(signaling: SignalingServer) -> AsyncIterator[MeshFactory]:
    made: list[Mesh] = []

    async def make(session: str, *, url: str | None = None, **overrides: Any) -> Mesh:
        overrides.setdefault("liveness", LivenessConfig())
        config = MeshConfig(
            url or signaling.url, ROOM, session, host_addresses=LOOPBACK, **overrides
        )
        mesh = await Mesh(config).__aenter__()
        made.append(mesh)
        return mesh

    yield make
    await asyncio.gather(*(mesh.close() for mesh in made))


async def full_mesh(make: MeshFactory, sessions: list[str]) -> list[Mesh]:
    meshes = list(await asyncio.gather(*(make(s) for s in sessions)))
    await asyncio.gather(*(m.wait_ready(TIMEOUT, set(sessions) - {m.session}) for m in meshes))
    return meshes
