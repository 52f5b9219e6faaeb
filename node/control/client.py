"""The CLI's side of the control API: call a running node's commands, follow its events."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from types import TracebackType
from typing import Any

import orjson

from ifmesh.node.control.endpoint import ControlEndpoint
from ifmesh.node.control.http import Connection, UnexpectedStatus
from ifmesh.node.errors import NodeNotRunning, RemoteError, Unauthorized


class ControlClient:
    """``async with ControlClient(endpoint) as node: await node.call("claim", {...})``."""

    def __init__(self, endpoint: ControlEndpoint, *, timeout: float = 30.0) -> None:
        self.endpoint = endpoint
        self._timeout = timeout
        self._connection: Connection | None = None

    async def __aenter__(self) -> ControlClient:
        self._connection = Connection(
            self.endpoint.url, {"Authorization": f"Bearer {self.endpoint.token()}"}
        )
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._connection is not None:
            await self._connection.aclose()

    @property
    def connection(self) -> Connection:
        if self._connection is None:
            raise RuntimeError("use ControlClient in `async with`")
        return self._connection

    async def call(
        self, command: str, body: dict[str, Any] | None = None, *, timeout: float | None = None
    ) -> dict[str, Any]:
        """POST a command; returns its JSON result or raises the node's typed error."""
        return await self._request("POST", command, orjson.dumps(body or {}), None, timeout)

    async def query(self, name: str, **params: str) -> dict[str, Any]:
        return await self._request("GET", name, None, params, None)

    async def _request(
        self,
        method: str,
        name: str,
        body: bytes | None,
        params: dict[str, str] | None,
        timeout: float | None,
    ) -> dict[str, Any]:
        try:
            async with asyncio.timeout(timeout if timeout is not None else self._timeout):
                response = await self.connection.request(
                    method, f"/v1/{name}", json=body, query=params
                )
        except (OSError, asyncio.IncompleteReadError) as exc:
            raise NodeNotRunning(
                f"node {self.endpoint.session} does not answer at {self.endpoint.url}: {exc}"
            ) from None
        if response.status == 401:
            raise Unauthorized(
                f"node {self.endpoint.session} refused the token in {self.endpoint.token_file}"
            )
        try:
            document = orjson.loads(response.body)
        except orjson.JSONDecodeError:
            raise RemoteError(
                "bad_response",
                f"node {self.endpoint.session} answered {name} with HTTP {response.status} "
                f"and a body that is not JSON: {response.body[:200]!r}",
                status=response.status,
            ) from None
        if isinstance(document, dict) and "error" in document:
            error = document["error"]
            raise RemoteError(str(error["code"]), str(error["message"]), status=response.status)
        if not isinstance(document, dict):
            raise RemoteError(
                "bad_response", f"{name} answered {type(document).__name__}, not an object",
                status=response.status,
            )  # fmt: skip
        return document

    async def events(self) -> AsyncIterator[dict[str, Any]]:
        """The node's event stream; the first item is ``{"type": "subscribed"}``."""
        try:
            async for line in self.connection.stream("/v1/events"):
                if line.strip():
                    yield orjson.loads(line)
        except UnexpectedStatus as exc:
            if exc.status == 401:
                raise Unauthorized(f"node {self.endpoint.session} refused the token") from None
            raise
        except (OSError, asyncio.IncompleteReadError) as exc:
            raise NodeNotRunning(
                f"lost the event stream of {self.endpoint.session}: {exc}"
            ) from None
