"""A room whose processes and browser live in a network namespace the test creates.

Chromium gathers no loopback candidates, so the dashboard cannot reach nodes on 127.0.0.1:
the signaling server, the three nodes and Chromium all run inside one namespace with a veth
pair (node/sdp/capture/netns.py), the nodes advertise its address 10.77.0.1, and nothing leaves
it. The test itself stays outside and reaches the nodes' control APIs through unix sockets
(a socket file is reachable from any network namespace). The server has a secret, so roles come
from real join tokens, as in production. It listens on every address of the namespace, so that
an operator's page can be opened as http://127.0.0.1:…, a secure context, where the browser
offers WebCrypto to sign with (docs/dashboard.md, "Signed actions").
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from playwright.async_api import Browser, Page, Playwright

from ifmesh.node.cli.room import LocalRoom
from ifmesh.node.sdp.capture.chromium import FLAGS
from ifmesh.node.sdp.capture.netns import Namespace
from ifmesh.signaling.auth import mint

HOST = "10.77.0.1"  # the namespace's veth end the nodes gather on and the server binds
SECRET = b"dashboard-test-secret-0123456789"
ROOM = "demo"  # LocalRoom's


def token(session: str, role: str = "node") -> str:
    return mint(SECRET, ROOM, session, int(time.time()) + 3600, role)


@dataclass
class NamespaceRoom(LocalRoom):
    namespace: Namespace | None = None
    secret_file: Path | None = None
    extra_env: dict[str, str] = field(default_factory=dict)

    @property
    def env(self) -> dict[str, str]:
        return {**super().env, **self.extra_env}

    @property
    def signaling_url(self) -> str:
        return f"ws://{HOST}:{self.signaling_port}/ws"

    @property
    def http_url(self) -> str:
        return f"http://{HOST}:{self.signaling_port}"

    @property
    def local_url(self) -> str:
        """The server as a browser in the namespace reaches it on loopback: a secure context."""
        return f"http://127.0.0.1:{self.signaling_port}"

    def node_prefix(self, session: str) -> list[str]:
        assert self.namespace is not None
        return self.namespace.exec_prefix

    def node_args(self, session: str) -> list[str]:
        return [
            *super().node_args(session),
            "--host-addresses", HOST,
            "--signaling-token", token(session),
            "--control-socket", str(self.directory / f"{session}.sock"),
        ]  # fmt: skip

    async def start_signaling(self) -> None:
        assert self.namespace is not None and self.secret_file is not None
        self.signaling_port = 8765
        log = self.directory / "signaling.log"
        self.signaling = self._spawn(
            ["signaling", "--host", "0.0.0.0", "--port", str(self.signaling_port),
             "--secret-file", str(self.secret_file)],
            "signaling.log", self.namespace.exec_prefix,
        )  # fmt: skip

        def listening() -> bool:
            return log.exists() and "listening ws://" in log.read_text(errors="replace")

        await self._until(listening, 30, "the signaling server to listen")

    async def call(self, session: str, command: str, body: dict[str, Any]) -> dict[str, Any]:
        async with self.client(session) as node:
            result: dict[str, Any] = await node.call(command, body, timeout=60)
            return result

    async def query(self, session: str, name: str) -> dict[str, Any]:
        async with self.client(session) as node:
            result: dict[str, Any] = await node.query(name)
            return result

    async def until(self, session: str, query: str, check: Any, what: str) -> dict[str, Any]:
        """Re-reads a node's ``query`` until ``check(document)`` holds: a node's state has no
        event the test could wait on from outside its process."""
        deadline = asyncio.get_running_loop().time() + 30
        while True:
            document = await self.query(session, query)
            if check(document):
                return document
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"{session} never showed {what}: {document}")
            await asyncio.sleep(0.1)


async def launch(
    playwright: Playwright, namespace: Namespace, directory: Path, *, mdns: bool = False
) -> Browser:
    """Debian's Chromium inside the namespace (never a downloaded browser), with the capture
    flags that make it announce its real addresses (node/sdp/capture/chromium.py), or with
    ``mdns`` as a browser on the web is: host addresses hidden behind ``<uuid>.local`` names,
    gathering on the default route's interface only."""
    executable = namespace.wrap("/usr/bin/chromium", directory)
    hidden = ("--headless", *(("WebRtcHideLocalIps", "ip-handling-policy") if mdns else ()))
    flags = [flag for flag in FLAGS if not any(h in flag for h in hidden)]
    return await playwright.chromium.launch(executable_path=str(executable), args=flags)


async def open_dashboard(
    browser: Browser,
    room: NamespaceRoom,
    session: str,
    role: str,
    *,
    local: bool = False,
    opkey: str | None = None,
) -> Page:
    """The page as ``session`` with a token for ``role``; ``local``: from 127.0.0.1 (a secure
    context) rather than the veth address; ``opkey``: the link's operator key."""
    page = await browser.new_page()
    page.on("pageerror", lambda error: print(f"[{session} page error] {error}"))
    page.on("console", lambda message: print(f"[{session} console] {message.text}"))
    fragment = f"room={ROOM}&session={session}&token={token(session, role)}"
    if opkey is not None:
        fragment += f"&opkey={opkey}"
    await page.goto(f"{room.local_url if local else room.http_url}/dashboard/#{fragment}")
    return page
