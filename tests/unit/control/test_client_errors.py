"""What the CLI's control client raises when a server on 127.0.0.1 misbehaves: a typed
ControlError whose message says what happened, never a bare socket or parser exception."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from ifmesh.node import errors
from ifmesh.node.control.client import ControlClient
from ifmesh.node.control.endpoint import ControlEndpoint, write_token


@contextlib.asynccontextmanager
async def _node(tmp_path: Path, answer: bytes) -> AsyncIterator[ControlClient]:
    """A client of a 'node' on 127.0.0.1 that writes ``answer`` to every request and hangs
    up."""
    handlers: list[asyncio.StreamWriter] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        handlers.append(writer)
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
            await reader.readuntil(b"\r\n\r\n")
            writer.write(answer)
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    point = ControlEndpoint("session-4-cut", 0, url, write_token(tmp_path))
    try:
        async with ControlClient(point) as client:
            yield client
    finally:
        server.close()
        await asyncio.gather(*(w.wait_closed() for w in handlers), return_exceptions=True)
        await server.wait_closed()


async def test_an_answer_cut_short_says_the_node_stopped_answering(tmp_path: Path) -> None:
    cut = b'HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{"task"'
    async with _node(tmp_path, cut) as node:
        with pytest.raises(errors.NodeNotRunning, match=r"session-4-cut .*middle of the answer"):
            await node.call("claim", {"task": "P0.5.2"})


async def test_an_answer_that_is_not_http_is_a_control_error(tmp_path: Path) -> None:
    async with _node(tmp_path, b"SSH-2.0-OpenSSH_9.2\r\n\r\n") as node:
        with pytest.raises(errors.ControlError, match="another program listening") as caught:
            await node.query("status")
    assert caught.value.code == "bad_response"


async def test_an_event_stream_cut_short_is_a_lost_stream(tmp_path: Path) -> None:
    head = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
    line = b'{"type": "subscribed"}\n'
    async with _node(tmp_path, head + b"%x\r\n%s\r\n" % (len(line), line)) as node:
        events = node.events()
        assert (await anext(events))["type"] == "subscribed"
        with pytest.raises(errors.NodeNotRunning, match="lost the event stream"):
            await anext(events)
