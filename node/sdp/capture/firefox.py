"""Headless Firefox as a WebRTC peer, driven over WebDriver BiDi.

Firefox has no DevTools protocol any more, only WebDriver BiDi. Debian's ``firefox-esr`` is
started headless with ``--remote-debugging-port=0`` and a fresh profile (``user.js`` from
``firefox_prefs``: no background fetches, real host candidates); the BiDi URL is read from
its stderr and aiohttp's WebSocket client speaks BiDi: ``session.new``, then
``browsingContext.getTree`` for the tab, then ``script.evaluate`` / ``script.callFunction``
with ``awaitPromise`` in it. ``evaluate`` has the same contract as ``Chromium.evaluate``, so
``PagePeer`` drives either browser.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import os
import re
import shutil
import tempfile
from collections import deque
from pathlib import Path
from types import TracebackType
from typing import Any

import aiohttp

from node.sdp.capture.firefox_prefs import user_js

log = logging.getLogger(__name__)

FLAGS = ("--headless", "--no-remote")
_BIDI = re.compile(r"WebDriver BiDi listening on (ws://\S+)")


class FirefoxError(RuntimeError):
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


class Firefox:
    """``async with Firefox() as browser: await browser.evaluate("1 + 1")``."""

    def __init__(
        self,
        executable: str = "firefox-esr",
        *,
        exec_prefix: list[str] | None = None,
        loopback: bool = False,
        start_timeout: float = 30.0,
    ) -> None:
        self.executable = executable
        self.exec_prefix = exec_prefix or []
        self.flags = FLAGS
        self.start_timeout = start_timeout
        self.version = ""
        self._profile = tempfile.mkdtemp(prefix="ifmesh-firefox-")
        Path(self._profile, "user.js").write_text(user_js(loopback=loopback))
        self._process: asyncio.subprocess.Process | None = None
        self._http: aiohttp.ClientSession | None = None
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._context = ""
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._stderr: deque[str] = deque(maxlen=40)
        self._tasks: list[asyncio.Task[None]] = []

    @property
    def profile(self) -> Path:
        return Path(self._profile)

    async def __aenter__(self) -> Firefox:
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
            "--profile",
            self._profile,
            "--remote-debugging-port=0",
            "about:blank",
        ]
        env = {
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
        self._process = await asyncio.create_subprocess_exec(
            *command, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE, env=env
        )
        found: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._tasks.append(asyncio.create_task(self._drain_stderr(found)))
        try:
            url = await asyncio.wait_for(found, self.start_timeout)
        except TimeoutError:
            raise FirefoxError(self._explain("no WebDriver BiDi URL within the timeout")) from None
        self._http = aiohttp.ClientSession()
        self._ws = await self._http.ws_connect(f"{url}/session", max_msg_size=0)
        self._tasks.append(asyncio.create_task(self._read()))
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

    def _runtime_dir(self) -> str:
        path = Path(self._profile, "run")
        path.mkdir(mode=0o700, exist_ok=True)
        return str(path)

    async def _drain_stderr(self, found: asyncio.Future[str]) -> None:
        assert self._process is not None and self._process.stderr is not None
        async for raw in self._process.stderr:
            line = raw.decode(errors="replace").rstrip()
            self._stderr.append(line)
            match = _BIDI.search(line)
            if match and not found.done():
                found.set_result(match.group(1))
        if not found.done():
            found.set_exception(FirefoxError(self._explain("Firefox exited before BiDi")))

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
                continue  # events (none subscribed) and late answers
            if data.get("type") == "error":
                future.set_exception(
                    FirefoxError(f"BiDi error {data.get('error')}: {data.get('message')}")
                )
            else:
                future.set_result(data.get("result", {}))
        for future in self._pending.values():
            if not future.done():
                future.set_exception(FirefoxError(self._explain("BiDi connection closed")))

    async def send(self, method: str, **params: Any) -> dict[str, Any]:
        """One BiDi command; returns its ``result``."""
        if self._ws is None:
            raise FirefoxError("Firefox is not running")
        ident = next(self._ids)
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[ident] = future
        await self._ws.send_str(json.dumps({"id": ident, "method": method, "params": params}))
        return await future

    async def evaluate(self, expression: str, timeout: float = 30.0) -> Any:
        """Run ``expression`` in the page, await it if it is a promise, return its value."""
        result = await asyncio.wait_for(
            self.send(
                "script.evaluate",
                expression=expression,
                target={"context": self._context},
                awaitPromise=True,
                resultOwnership="none",
            ),
            timeout,
        )
        return script_result(result)

    async def call(self, function: str, *args: str, timeout: float = 30.0) -> Any:
        """Call the JavaScript ``function`` with string arguments (no quoting to get right)."""
        result = await asyncio.wait_for(
            self.send(
                "script.callFunction",
                functionDeclaration=function,
                arguments=[{"type": "string", "value": arg} for arg in args],
                target={"context": self._context},
                awaitPromise=True,
                resultOwnership="none",
            ),
            timeout,
        )
        return script_result(result)

    async def close(self) -> None:
        if self._ws is not None and not self._ws.closed:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.send("browser.close"), 5)
            await self._ws.close()
        if self._http is not None:
            await self._http.close()
        if self._process is not None and self._process.returncode is None:
            try:
                await asyncio.wait_for(self._process.wait(), 5)
            except TimeoutError:
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
