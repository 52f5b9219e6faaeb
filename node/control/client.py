"""The CLI's side of the control API: call a running node's commands, follow its events."""

from __future__ import annotations

from collections.abc import AsyncIterator
from types import TracebackType
from typing import Any

import aiohttp
import orjson

from node.control.endpoint import ControlEndpoint
from node.errors import NodeNotRunning, RemoteError, Unauthorized


class ControlClient:
    """``async with ControlClient(endpoint) as node: await node.call("claim", {...})``."""

    def __init__(self, endpoint: ControlEndpoint, *, timeout: float = 30.0) -> None:
        self.endpoint = endpoint
        self._timeout = timeout
        self._session: aiohttp.ClientSession | None = None
        unix = endpoint.unix_path
        self._base = "http://localhost" if unix else endpoint.url

    async def __aenter__(self) -> ControlClient:
        unix = self.endpoint.unix_path
        connector = aiohttp.UnixConnector(path=unix) if unix else aiohttp.TCPConnector()
        self._session = aiohttp.ClientSession(
            connector=connector,
            headers={"Authorization": f"Bearer {self.endpoint.token()}"},
            timeout=aiohttp.ClientTimeout(total=None, sock_connect=5),
        )
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._session is not None:
            await self._session.close()

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            raise RuntimeError("use ControlClient in `async with`")
        return self._session

    async def call(
        self, command: str, body: dict[str, Any] | None = None, *, timeout: float | None = None
    ) -> dict[str, Any]:
        """POST a command; returns its JSON result or raises the node's typed error."""
        return await self._request("POST", command, json_body=body or {}, timeout=timeout)

    async def query(self, name: str, **params: str) -> dict[str, Any]:
        return await self._request("GET", name, params=params, timeout=None)

    async def _request(
        self,
        method: str,
        name: str,
        *,
        json_body: dict[str, Any] | None = None,
        params: dict[str, str] | None = None,
        timeout: float | None,
    ) -> dict[str, Any]:
        url = f"{self._base}/v1/{name}"
        limit = aiohttp.ClientTimeout(total=timeout if timeout is not None else self._timeout)
        try:
            async with self.session.request(
                method, url, json=json_body, params=params, timeout=limit
            ) as response:
                document = await response.json(content_type=None)
        except aiohttp.ClientConnectionError as exc:
            raise NodeNotRunning(
                f"node {self.endpoint.session} does not answer at {self.endpoint.url}: {exc}"
            ) from None
        if response.status == 401:
            raise Unauthorized(
                f"node {self.endpoint.session} refused the token in {self.endpoint.token_file}"
            )
        if "error" in document:
            error = document["error"]
            raise RemoteError(str(error["code"]), str(error["message"]), status=response.status)
        result: dict[str, Any] = document
        return result

    async def events(self) -> AsyncIterator[dict[str, Any]]:
        """The node's event stream; the first item is ``{"type": "subscribed"}``."""
        url = f"{self._base}/v1/events"
        try:
            async with self.session.get(url) as response:
                if response.status == 401:
                    raise Unauthorized(f"node {self.endpoint.session} refused the token")
                async for line in response.content:
                    if line.strip():
                        yield orjson.loads(line)
        except aiohttp.ClientConnectionError as exc:
            raise NodeNotRunning(
                f"lost the event stream of {self.endpoint.session}: {exc}"
            ) from None
