"""What the Chromium and Firefox drivers share: a headless browser process started with
``--remote-debugging-port=0`` in a fresh profile, its control URL read from its stderr, and
JSON commands over that WebSocket, each answered by the reply that carries its id.

A driver subclass says only what differs: its flags and profile arguments, the stderr line
that announces the URL, how its protocol reports a failed command, and the session it opens
once connected (a CDP target, a BiDi session). Every failure is the driver's own error
class, with the browser's last stderr lines when they help explain it.
"""

from __future__ import annotations

import abc
import asyncio
import contextlib
import itertools
import json
import logging
import re
import shutil
import tempfile
from collections import deque
from pathlib import Path
from types import TracebackType
from typing import Any, ClassVar, Self

import aiohttp

log = logging.getLogger(__name__)


class BrowserError(RuntimeError):
    """A browser did not start, a protocol command failed, or a page script threw."""


class Browser(abc.ABC):
    """``async with Driver() as browser: await browser.send(...)`` for a driver subclass."""

    name: ClassVar[str]  # "Chromium": in error messages and the profile directory's name
    endpoint: ClassVar[str]  # "DevTools": what the announced URL is for, in error messages
    listening: ClassVar[re.Pattern[str]]  # the stderr line announcing the URL (group 1)
    error: ClassVar[type[BrowserError]] = BrowserError
    close_command: ClassVar[str]
    # Seconds the browser gets to exit by itself after ``close_command`` before it is
    # terminated (Firefox shuts itself down after ``browser.close``; Chromium is simply
    # terminated).
    exit_grace: ClassVar[float] = 0.0

    def __init__(
        self,
        executable: str,
        *,
        exec_prefix: list[str] | None,
        flags: tuple[str, ...],
        start_timeout: float,
    ) -> None:
        self.executable = executable
        self.exec_prefix = exec_prefix or []
        self.flags = flags
        self.start_timeout = start_timeout
        self.version = ""
        self._profile = tempfile.mkdtemp(prefix=f"ifmesh-{self.name.lower()}-")
        self._process: asyncio.subprocess.Process | None = None
        self._http: aiohttp.ClientSession | None = None
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._stderr: deque[str] = deque(maxlen=40)
        self._tasks: list[asyncio.Task[None]] = []

    # --- what a driver says ------------------------------------------------------------------

    @abc.abstractmethod
    def profile_args(self) -> list[str]:
        """The command-line arguments that point the browser at ``self.profile``."""

    def environment(self) -> dict[str, str] | None:
        """The browser's environment; ``None`` inherits ours."""
        return None

    def socket_url(self, announced: str) -> str:
        """Where to open the WebSocket, given the URL the browser announced."""
        return announced

    @abc.abstractmethod
    def failure(self, reply: dict[str, Any]) -> str | None:
        """The protocol's error in a reply, as text; ``None`` when the command succeeded."""

    @abc.abstractmethod
    async def open_session(self) -> None:
        """Once connected: learn ``self.version`` and find the page to run scripts in."""

    @abc.abstractmethod
    async def evaluate(self, expression: str, timeout: float = 30.0) -> Any:
        """Run ``expression`` in the page, await it if it is a promise, return its value
        (a thrown exception is the driver's error, carrying the page's message)."""

    # --- the shared machinery -------------------------------------------------------------

    @property
    def profile(self) -> Path:
        return Path(self._profile)

    async def __aenter__(self) -> Self:
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
            *self.profile_args(),
            "--remote-debugging-port=0",
            "about:blank",
        ]
        self._process = await asyncio.create_subprocess_exec(
            *command,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
            env=self.environment(),
        )
        found: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._tasks.append(asyncio.create_task(self._drain_stderr(found)))
        try:
            url = await asyncio.wait_for(found, self.start_timeout)
        except TimeoutError:
            what = f"no {self.endpoint} URL within the start timeout"
            raise self.error(self._explain(what)) from None
        self._http = aiohttp.ClientSession()
        self._ws = await self._http.ws_connect(self.socket_url(url), max_msg_size=0)
        self._tasks.append(asyncio.create_task(self._read()))
        await self.open_session()

    async def _drain_stderr(self, found: asyncio.Future[str]) -> None:
        assert self._process is not None and self._process.stderr is not None
        async for raw in self._process.stderr:
            line = raw.decode(errors="replace").rstrip()
            self._stderr.append(line)
            match = self.listening.search(line)
            if match and not found.done():
                found.set_result(match.group(1))
        if not found.done():
            what = f"{self.name} exited before {self.endpoint}"
            found.set_exception(self.error(self._explain(what)))

    def _explain(self, what: str) -> str:
        return f"{what}; last stderr lines:\n" + "\n".join(self._stderr)

    async def _read(self) -> None:
        assert self._ws is not None
        async for message in self._ws:
            if message.type != aiohttp.WSMsgType.TEXT:
                break
            reply = json.loads(message.data)
            future = self._pending.pop(reply.get("id", -1), None)
            if future is None or future.done():
                continue  # events (none subscribed) and late answers
            failed = self.failure(reply)
            if failed is not None:
                future.set_exception(self.error(failed))
            else:
                future.set_result(reply.get("result", {}))
        closed = self._explain(f"{self.endpoint} connection closed")
        for future in self._pending.values():
            if not future.done():
                future.set_exception(self.error(closed))

    async def request(self, message: dict[str, Any]) -> dict[str, Any]:
        """Send ``message`` (``method``, ``params``, ...) with a fresh id; its reply's result."""
        if self._ws is None:
            raise self.error(f"{self.name} is not running")
        ident = next(self._ids)
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[ident] = future
        await self._ws.send_str(json.dumps({"id": ident, **message}))
        return await future

    async def send(self, method: str, **params: Any) -> dict[str, Any]:
        """One protocol command; returns its ``result``."""
        return await self.request({"method": method, "params": params})

    async def close(self) -> None:
        if self._ws is not None and not self._ws.closed:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.send(self.close_command), 5)
            await self._ws.close()
        if self._http is not None:
            await self._http.close()
        if self._process is not None and self._process.returncode is None:
            await self._end(self._process)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        shutil.rmtree(self._profile, ignore_errors=True)

    async def _end(self, process: asyncio.subprocess.Process) -> None:
        if self.exit_grace > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(process.wait(), self.exit_grace)
            if process.returncode is not None:
                return
        with contextlib.suppress(ProcessLookupError):
            process.terminate()
        try:
            await asyncio.wait_for(process.wait(), 10)
        except TimeoutError:
            process.kill()
            await process.wait()
        log.debug("browser.terminated name=%s returncode=%s", self.name, process.returncode)
