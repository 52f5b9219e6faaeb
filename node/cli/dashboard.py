"""`ifmesh dashboard`: the URL of the dashboard page for a room, with a join token in it.

Every signaling server serves the page at ``/dashboard/`` (signaling/dashboard_page.py); the
page joins the room as a WebRTC peer of its own. This command only writes the link: the page's
address on the server the nodes use, and in its fragment (never sent to the server) the room,
the page's session id, its role and, when the server has a secret, a token minted for that
role. ``--open`` hands the link to the system's browser. docs/dashboard.md says more.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import webbrowser
from pathlib import Path
from typing import TypeAlias
from urllib.parse import urlencode, urlsplit

from pydantic import TypeAdapter, ValidationError

from ifmesh.node.protocol.fields import SessionId
from ifmesh.signaling import auth, errors

Subparsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"

DEFAULT_SIGNALING = "ws://127.0.0.1:8765/ws"
DEFAULT_ROOM = "phase-0"
PAGE_ROLES = ("observer", "operator")


def register(commands: Subparsers) -> None:
    parser = commands.add_parser(
        "dashboard",
        help="print (or open) the URL of the live dashboard page for a room",
        description="Print the URL of the dashboard that the signaling server serves at"
        " /dashboard/: a page that joins the room as a WebRTC peer and shows the board, the"
        " peers, blockers, help requests, queues and a timeline, live. An observer's page is"
        " read-only; an operator's may offer help and answer an ask-release. With"
        " --secret-file the URL carries a token for that role (the server needs one when it"
        " has a secret). Settings as for `ifmesh node`: IFMESH_SIGNALING, IFMESH_ROOM.",
    )
    parser.add_argument("--signaling", help=f"signaling URL (default {DEFAULT_SIGNALING})")
    parser.add_argument("--room", help=f"room (default {DEFAULT_ROOM})")
    parser.add_argument("--session", default="dashboard", help="the page's session id")
    parser.add_argument("--role", choices=PAGE_ROLES, default="observer")
    parser.add_argument("--secret-file", type=Path, help="the server's secret: mint a token")
    parser.add_argument("--ttl", default="12h", help="the token's lifetime (default 12h)")
    parser.add_argument("--open", action="store_true", help="open it in the system's browser")
    parser.set_defaults(handler=run_dashboard)


def dashboard_url(
    signaling: str, room: str, session: str, role: str, token: str | None = None
) -> str:
    """The page on the server behind ``signaling`` (``ws://HOST:PORT/ws``), for ``room``."""
    parts = urlsplit(signaling)
    if parts.scheme not in ("ws", "wss") or not parts.netloc:
        raise errors.ConfigError(f"signaling URL {signaling!r} is not ws://HOST:PORT/ws")
    prefix = parts.path.removesuffix("/ws") if parts.path.endswith("/ws") else parts.path
    scheme = "https" if parts.scheme == "wss" else "http"
    fragment = {"room": room, "session": session, "role": role}
    if token is not None:
        fragment["token"] = token
    if parts.path != "/ws":  # the page guesses /ws on its own server; say anything else
        fragment["signaling"] = signaling
    return f"{scheme}://{parts.netloc}{prefix.rstrip('/')}/dashboard/#{urlencode(fragment)}"


def run_dashboard(args: argparse.Namespace) -> int:
    signaling = args.signaling or os.environ.get("IFMESH_SIGNALING") or DEFAULT_SIGNALING
    room = args.room or os.environ.get("IFMESH_ROOM") or DEFAULT_ROOM
    try:
        TypeAdapter(SessionId).validate_python(args.session)
    except ValidationError:
        print(
            f"ifmesh dashboard: --session {args.session!r} is no valid session id (lower-case"
            " letters, digits, '.', '_', '-'; it is the page's IFMessage source)",
            file=sys.stderr,
        )
        return 2
    try:
        token = None
        if args.secret_file is not None:
            secret = auth.load_secret(args.secret_file)
            expiry = int(time.time()) + auth.parse_ttl(args.ttl)
            token = auth.mint(secret, room, args.session, expiry, args.role)
        url = dashboard_url(signaling, room, args.session, args.role, token)
    except errors.ConfigError as exc:
        print(f"ifmesh dashboard: {exc}", file=sys.stderr)
        return 2
    print(url)
    if token is None:
        print(
            "(no token: the page can join only a server without --secret-file; give the"
            " server's --secret-file to mint one)",
            file=sys.stderr,
        )
    if args.open:
        webbrowser.open(url)
    return 0
