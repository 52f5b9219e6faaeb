"""The agent hook's one-shot control call: how it reads a node's answer (the framing aiohttp
sends, the node's typed errors) and what it refuses to read."""

from __future__ import annotations

import json

import pytest

from ifmesh.node.control import oneshot
from ifmesh.node.control.http import BadResponse
from ifmesh.node.errors import RemoteError, Unauthorized

NODE = oneshot.Endpoint("s-1", "http://127.0.0.1:1", "/nonexistent/token", None)


def answer(status: int, body: bytes, *headers: str) -> bytes:
    head = [f"HTTP/1.1 {status} Whatever", *headers]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


def test_a_json_answer_with_a_content_length_is_read_to_its_length() -> None:
    body = json.dumps({"ok": True, "conflicts": []}).encode()
    raw = answer(200, body + b"trailing", f"Content-Length: {len(body)}", "Server: aiohttp")
    assert oneshot.read_answer(NODE, "check-paths", raw) == {"ok": True, "conflicts": []}


def test_a_chunked_answer_is_put_back_together() -> None:
    chunks = b'7\r\n{"ok": \r\n5;ext=1\r\ntrue}\r\n0\r\n\r\n'
    raw = answer(200, chunks, "Transfer-Encoding: chunked")
    assert oneshot.read_answer(NODE, "board", raw) == {"ok": True}


def test_the_nodes_typed_error_keeps_its_code() -> None:
    body = b'{"error": {"code": "invalid_pattern", "message": "no"}}'
    with pytest.raises(RemoteError) as caught:
        oneshot.read_answer(NODE, "reserve", answer(409, body, f"Content-Length: {len(body)}"))
    assert (caught.value.code, caught.value.status) == ("invalid_pattern", 409)


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"SSH-2.0-OpenSSH\r\n",
        answer(200, b"{}", "Content-Length: 10"),  # cut short
        answer(200, b"not json", "Content-Length: 8"),
        answer(200, b"[1, 2]", "Content-Length: 6"),
        answer(200, b"zz\r\n", "Transfer-Encoding: chunked"),
    ],
)
def test_what_is_not_an_answer_is_a_bad_response(raw: bytes) -> None:
    with pytest.raises(BadResponse):
        oneshot.read_answer(NODE, "check-paths", raw)


def test_a_refused_token_and_an_unreadable_token_are_unauthorized() -> None:
    with pytest.raises(Unauthorized):
        oneshot.read_answer(NODE, "board", answer(401, b"{}", "Content-Length: 2"))
    with pytest.raises(Unauthorized, match="cannot read the token"):
        oneshot.call(NODE, "board")
