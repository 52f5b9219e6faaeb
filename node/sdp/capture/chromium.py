"""Headless Chromium as a WebRTC peer, driven over the Chrome DevTools Protocol (CDP).

No browser download and no Playwright: Debian's ``chromium`` is started with
``--remote-debugging-port=0``, the DevTools URL is read from its stderr, and aiohttp's
WebSocket client speaks CDP to one page. ``evaluate`` runs a JavaScript expression in that
page and awaits its promise, which is all a capture needs (RTCPeerConnection lives there).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import re
import shutil
import tempfile
from collections import deque
from types import TracebackType
from typing import Any

import aiohttp

log = logging.getLogger(__name__)

# Flags that keep a headless Chromium quiet, offline and able to run as root; the last two
# make it announce real interface addresses instead of mDNS names (our peers are aiortc).
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--disable-features=WebRtcHideLocalIpsWithMdns",
    "--allow-loopback-in-peer-connection",
    # Without a camera permission Chromium gathers on the default-route interface only;
    # "default" enumerates every interface, as a page with media permission would.
    "--force-webrtc-ip-handling-policy=default",
)
_DEVTOOLS = re.compile(r"DevTools listening on (ws://\S+)")


class ChromiumError(RuntimeError):
    """Chromium did not start, or a page script failed (the JavaScript error is kept)."""


class Chromium:
    """``async with Chromium() as browser: await browser.evaluate("1 + 1")``."""

    def __init__(
        self,
        executable: str = "chromium",
        *,
        exec_prefix: list[str] | None = None,
        extra_flags: tuple[str, ...] = (),
        mdns: bool = False,
        start_timeout: float = 30.0,
    ) -> None:
        self.executable = executable
        self.exec_prefix = exec_prefix or []
        # mdns=True: Chromium as on the web, host addresses hidden behind <uuid>.local names.
        hide = ("WebRtcHideLocalIps", "ip-handling-policy") if mdns else ()
        self.flags = tuple(f for f in FLAGS if not any(h in f for h in hide))
        self.flags += extra_flags
        self.start_timeout = start_timeout
        self.version = ""
        self._profile = tempfile.mkdtemp(prefix="ifmesh-chromium-")
        self._process: asyncio.subprocess.Process | None = None
        self._http: aiohttp.ClientSession | None = None
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._session_id = ""
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._stderr: deque[str] = deque(maxlen=40)
        self._tasks: list[asyncio.Task[None]] = []

    async def __aenter__(self) -> Chromium:
        try:
            await self._start()
        except BaseException:
            await self.close()
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def _start(self) -> None:
        command = [
            *self.exec_prefix,
            self.executable,
            *self.flags,
            f"--user-data-dir={self._profile}",
            "--remote-debugging-port=0",
            "about:blank",
        ]
        self._process = await asyncio.create_subprocess_exec(
            *command, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE
        )
        found: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._tasks.append(asyncio.create_task(self._drain_stderr(found)))
        try:
            url = await asyncio.wait_for(found, self.start_timeout)
        except TimeoutError:
            raise ChromiumError(self._explain("no DevTools URL within the start timeout")) from None
        self._http = aiohttp.ClientSession()
        self._ws = await self._http.ws_connect(url, max_msg_size=0)
        self._tasks.append(asyncio.create_task(self._read()))
        self.version = (await self.send("Browser.getVersion"))["product"]
        target = await self.send("Target.createTarget", url="about:blank")
        attached = await self.send(
            "Target.attachToTarget", targetId=target["targetId"], flatten=True
        )
        self._session_id = attached["sessionId"]
        log.info("chromium.started version=%s", self.version)

    async def _drain_stderr(self, found: asyncio.Future[str]) -> None:
        assert self._process is not None and self._process.stderr is not None
        async for raw in self._process.stderr:
            line = raw.decode(errors="replace").rstrip()
            self._stderr.append(line)
            match = _DEVTOOLS.search(line)
            if match and not found.done():
                found.set_result(match.group(1))
        if not found.done():
            found.set_exception(ChromiumError(self._explain("Chromium exited before DevTools")))

    def _explain(self, what: str) -> str:
        return f"{what}; last stderr lines:\n" + "\n".join(self._stderr)

    async def _read(self) -> None:
        assert self._ws is not None
        async for message in self._ws:
            if message.type != aiohttp.WSMsgType.TEXT:
                break
            data = json.loads(message.data)
            future = self._pending.pop(data.get("id", -1), None)
            if future is None or future.done():
                continue
            if "error" in data:
                future.set_exception(ChromiumError(f"CDP error: {data['error']}"))
            else:
                future.set_result(data.get("result", {}))
        for future in self._pending.values():
            if not future.done():
                future.set_exception(ChromiumError(self._explain("DevTools connection closed")))

    async def send(self, method: str, *, session: bool = False, **params: Any) -> dict[str, Any]:
        """One CDP command; ``session`` sends it to the page rather than the browser."""
        if self._ws is None:
            raise ChromiumError("Chromium is not running")
        ident = next(self._ids)
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[ident] = future
        message: dict[str, Any] = {"id": ident, "method": method, "params": params}
        if session:
            message["sessionId"] = self._session_id
        await self._ws.send_str(json.dumps(message))
        return await future

    async def evaluate(self, expression: str, timeout: float = 30.0) -> Any:
        """Run ``expression`` in the page, await it if it is a promise, return its JSON value."""
        result = await asyncio.wait_for(
            self.send(
                "Runtime.evaluate",
                session=True,
                expression=expression,
                awaitPromise=True,
                returnByValue=True,
            ),
            timeout,
        )
        if "exceptionDetails" in result:
            details = result["exceptionDetails"]
            text = details.get("exception", {}).get("description") or details.get("text")
            raise ChromiumError(f"page script failed: {text}")
        return result["result"].get("value")

    async def close(self) -> None:
        if self._ws is not None and not self._ws.closed:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.send("Browser.close"), 5)
            await self._ws.close()
        if self._http is not None:
            await self._http.close()
        if self._process is not None and self._process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self._process.terminate()
            try:
                await asyncio.wait_for(self._process.wait(), 10)
            except TimeoutError:
                self._process.kill()
                await self._process.wait()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        shutil.rmtree(self._profile, ignore_errors=True)
