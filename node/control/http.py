"""A small HTTP/1.1 client for the control API: one keep-alive connection (TCP on 127.0.0.1, or
a unix socket) to a node's own aiohttp server.

Why not aiohttp's client: importing it costs ~300 ms (its connector builds an SSL context at
import), which every ``ifmesh`` command would pay before doing anything, and a request through
it costs ~0.3 ms more than through this one — on the path of every claim an agent makes. The
server is ours and speaks a small subset: JSON bodies with ``Content-Length``, the event stream
with chunked transfer coding. This client reads exactly that, and says so for anything else.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

from ifmesh.node.errors import ControlError

MAX_HEAD = 64 * 1024
MAX_BODY = 64 * 1024 * 1024  # a board of thousands of tasks is a few MB


class BadResponse(ControlError):
    """The node answered with something this client cannot read."""

    code = "bad_response"


class UnexpectedStatus(BadResponse):
    """The event stream was answered with another status than 200 (401: the token)."""

    def __init__(self, status: int) -> None:
        self.status = status
        super().__init__(f"the node answered the event stream with HTTP {status}")


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes


@dataclass(frozen=True)
class _Head:
    status: int
    length: int | None  # None: chunked
    close: bool  # the server closes the connection after this response


class Connection:
    """Requests to one server over keep-alive connections: one is opened on first use and kept;
    a request made while another is in flight (a long ``wait`` beside a ``board`` query) gets
    a connection of its own, kept too. A connection the server closed between requests (its
    keep-alive timeout) is replaced."""

    def __init__(self, url: str, headers: dict[str, str]) -> None:
        self._unix = url.removeprefix("unix:") if url.startswith("unix:") else None
        self._host, self._port = "localhost", 0
        if self._unix is None:
            parts = urlsplit(url)
            self._host, self._port = parts.hostname or "127.0.0.1", parts.port or 80
        self._headers = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        self._idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []

    async def request(
        self, method: str, path: str, *, json: bytes | None = None, query: dict[str, str] | None
    ) -> Response:
        """One request and its whole response. A request on a kept connection that the server
        had already closed is sent once more on a new one (no answer had been read)."""
        if self._idle:
            try:
                return await self._exchange(self._idle.pop(), method, path, json, query)
            except (ConnectionError, asyncio.IncompleteReadError):
                pass  # closed while idle: once more, on a new connection
        return await self._exchange(await self._open(), method, path, json, query)

    async def stream(self, path: str) -> AsyncIterator[bytes]:
        """GET ``path`` on a connection of its own and yield the body's lines as they come;
        raises :class:`BadResponse` with the status if the answer is not 200."""
        reader, writer = await self._open()
        try:
            writer.write(self._request_bytes("GET", path, None, None))
            head = await _read_head(reader)
            if head.status != 200:
                raise UnexpectedStatus(head.status)
            pending = b""
            async for chunk in _chunks(reader, head):
                pending += chunk
                *lines, pending = pending.split(b"\n")
                for line in lines:
                    yield line
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    def close(self) -> None:
        while self._idle:
            self._idle.pop()[1].close()

    async def aclose(self) -> None:
        """:meth:`close`, and wait until the sockets are closed (nothing left for the loop's
        end to find)."""
        writers = [writer for _, writer in self._idle]
        self.close()
        await asyncio.gather(*(w.wait_closed() for w in writers), return_exceptions=True)

    async def _exchange(
        self,
        streams: tuple[asyncio.StreamReader, asyncio.StreamWriter],
        method: str,
        path: str,
        body: bytes | None,
        query: dict[str, str] | None,
    ) -> Response:
        reader, writer = streams
        try:
            writer.write(self._request_bytes(method, path, body, query))
            await writer.drain()
            head = await _read_head(reader)
            content = b"".join([chunk async for chunk in _chunks(reader, head)])
        except BaseException:  # failed, cancelled or timed out half-way: unusable now
            writer.close()
            raise
        if head.close:
            writer.close()
        else:
            self._idle.append(streams)
        return Response(head.status, content)

    async def _open(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if self._unix is not None:
            return await asyncio.open_unix_connection(self._unix, limit=MAX_HEAD)
        return await asyncio.open_connection(self._host, self._port, limit=MAX_HEAD)

    def _request_bytes(
        self, method: str, path: str, body: bytes | None, query: dict[str, str] | None
    ) -> bytes:
        target = f"{path}?{urlencode(query)}" if query else path
        head = f"{method} {target} HTTP/1.1\r\nHost: {self._host}\r\n{self._headers}"
        if body is None:
            return (head + "\r\n").encode()
        head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        return head.encode() + body


async def _read_head(reader: asyncio.StreamReader) -> _Head:
    try:
        raw = await reader.readuntil(b"\r\n\r\n")
    except asyncio.LimitOverrunError:
        raise BadResponse(f"response head longer than {MAX_HEAD} bytes") from None
    status_line, *header_lines = raw.decode("latin-1").split("\r\n")
    version, _, rest = status_line.partition(" ")
    if not version.startswith("HTTP/1.") or not rest[:3].isdigit():
        raise BadResponse(f"not an HTTP/1.x status line: {status_line[:80]!r}")
    headers = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    chunked = "chunked" in headers.get("transfer-encoding", "").lower()
    length = None if chunked else int(headers.get("content-length", "0") or 0)
    if length is not None and length > MAX_BODY:
        raise BadResponse(f"response body of {length} bytes is more than {MAX_BODY}")
    close = headers.get("connection", "").lower() == "close" or version == "HTTP/1.0"
    return _Head(int(rest[:3]), length, close)


async def _chunks(reader: asyncio.StreamReader, head: _Head) -> AsyncIterator[bytes]:
    """The body: at once for a Content-Length, chunk by chunk for chunked transfer coding."""
    if head.length is not None:
        yield await reader.readexactly(head.length)
        return
    while True:
        size_line = await reader.readuntil(b"\r\n")
        try:
            size = int(size_line.split(b";")[0].strip(), 16)
        except ValueError:
            raise BadResponse(f"bad chunk size line {size_line[:40]!r}") from None
        if size == 0:
            await reader.readuntil(b"\r\n")  # no trailers from aiohttp: the final CRLF
            return
        chunk = await reader.readexactly(size + 2)
        yield chunk[:-2]
