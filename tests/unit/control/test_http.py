"""The control API's small HTTP/1.1 client against hand-written servers on 127.0.0.1: the
cases the node's own aiohttp server does not produce on demand."""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from ifmesh.node.control.http import BadResponse, Connection, UnexpectedStatus

Serve = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@contextlib.asynccontextmanager
async def _server(serve: Serve) -> AsyncIterator[str]:
    """A server on 127.0.0.1 running ``serve`` per connection; on exit every connection it
    accepted is closed and its handler finished (nothing left for the next test to find)."""
    handlers: list[tuple[asyncio.Task[None], asyncio.StreamWriter]] = []

    async def tracked(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        handlers.append((task, writer))
        try:
            await serve(reader, writer)
        finally:
            writer.close()

    server = await asyncio.start_server(tracked, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.close()
        for task, writer in handlers:
            task.cancel()
            writer.close()
        await asyncio.gather(*(task for task, _ in handlers), return_exceptions=True)
        await asyncio.gather(*(w.wait_closed() for _, w in handlers), return_exceptions=True)
        await server.wait_closed()


async def _read_request(reader: asyncio.StreamReader) -> bytes:
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    return head + await reader.readexactly(length)


def _json_response(body: bytes, extra: str = "") -> bytes:
    return (
        f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n{extra}"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body


async def test_a_connection_the_server_closed_while_idle_is_opened_again() -> None:
    connections = 0

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        await _read_request(reader)
        writer.write(_json_response(b'{"n": %d}' % connections))
        await writer.drain()
        writer.close()  # as a server's keep-alive timeout would, but without saying so

    async with _server(serve) as url:
        connection = Connection(url, {"Authorization": "Bearer t"})
        first = await connection.request("POST", "/v1/claim", json=b"{}", query=None)
        second = await connection.request("GET", "/v1/board", query={"task": "P0.5.2"})
        await connection.aclose()
    assert (first.body, second.body) == (b'{"n": 1}', b'{"n": 2}')


async def test_the_request_carries_method_target_token_and_body() -> None:
    seen: list[bytes] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        seen.append(await _read_request(reader))
        writer.write(_json_response(b"{}", "Connection: close\r\n"))
        await writer.drain()
        writer.close()

    async with _server(serve) as url:
        connection = Connection(url, {"Authorization": "Bearer secret"})
        await connection.request("POST", "/v1/claim", json=b'{"task":"F2.1"}', query=None)
        await connection.aclose()
    request = seen[0]
    assert request.startswith(b"POST /v1/claim HTTP/1.1\r\n")
    assert b"Authorization: Bearer secret\r\n" in request
    assert request.endswith(b'\r\n\r\n{"task":"F2.1"}')


@pytest.mark.parametrize(
    "answer",
    [b"SSH-2.0-OpenSSH_9.2\r\n\r\n", b"HTTP/1.1 abc\r\n\r\n", b"HTTP/1.1 200 OK\r\n"
     b"Transfer-Encoding: chunked\r\n\r\nzz\r\n"],
    ids=["not-http", "bad-status", "bad-chunk-size"],
)  # fmt: skip
async def test_an_answer_that_is_not_http_is_a_typed_error(answer: bytes) -> None:
    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        writer.write(answer)
        await writer.drain()
        writer.close()

    async with _server(serve) as url:
        connection = Connection(url, {})
        with pytest.raises(BadResponse):
            await connection.request("GET", "/v1/status", query=None)
        await connection.aclose()


async def test_the_stream_yields_lines_split_across_chunks() -> None:
    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
        for piece in (b'{"type": "subscr', b'ibed"}\n{"a": 1}\n{"b"', b": 2}\n"):
            writer.write(b"%x\r\n%s\r\n" % (len(piece), piece))
        writer.write(b"0\r\n\r\n")
        await writer.drain()
        writer.close()

    async with _server(serve) as url:
        lines = [line async for line in Connection(url, {}).stream("/v1/events")]
    assert lines == [b'{"type": "subscribed"}', b'{"a": 1}', b'{"b": 2}']


async def test_a_refused_stream_says_its_status() -> None:
    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        writer.write(b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n")
        await writer.drain()
        writer.close()

    async with _server(serve) as url:
        stream: AsyncIterator[bytes] = Connection(url, {}).stream("/v1/events")
        with pytest.raises(UnexpectedStatus) as refused:
            await anext(stream)
    assert refused.value.status == 401


async def test_nobody_listening_is_a_connection_error() -> None:
    async with _server(lambda reader, writer: asyncio.sleep(0)) as url:
        pass  # closed again: nobody listens at url now
    with pytest.raises(OSError):
        await Connection(url, {}).request("GET", "/v1/status", query=None)


async def test_a_request_beside_one_in_flight_gets_its_own_connection() -> None:
    fast_served = asyncio.Event()

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while not reader.at_eof():
            try:
                request = await _read_request(reader)
            except asyncio.IncompleteReadError:
                break
            if request.startswith(b"POST /v1/wait"):
                await fast_served.wait()  # answers only once the board query was answered
                writer.write(_json_response(b'{"waited": true}'))
            else:
                writer.write(_json_response(b'{"board": []}'))
                if request.startswith(b"GET /v1/board"):
                    fast_served.set()
            await writer.drain()
        writer.close()

    async with _server(serve) as url:
        connection = Connection(url, {})
        await connection.request("GET", "/v1/status", query=None)  # one kept connection
        waited, board = await asyncio.wait_for(
            asyncio.gather(
                connection.request("POST", "/v1/wait", json=b"{}", query=None),
                connection.request("GET", "/v1/board", query=None),
            ),
            10,
        )
        await connection.aclose()
    assert (waited.body, board.body) == (b'{"waited": true}', b'{"board": []}')


@pytest.mark.parametrize(
    ("answer", "connections"),
    [(b"HTTP/1.1 200 OK\r\n", 1), (b"HTTP/1.1 200 OK\r\nConnection: close\r\n", 2),
     (b"HTTP/1.0 200 OK\r\n", 2)],
    ids=["keep-alive", "connection-close", "http-1.0"],
)  # fmt: skip
async def test_a_connection_is_kept_only_when_the_server_keeps_it(
    answer: bytes, connections: int
) -> None:
    opened = 0

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal opened
        opened += 1
        while not reader.at_eof():
            try:
                await _read_request(reader)
            except asyncio.IncompleteReadError:
                break
            writer.write(answer + b"Content-Length: 2\r\n\r\n{}")
            await writer.drain()

    async with _server(serve) as url:
        connection = Connection(url, {})
        for _ in range(2):
            assert (await connection.request("GET", "/v1/status", query=None)).body == b"{}"
        await connection.aclose()
    assert opened == connections


async def test_a_chunked_answer_to_a_request_is_read_whole() -> None:
    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
        for piece in (b'{"tasks": ', b"[]", b"}"):
            writer.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            await writer.drain()
        writer.write(b"0\r\n\r\n")
        await writer.drain()

    async with _server(serve) as url:
        connection = Connection(url, {})
        response = await connection.request("GET", "/v1/board", query=None)
        await connection.aclose()
    assert (response.status, response.body) == (200, b'{"tasks": []}')


@pytest.mark.parametrize(
    "answer",
    [b"HTTP/1.1 200 OK\r\nContent-Length: ten\r\n\r\n",
     b"HTTP/1.1 200 OK\r\nX-Padding: " + b"x" * (256 * 1024) + b"\r\n\r\n"],
    ids=["bad-content-length", "head-too-long"],
)  # fmt: skip
async def test_a_malformed_head_is_a_typed_error_that_says_where(answer: bytes) -> None:
    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        writer.write(answer)
        with contextlib.suppress(ConnectionError):  # the client may hang up half-way
            await writer.drain()

    async with _server(serve) as url:
        connection = Connection(url, {})
        with pytest.raises(BadResponse, match=re.escape(url)):
            await connection.request("GET", "/v1/status", query=None)
        await connection.aclose()


async def test_an_answer_cut_short_is_not_sent_again() -> None:
    """A kept connection closed before any answer is retried; one closed in the middle of an
    answer is not: the node may have acted on the request (a claim) already."""
    requests = 0

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal requests
        while not reader.at_eof():
            try:
                await _read_request(reader)
            except asyncio.IncompleteReadError:
                break
            requests += 1
            if requests == 1:
                writer.write(_json_response(b"{}"))
            else:
                writer.write(b'HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{"task"')
                await writer.drain()
                break
            await writer.drain()

    async with _server(serve) as url:
        connection = Connection(url, {})
        await connection.request("GET", "/v1/status", query=None)  # one kept connection
        with pytest.raises(ConnectionError, match="in the middle of the answer"):
            await connection.request("POST", "/v1/claim", json=b"{}", query=None)
        await connection.aclose()
    assert requests == 2


async def test_a_request_that_timed_out_leaves_no_half_used_connection() -> None:
    never = asyncio.Event()
    requests = 0

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal requests
        await _read_request(reader)
        requests += 1
        if requests == 1:
            await never.wait()  # the first request is never answered
        writer.write(_json_response(b'{"n": 2}'))
        await writer.drain()

    async with _server(serve) as url:
        connection = Connection(url, {})
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(connection.request("GET", "/v1/wait", query=None), 0.2)
        second = await connection.request("GET", "/v1/status", query=None)
        await connection.aclose()
    assert second.body == b'{"n": 2}'


async def test_a_body_that_ends_with_the_connection_is_read_whole() -> None:
    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        writer.write(b'HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n{"tasks": []}')
        await writer.drain()
        writer.close()

    async with _server(serve) as url:
        connection = Connection(url, {})
        response = await connection.request("GET", "/v1/board", query=None)
        await connection.aclose()
    assert response.body == b'{"tasks": []}'
