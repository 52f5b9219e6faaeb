"""The session's node as the MCP server reaches it: found as the CLI finds it (``--session``,
``--state-dir``, ``IFMESH_SESSION``, ``IFMESH_STATE_DIR``, else the only running node), started
when the server was told to (``--start``) and none runs, called over the control API.

The node is looked up again on every call, so a node restarted under the server (a new pid, a
new port, a new token) is simply the one called next. Each call has a client of its own:
calls run side by side (a ``wait`` for one task beside a ``claim`` of another), and a node that
goes away mid-call fails that call with ``node_not_running`` and nothing else.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any

import structlog

from ifmesh.node.agents.node_start import NodeStarter
from ifmesh.node.control.client import ControlClient, timeout_from_environment
from ifmesh.node.control.endpoint import ControlEndpoint, find_node
from ifmesh.node.errors import ControlError, NodeNotRunning

log = structlog.get_logger(__name__)

# While no node answers, the event stream is looked for again after these many seconds,
# doubling up to the last: a node that comes back is followed within seconds.
RECONNECT_FIRST, RECONNECT_MOST = 0.25, 5.0


class NodeLink:
    def __init__(
        self,
        session: str | None = None,
        state_dir: Path | None = None,
        *,
        starter: NodeStarter | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.session = session
        self.state_dir = state_dir
        self.starter = starter
        self._environ = environ

    async def endpoint(self) -> ControlEndpoint:
        """The node to call, started first if none runs and ``--start`` was given."""
        try:
            return find_node(self.session, state_dir=self.state_dir, environ=self._environ)
        except NodeNotRunning as exc:
            if self.starter is None:
                raise NodeNotRunning(
                    f"{exc}; or let the MCP server start it: `ifmesh mcp --start` with the same"
                    " flags as `ifmesh node`"
                ) from None
        return await self.starter.start()

    async def call(
        self, name: str, body: dict[str, Any], *, waits: float | None = None
    ) -> dict[str, Any]:
        """POST a command. ``waits``: seconds the command itself may wait (a claim's decision,
        a ``wait``); ``math.inf`` for as long as it takes. The node has
        IFMESH_CONTROL_TIMEOUT seconds beyond that to answer, as with the CLI."""
        margin = timeout_from_environment()
        endpoint = await self.endpoint()
        async with ControlClient(endpoint, timeout=margin) as node:
            limit = None if waits is None else (math.inf if math.isinf(waits) else waits + margin)
            return await node.call(name, body, timeout=limit)

    async def query(self, name: str, params: Mapping[str, str] | None = None) -> dict[str, Any]:
        endpoint = await self.endpoint()
        async with ControlClient(endpoint, timeout=timeout_from_environment()) as node:
            return await node.query(name, **dict(params or {}))

    async def events(self) -> AsyncIterator[dict[str, Any]]:
        """The node's event stream for as long as the server runs, across the node's restarts:
        each (re)connection starts with ``{"type": "subscribed"}``. Never starts a node."""
        wait = RECONNECT_FIRST
        while True:
            try:
                endpoint = find_node(self.session, state_dir=self.state_dir, environ=self._environ)
                async with ControlClient(endpoint) as node:
                    async for event in node.events():
                        wait = RECONNECT_FIRST
                        yield event
            except ControlError as exc:
                log.debug("mcp.events_lost", code=exc.code, reason=str(exc))
            except Exception:  # following must outlive anything the stream can raise
                log.exception("mcp.events_failed")
            await asyncio.sleep(wait)
            wait = min(wait * 2, RECONNECT_MOST)

    def close(self) -> None:
        if self.starter is not None:
            self.starter.stop()
