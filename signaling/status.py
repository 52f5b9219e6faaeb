"""The server's pages for operators: ``/healthz`` for probes and load balancers, ``/metrics``.

Both read the server at request time through callables and change nothing, so they may be
polled as often as anyone likes. ``/healthz`` answers 503 while the server shuts down or its
backplane is unreachable, so a load balancer stops sending new clients there.
"""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import hdrs, web

from ifmesh.signaling.config import ServerConfig
from ifmesh.signaling.metrics import CONTENT_TYPE, Census, SignalingMetrics

__all__ = ["StatusPages"]


class StatusPages:
    def __init__(
        self,
        config: ServerConfig,
        metrics: SignalingMetrics,
        *,
        census: Callable[[], Census],
        healthy: Callable[[], bool],
    ) -> None:
        self._config = config
        self._metrics = metrics
        self._census = census
        self._healthy = healthy

    def routes(self) -> list[web.RouteDef]:
        return [web.get("/healthz", self.healthz), web.get("/metrics", self.metrics)]

    async def healthz(self, request: web.Request) -> web.Response:
        healthy = self._healthy()
        census = self._census()
        body = {
            "status": "ok" if healthy else "degraded",
            "instance": self._config.instance_id,
            "auth": "open" if self._config.open else "token",
            "backplane": "redis" if self._config.redis_url else "none",
            "rooms": census.rooms,
            "peers": census.peers,
            "connections": census.connections,
        }
        return web.json_response(body, status=200 if healthy else 503)

    async def metrics(self, request: web.Request) -> web.Response:
        return web.Response(body=self._metrics.render(), headers={hdrs.CONTENT_TYPE: CONTENT_TYPE})
