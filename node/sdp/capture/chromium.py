"""Headless Chromium as a WebRTC peer, driven over the Chrome DevTools Protocol (CDP).

No browser download and no Playwright: Debian's ``chromium`` is started with
``--remote-debugging-port=0``, the DevTools URL is read from its stderr, and aiohttp's
WebSocket client speaks CDP to one page. ``evaluate`` runs a JavaScript expression in that
page and awaits its promise, which is all a capture needs (RTCPeerConnection lives there).
The process, the socket and the id-matched replies are ``browser.Browser``'s.
"""

from __future__ import annotations

import asyncio
import logging
import re
from typing import Any

from ifmesh.node.sdp.capture.browser import Browser, BrowserError

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


class ChromiumError(BrowserError):
    """Chromium did not start, or a page script failed (the JavaScript error is kept)."""


class Chromium(Browser):
    """``async with Chromium() as browser: await browser.evaluate("1 + 1")``."""

    name = "Chromium"
    endpoint = "DevTools"
    listening = re.compile(r"DevTools listening on (ws://\S+)")
    error = ChromiumError
    close_command = "Browser.close"

    def __init__(
        self,
        executable: str = "chromium",
        *,
        exec_prefix: list[str] | None = None,
        extra_flags: tuple[str, ...] = (),
        mdns: bool = False,
        start_timeout: float = 30.0,
    ) -> None:
        # mdns=True: Chromium as on the web, host addresses hidden behind <uuid>.local names.
        hide = ("WebRtcHideLocalIps", "ip-handling-policy") if mdns else ()
        flags = tuple(f for f in FLAGS if not any(h in f for h in hide)) + extra_flags
        super().__init__(
            executable, exec_prefix=exec_prefix, flags=flags, start_timeout=start_timeout
        )
        self._session_id = ""

    def profile_args(self) -> list[str]:
        return [f"--user-data-dir={self._profile}"]

    def failure(self, reply: dict[str, Any]) -> str | None:
        return f"CDP error: {reply['error']}" if "error" in reply else None

    async def open_session(self) -> None:
        self.version = (await self.send("Browser.getVersion"))["product"]
        target = await self.send("Target.createTarget", url="about:blank")
        attached = await self.send(
            "Target.attachToTarget", targetId=target["targetId"], flatten=True
        )
        self._session_id = attached["sessionId"]
        log.info("chromium.started version=%s", self.version)

    async def send(self, method: str, *, session: bool = False, **params: Any) -> dict[str, Any]:
        """One CDP command; ``session`` sends it to the page rather than the browser."""
        message: dict[str, Any] = {"method": method, "params": params}
        if session:
            message["sessionId"] = self._session_id
        return await self.request(message)

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
