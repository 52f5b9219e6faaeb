"""`ifmesh dashboard`: the URL of the dashboard page for a room, with a join token in it.

Every signaling server serves the page at ``/dashboard/`` (signaling/dashboard_page.py); the
page joins the room as a WebRTC peer of its own. This command only writes the link: the page's
address on the server the nodes use, and in its fragment (never sent to the server) the room,
the page's session id, its role and, when the server has a secret, a token minted for that
role. With ``--operator-key FILE`` the fragment also carries that operator's private key, which
the page imports into WebCrypto and signs its actions with (the nodes take an operator's
actions only signed by an operator key they pin). ``--open`` hands the link to the system's
browser. docs/dashboard.md says more.
"""

from __future__ import annotations

import argparse
import base64
import ipaddress
import os
import sys
import time
import webbrowser
from pathlib import Path
from typing import TypeAlias
from urllib.parse import urlencode, urlsplit

from pydantic import TypeAdapter, ValidationError

from ifmesh.node import errors as node_errors
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
    parser.add_argument(
        "--role", choices=PAGE_ROLES, help="the page's role (default observer; operator with a key)"
    )
    parser.add_argument(
        "--operator-key",
        type=Path,
        metavar="FILE",
        help="an operator key file (`ifmesh keys operator-key`): the link carries it, and the"
        " page signs its help offers and answers with it",
    )
    parser.add_argument("--secret-file", type=Path, help="the server's secret: mint a token")
    parser.add_argument("--ttl", default="12h", help="the token's lifetime (default 12h)")
    parser.add_argument("--open", action="store_true", help="open it in the system's browser")
    parser.set_defaults(handler=run_dashboard)


def dashboard_url(
    signaling: str,
    room: str,
    session: str,
    role: str,
    token: str | None = None,
    operator_key: str | None = None,
) -> str:
    """The page on the server behind ``signaling`` (``ws://HOST:PORT/ws``), for ``room``;
    ``operator_key`` is the fragment's ``opkey`` (:func:`link_key`)."""
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
    if operator_key is not None:
        fragment["opkey"] = operator_key
    return f"{scheme}://{parts.netloc}{prefix.rstrip('/')}/dashboard/#{urlencode(fragment)}"


def link_key(path: Path) -> tuple[str, str]:
    """An operator key file as the link carries it: base64url (unpadded) of its PKCS#8 DER,
    which WebCrypto imports; and a line naming its public key, for the person to check against
    the nodes' ``operator_keys``. Read with the checks of a node's own key file (mode 0600)."""
    from cryptography.hazmat.primitives.serialization import (
        Encoding,
        NoEncryption,
        PrivateFormat,
    )

    from ifmesh.node.identity.keys import load_key_file

    key = load_key_file(path)
    der = key.private.private_bytes(Encoding.DER, PrivateFormat.PKCS8, NoEncryption())
    text = base64.urlsafe_b64encode(der).decode("ascii").rstrip("=")
    return text, f"operator key {key.public.short} ({key.public.text})"


def _secure_context(signaling: str) -> bool:
    """Whether a browser takes the page's origin for a secure context, where WebCrypto exists:
    https, or http on a loopback address or localhost."""
    parts = urlsplit(signaling)
    if parts.scheme == "wss" or parts.hostname in ("localhost", None):
        return True
    try:
        return ipaddress.ip_address(parts.hostname).is_loopback
    except ValueError:
        return parts.hostname.endswith(".localhost")


def run_dashboard(args: argparse.Namespace) -> int:
    signaling = args.signaling or os.environ.get("IFMESH_SIGNALING") or DEFAULT_SIGNALING
    room = args.room or os.environ.get("IFMESH_ROOM") or DEFAULT_ROOM
    role = args.role or ("operator" if args.operator_key is not None else "observer")
    if args.operator_key is not None and role != "operator":
        print("ifmesh dashboard: --operator-key is for an operator's page", file=sys.stderr)
        return 2
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
            token = auth.mint(secret, room, args.session, expiry, role)
        opkey, named = link_key(args.operator_key) if args.operator_key else (None, "")
        url = dashboard_url(signaling, room, args.session, role, token, opkey)
    except (errors.ConfigError, node_errors.ConfigError) as exc:
        print(f"ifmesh dashboard: {exc}", file=sys.stderr)
        return 2
    print(url)
    if opkey is not None:
        print(
            f"(the link holds the private {named}: open it only in your own browser, and do not"
            " pass it on; the page signs with it, and the nodes take its actions only if their"
            " operator_keys hold that key)",
            file=sys.stderr,
        )
        if not _secure_context(signaling):
            print(
                "(a page served over http from an address other than 127.0.0.1 or localhost is"
                " no secure context: the browser gives it no WebCrypto, and it cannot sign. Reach"
                " the server as 127.0.0.1, through `ssh -L PORT:127.0.0.1:PORT HOST`, or over"
                " https)",
                file=sys.stderr,
            )
    if token is None:
        print(
            "(no token: the page can join only a server without --secret-file; give the"
            " server's --secret-file to mint one)",
            file=sys.stderr,
        )
    if args.open:
        webbrowser.open(url)
    return 0
