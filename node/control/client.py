"""The CLI's side of the control API: call a running node's commands, follow its events."""

from __future__ import annotations

import asyncio
import math
import os
from collections.abc import AsyncIterator, Mapping
from types import TracebackType
from typing import Any

import orjson

from ifmesh.node.control.endpoint import ControlEndpoint
from ifmesh.node.control.http import BadResponse, Connection, UnexpectedStatus
from ifmesh.node.errors import ConfigError, ControlError, NodeNotRunning, RemoteError, Unauthorized
from ifmesh.node.runtime.statedir import ENV_PREFIX

DEFAULT_TIMEOUT = 30.0
TIMEOUT_VARIABLE = ENV_PREFIX + "CONTROL_TIMEOUT"


def timeout_from_environment(environ: Mapping[str, str] | None = None) -> float:
    """Seconds a node has to answer, beyond what a command itself waits for (``wait``,
    ``claim --confirmed``): IFMESH_CONTROL_TIMEOUT, else 30; a loaded machine may need more."""
    raw = (os.environ if environ is None else environ).get(TIMEOUT_VARIABLE)
    if not raw:
        return DEFAULT_TIMEOUT
    try:
        seconds = float(raw)
    except ValueError:
        seconds = math.nan
    if not 0 < seconds < math.inf:
        raise ConfigError(f"{TIMEOUT_VARIABLE}={raw!r} is not a number of seconds above 0")
    return seconds


class NodeTimedOut(ControlError):
    """The node took the request but gave no answer in time: it runs, and is stuck or busy."""

    code = "node_timeout"


class ControlClient:
    """``async with ControlClient(endpoint) as node: await node.call("claim", {...})``."""

    def __init__(self, endpoint: ControlEndpoint, *, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.endpoint = endpoint
        self._timeout = timeout
        self._connection: Connection | None = None

    async def __aenter__(self) -> ControlClient:
        try:
            token = self.endpoint.token()
        except OSError as exc:
            raise Unauthorized(
                f"cannot read the token of node {self.endpoint.session} in "
                f"{self.endpoint.token_file}: {exc.strerror}; run the command as the user who "
                "started the node"
            ) from None
        self._connection = Connection(self.endpoint.url, {"Authorization": f"Bearer {token}"})
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
        """POST a command; returns its JSON result or raises the node's typed error.
        ``timeout``: seconds to wait for the answer; None, the client's; ``math.inf``, as long
        as the command takes (a `wait` without a timeout)."""
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
        limit = self._timeout if timeout is None else timeout
        try:
            async with asyncio.timeout(None if math.isinf(limit) else limit):
                response = await self.connection.request(
                    method, f"/v1/{name}", json=body, query=params
                )
        except TimeoutError:  # an OSError too: first
            pid = self.endpoint.pid
            raise NodeTimedOut(
                f"node {self.endpoint.session} (pid {pid}, {self.endpoint.url}) took {name} "
                f"but gave no answer within {limit:g} s; it may be stuck: `kill -USR1 {pid}` "
                "prints where its tasks wait to its log. If it is only slow, give it longer with "
                f"{TIMEOUT_VARIABLE}=SECONDS"
            ) from None
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
            raise self._unreadable(name, f"HTTP {response.status} and not JSON") from None
        if not isinstance(document, dict):
            raise self._unreadable(name, f"a JSON {type(document).__name__}, not an object")
        error = document.get("error")
        if error is not None:
            if not isinstance(error, dict) or "code" not in error:
                raise self._unreadable(name, f"an error without a code: {error!r:.200}")
            raise RemoteError(str(error["code"]), str(error.get("message")), status=response.status)
        return document

    def _unreadable(self, name: str, what: str) -> BadResponse:
        return BadResponse(
            f"node {self.endpoint.session} ({self.endpoint.url}) answered {name} with {what}; "
            "a node of another ifmesh version? Restart it with this one (stop it, then "
            "`ifmesh node`)"
        )

    async def events(self) -> AsyncIterator[dict[str, Any]]:
        """The node's event stream; the first item is ``{"type": "subscribed"}``."""
        try:
            async for line in self.connection.stream("/v1/events"):
                if not line.strip():
                    continue
                try:
                    event = orjson.loads(line)
                except orjson.JSONDecodeError:
                    raise self._unreadable(
                        "events", f"a line that is not JSON: {line!r:.200}"
                    ) from None
                yield event
        except UnexpectedStatus as exc:
            if exc.status == 401:
                raise Unauthorized(f"node {self.endpoint.session} refused the token") from None
            raise
        except (OSError, asyncio.IncompleteReadError) as exc:
            raise NodeNotRunning(
                f"lost the event stream of {self.endpoint.session}: {exc}"
            ) from None
