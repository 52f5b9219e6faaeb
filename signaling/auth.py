"""Join tokens: HMAC-SHA256 over room, session and expiry, minted and verified here.

Format (also in docs/signaling-protocol.md)::

    v1.<base64url(room)>.<base64url(session)>.<expiry>.<base64url(mac)>

``expiry`` is Unix seconds (decimal integer); ``mac`` is HMAC-SHA256 with the server's secret
over ``"ifmesh-signaling-v1\\n" + room + "\\n" + session + "\\n" + expiry`` (UTF-8); base64url
without padding. Room and session are in the token, in the clear, so that a token for another
room is refused as ``wrong_room`` rather than as an unexplained bad signature. Pure: callers
pass ``now`` (Unix seconds).
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

__all__ = ["MIN_SECRET_BYTES", "TokenClaims", "load_secret", "mint", "parse_ttl", "verify"]

MIN_SECRET_BYTES = 16
_VERSION = "v1"
_CONTEXT = "ifmesh-signaling-v1"
_TTL = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


@dataclass(frozen=True)
class TokenClaims:
    room: str
    session: str
    expires_at: int


def mint(secret: bytes, room: str, session: str, expires_at: int) -> str:
    """A token admitting ``session`` to ``room`` until ``expires_at`` (Unix seconds)."""
    mac = _mac(secret, room, session, expires_at)
    return f"{_VERSION}.{_b64(room.encode())}.{_b64(session.encode())}.{expires_at}.{mac}"


def verify(secret: bytes, token: str, *, room: str, session: str, now: float) -> TokenClaims:
    """The token's claims if it admits ``session`` to ``room`` at ``now``; else a typed error.

    Order matters for the message a user sees: a forged token is ``bad_token`` even if it
    also names another room; only a genuine token is judged on room, session and expiry.
    """
    claims = _parse(token)
    expected = _mac(secret, claims.room, claims.session, claims.expires_at)
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
    if len(parts) != 5 or parts[0] != _VERSION:
        raise errors.BadToken(
            f"malformed token: expected {_VERSION}.<room>.<session>.<expiry>.<mac>"
        )
    try:
        room = _unb64(parts[1]).decode()
        session = _unb64(parts[2]).decode()
        expires_at = int(parts[3])
    except (ValueError, binascii.Error):
        raise errors.BadToken("malformed token: room, session or expiry does not decode") from None
    return TokenClaims(room=room, session=session, expires_at=expires_at)


def _mac(secret: bytes, room: str, session: str, expires_at: int) -> str:
    message = f"{_CONTEXT}\n{room}\n{session}\n{expires_at}".encode()
    return _b64(hmac.new(secret, message, hashlib.sha256).digest())


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    if not re.fullmatch(r"[A-Za-z0-9_-]*", text):
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
