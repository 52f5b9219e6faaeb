"""`ifmesh signaling` (run a server) and `ifmesh token` (mint a join token).

``register(commands)`` adds both to an argparse subparsers object (node/cli/main.py's COMMANDS);
``python -m signaling`` runs the server with the same options. Exit codes as everywhere in
ifmesh: 0 done, 1 refused, 2 bad usage or unreadable input.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeAlias

from pydantic import ValidationError

from ifmesh.signaling import auth, errors
from ifmesh.signaling.config import ServerConfig
from ifmesh.signaling.limits import ServerLimits
from ifmesh.signaling.protocol import Join
from ifmesh.signaling.server import SignalingServer

__all__ = [
    "add_server_arguments",
    "config_from_args",
    "main",
    "register",
    "run_server",
    "run_token",
]

EXIT_OK = 0
EXIT_USAGE = 2

Subparsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


def register(commands: Subparsers) -> None:
    server = commands.add_parser(
        "signaling",
        help="run the signaling server (WebSocket rendezvous of the mesh)",
        description="Run the signaling server: rooms, roster, authenticated relay of "
        "offer/answer/candidate frames on ws://HOST:PORT/ws, /healthz and /metrics. "
        "Protocol: docs/signaling-protocol.md. SIGTERM shuts it down gracefully.",
    )
    add_server_arguments(server)
    server.set_defaults(handler=run_server)

    token = commands.add_parser(
        "token",
        help="mint a signaling join token",
        description="Print a join token (HMAC-SHA256 over room, session, expiry and role) that "
        "a signaling server started with the same --secret-file accepts. The server stamps the "
        "role on the roster, and the nodes enforce it: an observer (a dashboard) changes "
        "nothing, an operator may offer help and answer an ask-release (docs/dashboard.md).",
    )
    token.add_argument("--room", required=True)
    token.add_argument("--session", required=True)
    token.add_argument(
        "--role",
        choices=auth.ROLES,
        default="node",
        help="node (a session's node, the default), observer or operator",
    )
    token.add_argument("--ttl", default="1h", help="lifetime: 90s, 30m, 1h, 7d (default 1h)")
    token.add_argument("--secret-file", required=True, type=Path, help="the server's secret")
    token.set_defaults(handler=run_token)


def add_server_arguments(parser: argparse.ArgumentParser) -> None:
    defaults = ServerLimits()
    parser.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8765, help="0 picks a free port")
    parser.add_argument(
        "--secret-file", type=Path, help="HMAC secret; joins then need a token (ifmesh token)"
    )
    parser.add_argument("--redis", metavar="URL", help="share rooms through Redis: redis://…")
    parser.add_argument(
        "--redis-prefix", default="ifmesh:signaling:", help="key and channel prefix in Redis"
    )
    parser.add_argument(
        "--insecure-bind-all",
        action="store_true",
        help="allow an open server (no --secret-file) on a non-loopback address",
    )
    limits = parser.add_argument_group("limits")
    limits.add_argument("--max-frame-bytes", type=int, default=defaults.max_frame_bytes)
    limits.add_argument("--rate", type=float, default=defaults.rate, help="frames/s per client")
    limits.add_argument("--burst", type=int, default=defaults.burst, help="frames at once")
    limits.add_argument("--max-peers", type=int, default=defaults.max_peers, help="per room")
    limits.add_argument("--max-rooms", type=int, default=defaults.max_rooms)
    limits.add_argument("--join-deadline", type=float, default=defaults.join_deadline)
    limits.add_argument("--heartbeat", type=float, default=10.0, help="WebSocket ping period (s)")
    limits.add_argument(
        "--presence-ttl", type=float, default=6.0, help="Redis presence TTL of an instance (s)"
    )
    parser.add_argument("--log-level", default="INFO", help="DEBUG, INFO, WARNING")


def config_from_args(args: argparse.Namespace) -> ServerConfig:
    secret = auth.load_secret(args.secret_file) if args.secret_file is not None else None
    limits = ServerLimits(
        max_frame_bytes=args.max_frame_bytes,
        rate=args.rate,
        burst=args.burst,
        max_peers=args.max_peers,
        max_rooms=args.max_rooms,
        join_deadline=args.join_deadline,
    )
    return ServerConfig(
        host=args.host,
        port=args.port,
        secret=secret,
        redis_url=args.redis,
        redis_prefix=args.redis_prefix,
        insecure_bind_all=args.insecure_bind_all,
        limits=limits,
        heartbeat=args.heartbeat,
        presence_ttl=args.presence_ttl,
    )


def run_server(args: argparse.Namespace) -> int:
    logging.basicConfig(
        level=args.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
        stream=sys.stderr,
    )
    try:
        config = config_from_args(args)
        asyncio.run(serve(config, on_ready=_announce))
    except errors.ConfigError as exc:
        print(f"ifmesh signaling: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as exc:  # port in use, address not available
        print(f"ifmesh signaling: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    return EXIT_OK


def _announce(server: SignalingServer) -> None:
    # One stdout line once the socket is bound, so scripts (and tests) can wait for it.
    print(f"listening {server.url}", flush=True)


def run_token(args: argparse.Namespace) -> int:
    try:
        Join(room=args.room, session=args.session)  # a token for an unjoinable id is useless
    except ValidationError as exc:
        field = exc.errors()[0]["loc"][0]
        print(f"ifmesh token: invalid --{field}: {exc.errors()[0]['msg']}", file=sys.stderr)
        return EXIT_USAGE
    try:
        secret = auth.load_secret(args.secret_file)
        ttl = auth.parse_ttl(args.ttl)
    except errors.ConfigError as exc:
        print(f"ifmesh token: {exc}", file=sys.stderr)
        return EXIT_USAGE
    print(auth.mint(secret, args.room, args.session, int(time.time()) + ttl, args.role))
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    """Both commands without the rest of ifmesh (`ifmesh signaling …` once wired in)."""
    parser = argparse.ArgumentParser(prog="ifmesh")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    register(commands)
    args = parser.parse_args(argv)
    code: int = args.handler(args)
    return code


async def serve(
    config: ServerConfig, on_ready: Callable[[SignalingServer], None] | None = None
) -> None:
    """Runs a server until SIGTERM or SIGINT, then shuts it down gracefully."""
    server = SignalingServer(config)
    await server.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    if on_ready is not None:
        on_ready(server)
    try:
        await stop.wait()
    finally:
        await server.stop()
