"""The dashboard page, served at ``/dashboard/`` by every signaling server.

The page (the static files in ``signaling/dashboard/``: plain ES modules and one style sheet, no
build step) joins a room as a WebRTC peer of its own, with an observer or operator token, and
draws the room from what the nodes send it (docs/dashboard.md). The server only hands out the
files: it never sees the page's data channels, as it never sees any peer's.

The room, session and token travel in the URL's fragment (``#room=…&session=…&token=…``), which
a browser never sends to the server, so tokens stay out of access logs and ``Referer`` headers;
so does an operator's private key (``&opkey=…``), which the page signs its actions with. The
server never sees that key, but it serves the code that holds it: an operator loads a key only
into a page from a server it trusts (docs/security.md, "Operator pages").
"""

from __future__ import annotations

from pathlib import Path

from aiohttp import hdrs, web

__all__ = ["DASHBOARD_DIR", "DashboardPage"]

DASHBOARD_DIR = Path(__file__).with_name("dashboard")

# The page loads only its own files and talks only to this server (its WebSocket) and to the
# peers its RTCPeerConnections reach, which CSP does not govern.
_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:;"
        " base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    # A new version of the page is picked up at the next load.
    hdrs.CACHE_CONTROL: "no-cache",
}


class DashboardPage:
    def __init__(self, directory: Path = DASHBOARD_DIR) -> None:
        self._directory = directory

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/dashboard", self.redirect),
            web.get("/dashboard/", self.index),
            web.get("/dashboard/{name}", self.file),
        ]

    async def redirect(self, request: web.Request) -> web.Response:
        raise web.HTTPMovedPermanently("/dashboard/")

    async def index(self, request: web.Request) -> web.FileResponse:
        return web.FileResponse(self._directory / "index.html", headers=_HEADERS)

    async def file(self, request: web.Request) -> web.FileResponse:
        """One of the page's files; the folder is flat, and ``{name}`` never holds a ``/``."""
        name = request.match_info["name"]
        path = self._directory / name
        if name.startswith(".") or not path.is_file():
            raise web.HTTPNotFound(text=f"the dashboard has no file {name!r}")
        return web.FileResponse(path, headers=_HEADERS)
