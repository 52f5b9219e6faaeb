"""The control API server: local HTTP (aiohttp) in front of a node's commands.

Routes:
  POST /v1/<command>   JSON body in, JSON out (claim, progress, complete, …)
  GET  /v1/<query>     query parameters in, JSON out (board, peers, status, …)
  GET  /v1/events      the node's event stream, one JSON object per line (NDJSON)
  GET  /healthz        {"ok": true, "session": …} — no token needed
  GET  /metrics        Prometheus text (refused events, read problems, …) — no token needed

Every other request needs ``Authorization: Bearer <token>`` (the token file named in
control.json). Errors are JSON ``{"error": {"code", "message"}}``: the node's typed errors keep
their code, so the CLI can print them and map them to exit codes.

The server knows nothing of what the commands do: the runtime hands it a mapping of names to
async handlers and an :class:`EventFeed` to publish into.
"""

from __future__ import annotations

import asyncio
import hmac
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any

import orjson
import structlog
from aiohttp import web

from ifmesh.node import errors

log = structlog.get_logger(__name__)

Handler = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]

_STATUS_BY_ERROR: tuple[tuple[type[errors.IfmeshError], int], ...] = (
    (errors.CoordinationError, 409),
    (errors.ProtocolError, 422),
    (errors.InvalidPolicy, 422),
    (errors.ConfigError, 422),
    (errors.ControlError, 400),
    (errors.TransportError, 503),
    (errors.GitSyncError, 503),
)


def status_for(error: errors.IfmeshError) -> int:
    for cls, status in _STATUS_BY_ERROR:
        if isinstance(error, cls):
            return status
    return 500


_NDJSON = orjson.OPT_NON_STR_KEYS
METRICS_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def _line(document: dict[str, Any]) -> bytes:
    """One NDJSON line; orjson, since every event goes to every subscriber."""
    return orjson.dumps(document, default=str, option=_NDJSON) + b"\n"


Document = dict[str, Any]
# What is published: a document, or what makes it once a stream takes it (views.event_for_stream).
Published = Document | Callable[[], Document]


def _made(published: Published) -> Document:
    return published() if callable(published) else published


def error_response(code: str, message: str, status: int) -> web.Response:
    return web.json_response({"error": {"code": code, "message": message}}, status=status)


class EventFeed:
    """Fan-out of the node's events to every stream subscriber.

    Each subscriber has a bounded queue; one that falls ``limit`` events behind is cut off
    with a final ``{"type": "overflow"}`` line rather than letting the node's memory grow.
    """

    def __init__(self, limit: int = 1000) -> None:
        self._limit = limit
        self._subscribers: set[asyncio.Queue[Published | None]] = set()

    def publish(self, event: Published) -> None:
        for queue in list(self._subscribers):
            if queue.qsize() >= self._limit - 1:
                queue.put_nowait({"type": "overflow", "dropped_after": self._limit})
                queue.put_nowait(None)
                self._subscribers.discard(queue)
            else:
                queue.put_nowait(event)

    def close(self) -> None:
        for queue in self._subscribers:
            queue.put_nowait(None)
        self._subscribers.clear()

    def subscribe(self) -> AsyncIterator[dict[str, Any]]:
        """Subscribes now (events published from here on are kept), iterate to receive."""
        return self._drain(self._queue())

    def subscribe_batches(self) -> AsyncIterator[list[dict[str, Any]]]:
        """:meth:`subscribe`, by the batch: everything published since the last batch (a fold
        publishes an event and its effects together), so a stream writes once for all."""
        return self._drain_batches(self._queue())

    def _queue(self) -> asyncio.Queue[Published | None]:
        queue: asyncio.Queue[Published | None] = asyncio.Queue()
        self._subscribers.add(queue)
        return queue

    async def _drain(self, queue: asyncio.Queue[Published | None]) -> AsyncIterator[Document]:
        async for batch in self._drain_batches(queue):
            for event in batch:
                yield event

    async def _drain_batches(
        self, queue: asyncio.Queue[Published | None]
    ) -> AsyncIterator[list[Document]]:
        try:
            while (event := await queue.get()) is not None:
                batch = [_made(event)]
                while not queue.empty():
                    if (more := queue.get_nowait()) is None:
                        yield batch
                        return
                    batch.append(_made(more))
                yield batch
        finally:
            self._subscribers.discard(queue)

    @property
    def subscribers(self) -> int:
        return len(self._subscribers)


class ControlServer:
    def __init__(
        self,
        *,
        session: str,
        token: str,
        commands: Mapping[str, Handler],
        queries: Mapping[str, Handler],
        feed: EventFeed,
        metrics: Callable[[], bytes] | None = None,
    ) -> None:
        self.session = session
        self._metrics = metrics
        self._token = token
        self._commands = dict(commands)
        self._queries = dict(queries)
        self.feed = feed
        self._runner: web.AppRunner | None = None
        self.url = ""

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self._authenticate], client_max_size=2 * 1024 * 1024)
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/metrics", self._metrics_page)
        app.router.add_get("/v1/events", self._events)
        app.router.add_post("/v1/{name}", self._command)
        app.router.add_get("/v1/{name}", self._query)
        return app

    async def start(self, *, host: str = "127.0.0.1", port: int = 0, unix: str = "") -> str:
        """Starts listening; returns the URL for control.json (port 0 picks a free one)."""
        self._runner = web.AppRunner(self.app(), access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site: web.BaseSite
        if unix:
            site = web.UnixSite(self._runner, unix)
            await site.start()
            self.url = f"unix:{unix}"
        else:
            site = web.TCPSite(self._runner, host, port)
            await site.start()
            server = site._server
            assert isinstance(server, asyncio.base_events.Server)
            bound = server.sockets[0].getsockname()[1]
            self.url = f"http://{host}:{bound}"
        log.info("control.listening", url=self.url, session=self.session)
        return self.url

    async def close(self) -> None:
        self.feed.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @web.middleware
    async def _authenticate(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        if request.path in ("/healthz", "/metrics"):  # counts only: no token, as Prometheus
            return await handler(request)
        supplied = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        if not hmac.compare_digest(supplied.encode(), self._token.encode()):
            return error_response(
                "unauthorized", "missing or wrong bearer token (see control.json)", 401
            )
        return await handler(request)

    async def _healthz(self, request: web.Request) -> web.Response:
        return web.json_response({"ok": True, "session": self.session})

    async def _metrics_page(self, request: web.Request) -> web.Response:
        if self._metrics is None:
            return error_response("no_metrics", "this server exports no metrics", 404)
        return web.Response(body=self._metrics(), headers={"Content-Type": METRICS_TYPE})

    async def _command(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        handler = self._commands.get(name)
        if handler is None:
            known = ", ".join(sorted(self._commands))
            return error_response("unknown_command", f"no command {name!r}; known: {known}", 404)
        try:
            body = await request.json() if request.can_read_body else {}
        except json.JSONDecodeError as exc:
            return error_response("malformed_json", f"request body is not JSON: {exc}", 400)
        if not isinstance(body, dict):
            return error_response("malformed_json", "request body must be a JSON object", 400)
        return await self._run(name, handler, body)

    async def _query(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        handler = self._queries.get(name)
        if handler is None:
            known = ", ".join(sorted(self._queries))
            return error_response("unknown_query", f"no query {name!r}; known: {known}", 404)
        return await self._run(name, handler, dict(request.query))

    async def _run(self, name: str, handler: Handler, body: dict[str, Any]) -> web.Response:
        try:
            result = await handler(body)
        except errors.IfmeshError as exc:
            log.info("control.refused", command=name, code=exc.code, reason=str(exc))
            return error_response(exc.code, str(exc), status_for(exc))
        except (KeyError, TypeError, ValueError) as exc:
            return error_response("bad_request", f"{name}: bad arguments: {exc}", 400)
        return web.json_response(result)

    async def _events(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "application/x-ndjson"})
        batches = self.feed.subscribe_batches()
        await response.prepare(request)
        # The first line tells the client it is subscribed: events published after it arrive.
        await response.write(_line({"type": "subscribed", "session": self.session}))
        async for batch in batches:
            try:
                await response.write(b"".join(map(_line, batch)))
            except (ConnectionResetError, RuntimeError):
                break
        return response
