"""A hostile signaling server cannot sit in the middle of a pair, nor speak for a session: each
offer and answer carries the sender's DTLS fingerprints signed with its session key, and a node
refuses one that fails before ICE starts, and says why (docs/security.md)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from aiohttp import web

from ifmesh.node.cli.room import LocalRoom, free_port
from tests.conftest import require_tool
from tests.integration.identity.hostile import HostileSignaling, Mode
from tests.integration.identity.support import status, until

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]


@dataclass
class HostileRoom(LocalRoom):
    """A local room whose signaling server is the hostile one, run in the test's process."""

    mode: Mode = "honest"
    server: HostileSignaling | None = None
    _runner: web.AppRunner | None = field(default=None, repr=False)

    async def start_signaling(self) -> None:
        self.server = HostileSignaling(self.mode)
        self._runner = web.AppRunner(self.server.app)
        await self._runner.setup()
        self.signaling_port = self.signaling_port or free_port()
        await web.TCPSite(self._runner, "127.0.0.1", self.signaling_port).start()

    async def stop_signaling(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None


@contextlib.asynccontextmanager
async def hostile_room(directory: Path, mode: Mode, sessions: int) -> AsyncIterator[HostileRoom]:
    require_tool("git")
    async with HostileRoom(directory, sessions=sessions, mode=mode) as room:
        yield room


async def refusals(room: HostileRoom, session: str) -> list[dict[str, str]]:
    refused: list[dict[str, str]] = (await status(room, session))["identity"]["pairs_refused"][
        "recent"
    ]
    return refused


async def test_through_an_honest_server_the_pairs_form(tmp_path: Path) -> None:
    """The control case: the same server relaying faithfully lets the signed pairs form."""
    async with hostile_room(tmp_path, "honest", sessions=2) as room:
        await room.wait_mesh(timeout=120)
        for session in room.members:
            assert (await status(room, session))["identity"]["pairs_refused"]["count"] == 0


async def test_swapped_fingerprints_form_no_pair_and_the_node_says_why(tmp_path: Path) -> None:
    async with hostile_room(tmp_path, "swap", sessions=2) as room:
        offerer, answerer = sorted(room.members)  # the lower session id offers

        async def refused() -> bool:
            return bool(await refusals(room, answerer))

        await until(refused, 90, f"{answerer} to refuse the tampered offer")
        [first, *_] = await refusals(room, answerer)
        assert first["peer"] == offerer and first["code"] == "pair_refused"
        assert "fingerprint signature does not verify" in first["reason"]
        assert room.server is not None and room.server.tampered >= 1
        for session in room.members:
            document = await status(room, session)
            assert document["mesh"]["peers_up"] == []
            assert document["mesh"]["signaling_joined"]


async def test_a_forged_sender_forms_no_pair_and_the_node_says_why(tmp_path: Path) -> None:
    async with hostile_room(tmp_path, "forge", sessions=3) as room:
        sessions = sorted(room.members)

        async def refused_somewhere() -> bool:
            return any([await refusals(room, s) for s in sessions])

        await until(refused_somewhere, 90, "a node to refuse an offer from a forged sender")
        reasons = [r for s in sessions for r in await refusals(room, s)]
        assert all(r["code"] == "pair_refused" for r in reasons), reasons
        assert all("does not verify" in r["reason"] for r in reasons), reasons
        for session in sessions:
            assert (await status(room, session))["mesh"]["peers_up"] == []
