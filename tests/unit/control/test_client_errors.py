"""What the CLI's control client raises when a server on 127.0.0.1 misbehaves: a typed
ControlError whose message says what happened, never a bare socket or parser exception."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from ifmesh.node import errors
from ifmesh.node.control.client import ControlClient, NodeTimedOut, timeout_from_environment
from ifmesh.node.control.endpoint import ControlEndpoint, write_token
from ifmesh.node.control.http import BadResponse


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


def _answer(body: bytes) -> bytes:
    return b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)


@pytest.mark.parametrize(
    ("body", "what"),
    [
        (b"<html>hello</html>", "HTTP 200 and not JSON"),
        (b"[1, 2]", "a JSON list, not an object"),
        (b'{"error": "nope"}', "an error without a code: 'nope'"),
    ],
)
async def test_an_answer_that_is_not_a_nodes_is_a_bad_response(
    tmp_path: Path, body: bytes, what: str
) -> None:
    async with _node(tmp_path, _answer(body)) as node:
        with pytest.raises(BadResponse) as caught:
            await node.query("status")
    assert str(caught.value) == (
        f"node session-4-cut ({node.endpoint.url}) answered status with {what}; a node of "
        "another ifmesh version? Restart it with this one (stop it, then `ifmesh node`)"
    )


async def test_a_node_that_takes_a_request_and_never_answers_times_out_typed(
    tmp_path: Path,
) -> None:
    writers: list[asyncio.StreamWriter] = []

    async def hang(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writers.append(writer)
        await reader.read()  # until the client hangs up
        writer.close()

    server = await asyncio.start_server(hang, "127.0.0.1", 0)
    url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    point = ControlEndpoint("session-9-stuck", 4242, url, write_token(tmp_path))
    async with ControlClient(point, timeout=0.05) as node:
        with pytest.raises(NodeTimedOut) as caught:
            await node.query("board")
        with pytest.raises(NodeTimedOut, match=r"within 0\.25 s"):
            await node.call("wait", {"task": "P0.1.1"}, timeout=0.25)
    server.close()
    await asyncio.gather(*(w.wait_closed() for w in writers), return_exceptions=True)
    await server.wait_closed()
    assert caught.value.code == "node_timeout"
    assert str(caught.value) == (
        f"node session-9-stuck (pid 4242, {url}) took board but gave no answer within 0.05 s; "
        "it may be stuck: `kill -USR1 4242` prints where its tasks wait to its log. If it is "
        "only slow, give it longer with IFMESH_CONTROL_TIMEOUT=SECONDS"
    )


async def test_an_unreadable_token_file_is_unauthorized_not_a_traceback(tmp_path: Path) -> None:
    point = ControlEndpoint("session-4-cut", 1, "http://127.0.0.1:1", tmp_path / "gone.token")
    with pytest.raises(errors.Unauthorized, match=r"gone\.token: No such file or directory"):
        async with ControlClient(point):
            pass


@pytest.mark.parametrize(
    ("value", "seconds"), [(None, 30.0), ("", 30.0), ("2.5", 2.5), ("0", None), ("soon", None)]
)
def test_the_answer_margin_comes_from_the_environment(
    value: str | None, seconds: float | None
) -> None:
    environ = {} if value is None else {"IFMESH_CONTROL_TIMEOUT": value}
    if seconds is not None:
        assert timeout_from_environment(environ) == seconds
        return
    with pytest.raises(errors.ConfigError, match="is not a number of seconds above 0"):
        timeout_from_environment(environ)
