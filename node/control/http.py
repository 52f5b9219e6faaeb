"""The control API's HTTP/1.1 client: keep-alive connections (TCP on 127.0.0.1, or a unix
socket) to a node's own aiohttp server, with h11 doing the HTTP and asyncio streams the I/O.

Why not aiohttp's client: importing it costs ~300 ms (its connector builds an SSL context at
import), which every ``ifmesh`` command would pay before doing anything. Why h11: it is
sans-IO (bytes in, events out), so it runs under the same asyncio streams; it imports in
milliseconds; and it replaces a hand-written parser that read only what aiohttp happens to send
(``Content-Length`` bodies, a chunked event stream) and misread the rest: a bad
``Content-Length`` raised ``ValueError``, a body ended by closing the connection read as empty,
and a request whose answer was cut short was sent again.

What it costs, measured against that parser in interleaved runs on one 2-core machine (medians
of paired differences, real nodes started by ``LocalRoom``): importing h11 adds 7 ms with
bytecode cached (15 ms without), ``ifmesh status`` takes 6 ms longer (131 -> 143 ms), and a
query costs 80-115 us more client CPU (``status`` over TCP: 126 -> 229 us; wall 0.30 -> 0.40
ms), spent in h11's state machine and header checks.

What this module raises: :class:`ConnectionError` (an ``OSError``) when the server closed the
connection before its answer was complete, :class:`BadResponse` when the answer is not HTTP/1.1.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

import h11

from ifmesh.node.errors import ControlError

MAX_HEAD = 64 * 1024
MAX_BODY = 64 * 1024 * 1024  # a board of thousands of tasks is a few MB
READ_SIZE = 64 * 1024


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


class _Channel:
    """One connection and its h11 state machine, for one request/response cycle at a time."""

    def __init__(self, streams: tuple[asyncio.StreamReader, asyncio.StreamWriter], url: str):
        self.reader, self.writer = streams
        self.http = h11.Connection(h11.CLIENT, max_incomplete_event_size=MAX_HEAD)
        self.answered = False  # bytes of the current cycle's answer have arrived
        self._url = url

    def send(self, *events: h11.Event) -> None:
        self.writer.write(b"".join(self.http.send(event) or b"" for event in events))

    async def response(self) -> h11.Response:
        """The answer's head (after any 1xx)."""
        while not isinstance(event := await self._next_event(), h11.Response):
            pass
        return event

    async def body(self) -> AsyncIterator[bytes]:
        """The answer's body as it arrives, whatever its framing."""
        while not isinstance(event := await self._next_event(), h11.EndOfMessage):
            if isinstance(event, h11.Data):
                yield bytes(event.data)

    def next_cycle(self) -> bool:
        """Ready for another request, if both sides keep the connection open."""
        if self.http.our_state is h11.DONE and self.http.their_state is h11.DONE:
            self.http.start_next_cycle()
            self.answered = False
            return True
        return False

    async def _next_event(self) -> h11.Event:
        while True:
            try:
                event = self.http.next_event()
            except h11.RemoteProtocolError as exc:
                if self.http.trailing_data[1]:  # the server closed its side
                    where = "in the middle of" if self.answered else "before"
                    raise ConnectionResetError(f"connection closed {where} the answer") from None
                raise BadResponse(
                    f"the answer from {self._url} is not HTTP/1.1 as a node's control API "
                    f"speaks it ({exc}); is another program listening there?"
                ) from None
            if isinstance(event, h11.Event):
                return event
            if event is h11.PAUSED:  # a protocol switch, which this client never asks for
                raise BadResponse(f"{self._url} switched protocols; the control API does not")
            data = await self.reader.read(READ_SIZE)
            self.answered = self.answered or bool(data)
            self.http.receive_data(data)  # b"": the server closed its side


class Connection:
    """Requests to one server over keep-alive connections: one is opened on first use and kept;
    a request made while another is in flight (a long ``wait`` beside a ``board`` query) gets
    a connection of its own, kept too. A connection the server closed between requests (its
    keep-alive timeout) is replaced."""

    def __init__(self, url: str, headers: dict[str, str]) -> None:
        self._url = url
        self._unix = url.removeprefix("unix:") if url.startswith("unix:") else None
        self._host, self._port = "localhost", 0
        if self._unix is None:
            parts = urlsplit(url)
            self._host, self._port = parts.hostname or "127.0.0.1", parts.port or 80
        self._headers = [("Host", self._host), *headers.items()]
        self._idle: list[_Channel] = []

    async def request(
        self, method: str, path: str, *, json: bytes | None = None, query: dict[str, str] | None
    ) -> Response:
        """One request and its whole response. A request on a kept connection that the server
        had already closed is sent once more on a new one (no answer had been read)."""
        target = f"{path}?{urlencode(query)}" if query else path
        if self._idle:
            channel = self._idle.pop()
            try:
                return await self._exchange(channel, method, target, json)
            except ConnectionError:
                if channel.answered:
                    raise
                # closed while idle: once more, on a new connection
        return await self._exchange(await self._open(), method, target, json)

    async def stream(self, path: str) -> AsyncIterator[bytes]:
        """GET ``path`` on a connection of its own and yield the body's lines as they come;
        raises :class:`UnexpectedStatus` if the answer is not 200."""
        channel = await self._open()
        try:
            channel.send(self._head("GET", path, None), h11.EndOfMessage())
            head = await channel.response()
            if head.status_code != 200:
                raise UnexpectedStatus(head.status_code)
            pending = b""
            async for chunk in channel.body():
                pending += chunk
                *lines, pending = pending.split(b"\n")
                for line in lines:
                    yield line
        finally:
            channel.writer.close()
            with contextlib.suppress(Exception):
                await channel.writer.wait_closed()

    def close(self) -> None:
        while self._idle:
            self._idle.pop().writer.close()

    async def aclose(self) -> None:
        """:meth:`close`, and wait until the sockets are closed (nothing left for the loop's
        end to find)."""
        writers = [channel.writer for channel in self._idle]
        self.close()
        await asyncio.gather(*(w.wait_closed() for w in writers), return_exceptions=True)

    async def _exchange(
        self, channel: _Channel, method: str, target: str, body: bytes | None
    ) -> Response:
        content = bytearray()
        try:
            request = self._head(method, target, body)
            channel.send(request, *([h11.Data(data=body)] if body else []), h11.EndOfMessage())
            await channel.writer.drain()
            head = await channel.response()
            async for piece in channel.body():
                content += piece
                if len(content) > MAX_BODY:
                    raise BadResponse(f"response body of more than {MAX_BODY} bytes")
        except BaseException:  # failed, cancelled or timed out half-way: unusable now
            channel.writer.close()
            raise
        if channel.next_cycle():
            self._idle.append(channel)
        else:
            channel.writer.close()
        return Response(head.status_code, bytes(content))

    async def _open(self) -> _Channel:
        if self._unix is not None:
            return _Channel(await asyncio.open_unix_connection(self._unix), self._url)
        return _Channel(await asyncio.open_connection(self._host, self._port), self._url)

    def _head(self, method: str, target: str, body: bytes | None) -> h11.Request:
        headers = self._headers
        if body is not None:
            headers = [*headers, ("Content-Type", "application/json"),
                       ("Content-Length", str(len(body)))]  # fmt: skip
        return h11.Request(method=method, target=target, headers=headers)
