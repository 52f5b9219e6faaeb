"""Join tokens: HMAC-SHA256 over room, session, expiry and role, minted and verified here.

Formats (also in docs/signaling-protocol.md)::

    v1.<base64url(room)>.<base64url(session)>.<expiry>.<base64url(mac)>          role node
    v2.<base64url(room)>.<base64url(session)>.<expiry>.<role>.<base64url(mac)>   any role

``expiry`` is Unix seconds (decimal integer); ``mac`` is HMAC-SHA256 with the server's secret
over ``"ifmesh-signaling-v1\\n" + room + "\\n" + session + "\\n" + expiry`` (v1), or over
``"ifmesh-signaling-v2\\n" + room + "\\n" + session + "\\n" + expiry + "\\n" + role`` (v2), in
UTF-8; base64url without padding. Room, session and role are in the token, in the clear, so that
a token for another room is refused as ``wrong_room`` rather than as an unexplained bad
signature. A v1 token (every token minted before roles existed) admits a ``node``; a node's
token is still minted as v1, so servers older than roles accept it. The role is inside the MAC,
and the two formats sign under different contexts, so a role can be neither added, removed nor
changed. Pure: callers pass ``now`` (Unix seconds).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from dataclasses import dataclass
from pathlib import Path

from ifmesh.signaling import errors
from ifmesh.signaling.protocol import Role

__all__ = [
    "MIN_SECRET_BYTES",
    "ROLES",
    "TokenClaims",
    "admitted_role",
    "load_secret",
    "mint",
    "parse_ttl",
    "verify",
]

MIN_SECRET_BYTES = 16
# What a member may do in its room (docs/dashboard.md, "Roles"): a ``node`` is a session; an
# ``observer`` receives everything and changes nothing; an ``operator`` is an observer that may
# offer help and answer an ask-release. The signaling server only stamps the role on the
# roster: the nodes enforce it, since data-channel frames never pass through the server.
ROLES: tuple[Role, ...] = ("node", "observer", "operator")
_VERSION, _VERSION_ROLE = "v1", "v2"
_CONTEXT, _CONTEXT_ROLE = "ifmesh-signaling-v1", "ifmesh-signaling-v2"
_TTL = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


@dataclass(frozen=True)
class TokenClaims:
    room: str
    session: str
    expires_at: int
    role: Role = "node"


def mint(secret: bytes, room: str, session: str, expires_at: int, role: str = "node") -> str:
    """A token admitting ``session`` to ``room`` as ``role`` until ``expires_at`` (Unix
    seconds). A node's token is a v1 token, as before roles existed."""
    known = _known(role)
    if known is None:
        raise errors.ConfigError(f"unknown role {role!r}; use one of {', '.join(ROLES)}")
    claims = TokenClaims(room, session, expires_at, known)
    head = f"{_b64(room.encode())}.{_b64(session.encode())}.{expires_at}"
    if role == "node":
        return f"{_VERSION}.{head}.{_mac(secret, claims, versioned=False)}"
    return f"{_VERSION_ROLE}.{head}.{role}.{_mac(secret, claims, versioned=True)}"


def verify(secret: bytes, token: str, *, room: str, session: str, now: float) -> TokenClaims:
    """The token's claims if it admits ``session`` to ``room`` at ``now``; else a typed error.

    Order matters for the message a user sees: a forged token is ``bad_token`` even if it
    also names another room; only a genuine token is judged on room, session and expiry.
    """
    claims = _parse(token)
    expected = _mac(secret, claims, versioned=token.startswith(_VERSION_ROLE + "."))
    if not hmac.compare_digest(expected, token.rsplit(".", 1)[1]):
        raise errors.BadToken(
            "token signature does not verify with this server's secret; mint a new one with "
            "`ifmesh token` using the server's --secret-file"
        )
    if claims.room != room:
        raise errors.WrongRoom(f"token is for room {claims.room!r}, not {room!r}")
    if claims.session != session:
        raise errors.WrongSession(f"token is for session {claims.session!r}, not {session!r}")
    if claims.expires_at <= now:
        raise errors.TokenExpired(
            f"token expired {int(now - claims.expires_at)} s ago; mint a new one"
        )
    return claims


def admitted_role(
    secret: bytes | None,
    token: str | None,
    *,
    room: str,
    session: str,
    asked: Role | None,
    now: float,
) -> Role:
    """The role a join is admitted with, or a typed error. With a secret it is the token's,
    and a join asking for another is refused; an open server admits anyone as anything, so the
    role is the join's own word (``node`` when it names none)."""
    if secret is None:
        return asked or "node"
    if token is None:
        raise errors.AuthRequired(
            "this server requires a join token; mint one with "
            "`ifmesh token --room ROOM --session SESSION [--role ROLE]`"
        )
    role = verify(secret, token, room=room, session=session, now=now).role
    if asked is not None and asked != role:
        raise errors.WrongRole(
            f"the join asks to be {asked!r} but its token admits {role!r}; mint a token with"
            f" `ifmesh token --role {asked}`"
        )
    return role


def parse_ttl(text: str) -> int:
    """Seconds in ``text``: ``3600``, ``90s``, ``30m``, ``1h``, ``7d``."""
    match = _TTL.match(text)
    if match is None or float(match.group(1)) <= 0:
        raise errors.ConfigError(f"bad ttl {text!r}; use e.g. 90s, 30m, 1h or 7d")
    return int(float(match.group(1)) * _UNITS[match.group(2)])


def load_secret(path: Path) -> bytes:
    """The secret in ``path`` (surrounding whitespace stripped); ConfigError if unusable."""
    try:
        secret = path.read_bytes().strip()
    except OSError as exc:
        raise errors.ConfigError(f"cannot read secret file {path}: {exc.strerror}") from None
    if len(secret) < MIN_SECRET_BYTES:
        raise errors.ConfigError(
            f"secret file {path} holds {len(secret)} bytes; use at least {MIN_SECRET_BYTES} "
            "(e.g. `head -c 32 /dev/urandom | base64 > FILE`)"
        )
    return secret


def _parse(token: str) -> TokenClaims:
    parts = token.split(".")
    if not (
        (len(parts) == 5 and parts[0] == _VERSION)
        or (len(parts) == 6 and parts[0] == _VERSION_ROLE)
    ):
        raise errors.BadToken(
            f"malformed token: expected {_VERSION}.<room>.<session>.<expiry>.<mac> or"
            f" {_VERSION_ROLE}.<room>.<session>.<expiry>.<role>.<mac>"
        )
    role = _known(parts[4]) if parts[0] == _VERSION_ROLE else "node"
    if role is None:
        raise errors.BadToken(f"malformed token: role must be one of {', '.join(ROLES)}")
    try:
        room = _unb64(parts[1]).decode()
        session = _unb64(parts[2]).decode()
        expires_at = int(parts[3])
    except (ValueError, binascii.Error):
        raise errors.BadToken("malformed token: room, session or expiry does not decode") from None
    return TokenClaims(room=room, session=session, expires_at=expires_at, role=role)


def _known(role: str) -> Role | None:
    return next((known for known in ROLES if known == role), None)


def _mac(secret: bytes, claims: TokenClaims, *, versioned: bool) -> str:
    head = f"{claims.room}\n{claims.session}\n{claims.expires_at}"
    if versioned:
        message = f"{_CONTEXT_ROLE}\n{head}\n{claims.role}".encode()
    else:
        message = f"{_CONTEXT}\n{head}".encode()
    return _b64(hmac.new(secret, message, hashlib.sha256).digest())


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    if not re.fullmatch(r"[A-Za-z0-9_-]*", text):
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
