"""Headless Firefox as a WebRTC peer, driven over WebDriver BiDi.

Firefox has no DevTools protocol any more, only WebDriver BiDi. Debian's ``firefox-esr`` is
started headless with ``--remote-debugging-port=0`` and a fresh profile (``user.js`` from
``firefox_prefs``: no background fetches, real host candidates); the BiDi URL is read from
its stderr and aiohttp's WebSocket client speaks BiDi: ``session.new``, then
``browsingContext.getTree`` for the tab, then ``script.evaluate`` / ``script.callFunction``
with ``awaitPromise`` in it. ``evaluate`` has the same contract as ``Chromium.evaluate``, so
``PagePeer`` drives either browser.
The process, the socket and the id-matched replies are ``browser.Browser``'s.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
from pathlib import Path
from typing import Any

from ifmesh.node.sdp.capture.browser import Browser, BrowserError
from ifmesh.node.sdp.capture.firefox_prefs import user_js

log = logging.getLogger(__name__)

FLAGS = ("--headless", "--no-remote")


class FirefoxError(BrowserError):
    """Firefox did not start, a BiDi command failed, or a page script threw (text kept)."""


def from_remote(value: dict[str, Any]) -> Any:
    """A BiDi RemoteValue as plain JSON-like Python (what the page would JSON.stringify)."""
    kind = value.get("type")
    if kind in ("undefined", "null"):
        return None
    if kind in ("string", "boolean"):
        return value["value"]
    if kind == "number":
        number = value["value"]
        return None if isinstance(number, str) else number  # NaN, ±Infinity, -0
    if kind == "bigint":
        return int(value["value"])
    if kind in ("array", "set"):
        return [from_remote(item) for item in value.get("value", [])]
    if kind in ("object", "map"):
        return {
            (key if isinstance(key, str) else str(from_remote(key))): from_remote(item)
            for key, item in value.get("value", [])
        }
    raise FirefoxError(f"cannot turn a BiDi {kind!r} value into JSON: {value}")


def script_result(result: dict[str, Any]) -> Any:
    """The value of a ``script.evaluate`` / ``script.callFunction`` result; a thrown
    exception becomes a ``FirefoxError`` carrying the page's own message."""
    if result.get("type") == "exception":
        details = result.get("exceptionDetails", {})
        thrown = details.get("exception", {})
        text = details.get("text") or thrown.get("value") or thrown
        raise FirefoxError(f"page script failed: {text}")
    return from_remote(result["result"])


class Firefox(Browser):
    """``async with Firefox() as browser: await browser.evaluate("1 + 1")``."""

    name = "Firefox"
    endpoint = "WebDriver BiDi"
    listening = re.compile(r"WebDriver BiDi listening on (ws://\S+)")
    error = FirefoxError
    close_command = "browser.close"
    exit_grace = 5.0

    def __init__(
        self,
        executable: str = "firefox-esr",
        *,
        exec_prefix: list[str] | None = None,
        loopback: bool = False,
        start_timeout: float = 30.0,
    ) -> None:
        super().__init__(
            executable, exec_prefix=exec_prefix, flags=FLAGS, start_timeout=start_timeout
        )
        Path(self._profile, "user.js").write_text(user_js(loopback=loopback))
        self._context = ""

    def profile_args(self) -> list[str]:
        return ["--profile", self._profile]

    def environment(self) -> dict[str, str]:
        return {
            **os.environ,
            # HOME and the runtime dir (PulseAudio's socket dir) inside the profile: nothing
            # read from the caller's home, nothing left in /tmp once the profile is removed.
            "HOME": self._profile,
            "XDG_RUNTIME_DIR": self._runtime_dir(),
            "MOZ_CRASHREPORTER_DISABLE": "1",
            # Release builds ignore services.settings.server (and keep fetching from
            # firefox.settings.services.mozilla.com) unless this is set.
            "MOZ_REMOTE_SETTINGS_DEVTOOLS": "1",
        }

    def _runtime_dir(self) -> str:
        path = Path(self._profile, "run")
        path.mkdir(mode=0o700, exist_ok=True)
        return str(path)

    def socket_url(self, announced: str) -> str:
        return f"{announced}/session"

    def failure(self, reply: dict[str, Any]) -> str | None:
        if reply.get("type") != "error":
            return None
        return f"BiDi error {reply.get('error')}: {reply.get('message')}"

    async def open_session(self) -> None:
        session = await self.send("session.new", capabilities={})
        caps = session.get("capabilities", {})
        self.version = f"Firefox/{caps.get('browserVersion', '?')}"
        tree = await self.send("browsingContext.getTree", maxDepth=0)
        contexts = tree.get("contexts", [])
        if contexts:
            self._context = contexts[0]["context"]
        else:
            self._context = (await self.send("browsingContext.create", type="tab"))["context"]
        log.info("firefox.started version=%s context=%s", self.version, self._context)

    async def evaluate(self, expression: str, timeout: float = 30.0) -> Any:
        """Run ``expression`` in the page, await it if it is a promise, return its value."""
        return await self._script("script.evaluate", timeout, expression=expression)

    async def call(self, function: str, *args: str, timeout: float = 30.0) -> Any:
        """Call the JavaScript ``function`` with string arguments (no quoting to get right)."""
        arguments = [{"type": "string", "value": arg} for arg in args]
        return await self._script(
            "script.callFunction", timeout, functionDeclaration=function, arguments=arguments
        )

    async def _script(self, method: str, timeout: float, **params: Any) -> Any:
        result = await asyncio.wait_for(
            self.send(
                method,
                **params,
                target={"context": self._context},
                awaitPromise=True,
                resultOwnership="none",
            ),
            timeout,
        )
        return script_result(result)
