"""Nodes as separate OS processes: full mesh, kill -9 detection, restart, graceful leave."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from ifmesh.node.mesh.probe import ProbeProcess
from ifmesh.signaling.server import SignalingServer
from tests.integration.mesh.conftest import ROOM

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[3]
SESSIONS = ["p-0", "p-1", "p-2", "p-3"]
START = 60.0  # importing aiortc in 4 processes on 2 busy cores is slow
WAIT = 10.0


class Cluster:
    """Probe processes of one room; ``launch`` (re)starts a session as a new process."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.probes: dict[str, ProbeProcess] = {}
        self.retired: list[ProbeProcess] = []

    def __getitem__(self, session: str) -> ProbeProcess:
        return self.probes[session]

    async def launch(self, session: str) -> ProbeProcess:
        probe = ProbeProcess.mesh(self.url, ROOM, session)
        await probe.start(cwd=str(REPO))
        await probe.expect(lambda e: e["event"] == "started", START)
        await probe.command("join")
        if session in self.probes:
            self.retired.append(self.probes[session])
        self.probes[session] = probe
        return probe

    async def stop(self) -> None:
        await asyncio.gather(*(p.stop() for p in [*self.probes.values(), *self.retired]))


@pytest.fixture
async def cluster(signaling: SignalingServer) -> AsyncIterator[Cluster]:
    cluster = Cluster(signaling.url)
    try:
        await asyncio.gather(*(cluster.launch(s) for s in SESSIONS))
        yield cluster
    finally:
        await cluster.stop()


def up(peer: str) -> Callable[[dict[str, Any]], bool]:
    return lambda e: e["event"] == "up" and e["peer"] == peer


async def test_four_processes_mesh_detect_kill_and_restart(
    cluster: Cluster,
) -> None:
    probes = cluster.probes
    await asyncio.gather(
        *(probes[s].expect(up(o), START) for s in SESSIONS for o in SESSIONS if o != s)
    )

    for session in SESSIONS:
        await probes[session].command("broadcast", label="hello", count=3)
    for session in SESSIONS:
        for other in SESSIONS:
            if other == session:
                continue
            for index in range(3):
                await probes[session].expect(
                    lambda e, o=other, i=index: e["event"] == "message" and e["peer"] == o
                    and e["i"] == i, WAIT,
                )  # fmt: skip
        got = [e for e in probes[session].events if e["event"] == "message"]
        assert len(got) == 9, "every broadcast exactly once"
        for other in set(SESSIONS) - {session}:
            assert [e["i"] for e in got if e["peer"] == other] == [0, 1, 2], "in order"

    # kill -9: no bye, no closed channel; only the mesh's pings can tell.
    victim = probes["p-3"]
    mark = {s: len(probes[s].events) for s in SESSIONS}
    victim.kill()
    for session in SESSIONS[:3]:
        down = await probes[session].expect(
            lambda e: e["event"] == "down" and e["peer"] == "p-3", WAIT, mark[session]
        )
        assert down["reason"] == "dead"

    # The same session id comes back: its pairs are rebuilt and messages flow again.
    mark = {s: len(probes[s].events) for s in SESSIONS[:3]}
    reborn = await cluster.launch("p-3")
    for session in SESSIONS[:3]:
        await probes[session].expect(up("p-3"), START, mark[session])
        await reborn.expect(up(session), START)
    await reborn.command("broadcast", label="back", count=1, ack=True)
    sent = await reborn.expect(lambda e: e["event"] == "sent", WAIT)
    assert sent["acked"] == SESSIONS[:3]

    # A graceful close is reported as "left" (the 1 s bound is asserted in process).
    await probes["p-2"].command("close")
    for session in ["p-0", "p-1", "p-3"]:
        left = await probes[session].expect(
            lambda e: e["event"] == "down" and e["peer"] == "p-2", WAIT
        )
        assert left["reason"] == "left"
