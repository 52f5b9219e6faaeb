"""One blocking call to a running node's control API, for the agent hook that runs before
every edit (`ifmesh agent-hook PreToolUse`) and the git pre-commit guard.

Why not :class:`~ifmesh.node.control.client.ControlClient`: a hook is a fresh process per edit,
and importing asyncio (~40 ms here), h11 (~25 ms) and orjson (~20 ms) would cost more than
the whole budget of the check (``benchmarks/agents.py``: 25 ms over a bare interpreter at
p99). This module imports ``json`` and ``_socket`` only (``pathlib`` and ``re`` are loaded
already); it sends one HTTP/1.1 request with ``Connection: close`` and reads the answer to its
end, so the only framing it has to understand is the status line, the end of the head and a
``Content-Length`` (or ``chunked``) body: what aiohttp sends for a JSON answer.

Finding the node: ``IFMESH_STATE_DIR``, else the state directory of ``IFMESH_SESSION``, read
directly; any other case (several nodes, none asked for, a session mismatch) goes through
:func:`ifmesh.node.control.endpoint.find_node`, whose answers and messages are the CLI's.
"""

from __future__ import annotations

import _socket
import json
import os
import re
from collections.abc import Mapping
from pathlib import Path

# typing costs ~2 ms at start, and node.errors imports it: both are imported on the way to
# raising an error (a check that succeeds never pays for them), and typing for the type checker.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from ifmesh.node.errors import ControlError

DEFAULT_TIMEOUT = 5.0
MAX_ANSWER = 16 * 1024 * 1024
_IPV4 = re.compile(r"^\d{1,3}(?:\.\d{1,3}){3}$")


def _not_running(message: str) -> ControlError:
    from ifmesh.node.errors import NodeNotRunning

    return NodeNotRunning(message)


def _unauthorized(message: str) -> ControlError:
    from ifmesh.node.errors import Unauthorized

    return Unauthorized(message)


def _bad_answer(message: str) -> ControlError:
    """The node answered what this client cannot read (code ``bad_response``)."""
    from ifmesh.node.control.http import BadResponse

    return BadResponse(message)


def _refused(code: str, message: str, status: int) -> ControlError:
    from ifmesh.node.errors import RemoteError

    return RemoteError(code, message, status=status)


class Endpoint:
    """Where one node listens (its control.json), the token it wants, and its state
    directory. A plain class: ``dataclasses`` imports ``inspect``, ~5 ms at start."""

    __slots__ = ("session", "state_dir", "token_file", "url")

    def __init__(self, session: str, url: str, token_file: str, state_dir: Path | None) -> None:
        self.session, self.url, self.token_file = session, url, token_file
        self.state_dir = state_dir


def state_root(environ: Mapping[str, str]) -> Path:
    """``$XDG_STATE_HOME/ifmesh``, else ``~/.local/state/ifmesh`` (node.runtime.statedir)."""
    xdg = environ.get("XDG_STATE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".local" / "state") / "ifmesh"


def state_dir_of(environ: Mapping[str, str], session: str | None = None) -> Path | None:
    """The state directory the environment (or ``session``) names; None when none is named."""
    if environ.get("IFMESH_STATE_DIR"):
        return Path(environ["IFMESH_STATE_DIR"])
    session = session or environ.get("IFMESH_SESSION")
    return state_root(environ) / session if session else None


def locate(environ: Mapping[str, str] | None = None) -> Endpoint:
    """The node to ask; raises NodeNotRunning / AmbiguousNode as the CLI does."""
    environ = os.environ if environ is None else environ
    directory = state_dir_of(environ)
    if directory is not None:
        try:
            document = json.loads((directory / "control.json").read_bytes())
            session = str(document["session"])
            wanted = environ.get("IFMESH_SESSION")
            if not wanted or wanted == session:
                return Endpoint(session, str(document["url"]), document["token_file"], directory)
        except (OSError, ValueError, KeyError, TypeError):
            pass  # no such node, or not readable: find_node says which, and what to do
    from ifmesh.node.control.endpoint import find_node

    found = find_node(environ=environ)
    return Endpoint(found.session, found.url, str(found.token_file), found.token_file.parent)


def _connect(url: str, timeout: float) -> tuple[_socket.socket, str]:
    """A connected socket: ``_socket`` itself, since ``socket`` imports ``selectors`` (and
    ``create_connection``'s getaddrinfo the idna codec), ~4 ms a hook does not need for the
    IPv4 literal a node listens on (a host name goes through ``socket``)."""
    if url.startswith("unix:"):
        family: int = _socket.AF_UNIX
        where: Any = url.removeprefix("unix:")
        host = "localhost"
    else:
        host = url.removeprefix("http://").split("/", 1)[0]
        name, _, port = host.rpartition(":")
        if not _IPV4.match(name):
            import socket

            return socket.create_connection((name, int(port)), timeout), host
        family, where = _socket.AF_INET, (name, int(port))
    sock = _socket.socket(family, _socket.SOCK_STREAM)
    try:
        sock.settimeout(timeout)
        sock.connect(where)
    except BaseException:
        sock.close()
        raise
    return sock, host


def call(
    endpoint: Endpoint,
    name: str,
    body: dict[str, Any] | None = None,
    *,
    timeout: float = DEFAULT_TIMEOUT,
) -> dict[str, Any]:
    """POSTs ``body`` to command ``name`` (GET the query ``name`` when ``body`` is None) and
    returns the JSON answer, or raises the node's typed error (RemoteError with its code)."""
    try:
        token = Path(endpoint.token_file).read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise _unauthorized(
            f"cannot read the token of node {endpoint.session} in {endpoint.token_file}:"
            f" {exc.strerror}; run the command as the user who started the node"
        ) from None
    data = b"" if body is None else json.dumps(body).encode()
    try:
        sock, host = _connect(endpoint.url, timeout)
        try:
            head = (
                f"{'GET' if body is None else 'POST'} /v1/{name} HTTP/1.1\r\nHost: {host}\r\n"
                f"Authorization: Bearer {token}\r\nConnection: close\r\n"
            )
            if body is not None:
                head += f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n"
            sock.sendall(head.encode() + b"\r\n" + data)
            chunks, size = [], 0
            while chunk := sock.recv(65536):
                chunks.append(chunk)
                size += len(chunk)
                if size > MAX_ANSWER:
                    raise _bad_answer(f"node {endpoint.session} answered {name} with over 16 MiB")
        finally:
            sock.close()
    except TimeoutError:
        raise _not_running(
            f"node {endpoint.session} ({endpoint.url}) gave no answer to {name} within"
            f" {timeout:g} s"
        ) from None
    except (OSError, ValueError) as exc:
        raise _not_running(
            f"node {endpoint.session} does not answer at {endpoint.url}: {exc}"
        ) from None
    return read_answer(endpoint, name, b"".join(chunks))


def read_answer(endpoint: Endpoint, name: str, raw: bytes) -> dict[str, Any]:
    """The JSON document of a whole HTTP/1.1 answer, or the node's typed error."""
    try:
        return _document(endpoint, name, raw)
    except (ValueError, IndexError):
        raise _bad_answer(f"node {endpoint.session} answered {name} with broken HTTP") from None


def _document(endpoint: Endpoint, name: str, raw: bytes) -> dict[str, Any]:
    head, found, rest = raw.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    parts = lines[0].split(b" ", 2)
    if not found or len(parts) < 2 or not parts[0].startswith(b"HTTP/1.") or not parts[1].isdigit():
        raise _bad_answer(f"node {endpoint.session} answered {name} with no HTTP/1.1 head")
    status = int(parts[1])
    headers = {}
    for line in lines[1:]:
        key, _, value = line.partition(b":")
        headers[key.strip().lower()] = value.strip()
    if headers.get(b"transfer-encoding", b"").lower() == b"chunked":
        rest = _unchunked(rest)
    elif b"content-length" in headers:
        length = int(headers[b"content-length"])
        if len(rest) < length:
            raise _bad_answer(f"node {endpoint.session} cut its answer to {name} short")
        rest = rest[:length]
    if status == 401:
        raise _unauthorized(f"node {endpoint.session} refused the token in {endpoint.token_file}")
    try:
        document = json.loads(rest)
    except ValueError:
        what = f"HTTP {status}, not JSON"
        raise _bad_answer(f"node {endpoint.session} answered {name} with {what}") from None
    if not isinstance(document, dict):
        raise _bad_answer(f"node {endpoint.session} answered {name} with no JSON object")
    error = document.get("error")
    if isinstance(error, dict) and "code" in error:
        raise _refused(str(error["code"]), str(error.get("message")), status)
    return document


def _unchunked(data: bytes) -> bytes:
    out: list[bytes] = []
    at = 0
    while True:
        end = data.index(b"\r\n", at)
        size = int(data[at:end].split(b";", 1)[0], 16)
        if size == 0:
            return b"".join(out)
        out.append(data[end + 2 : end + 2 + size])
        at = end + 2 + size + 2
