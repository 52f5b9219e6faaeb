"""The signaling error hierarchy: every violation a client can cause has a class here.

Each class carries the stable ``code`` sent in the ``error`` frame and, when the violation ends
the connection, the WebSocket ``close_code`` used right after that frame. The server turns bad
input into one of these at the boundary; no client frame can crash it. ``signaling`` never
imports ``node``, so this hierarchy is rooted in its own ``SignalingError``.
"""

from __future__ import annotations

from typing import ClassVar

__all__ = [
    "AlreadyJoined",
    "AuthError",
    "AuthRequired",
    "BackplaneUnavailable",
    "BadToken",
    "ConfigError",
    "FrameError",
    "FrameTooLarge",
    "InternalError",
    "InvalidField",
    "JoinTimeout",
    "MalformedFrame",
    "MissingField",
    "NotJoined",
    "PresenceExpired",
    "RateLimited",
    "RoomFull",
    "SessionReplaced",
    "SignalingError",
    "SlowConsumer",
    "TokenExpired",
    "TooManyRooms",
    "UnknownFrameType",
    "UnknownPeer",
    "WrongRole",
    "WrongRoom",
    "WrongSession",
    "error_classes",
]


class SignalingError(Exception):
    """Root of every error the signaling package raises on purpose."""

    code: ClassVar[str] = "signaling_error"
    # None: the connection stays open after the error frame.
    close_code: ClassVar[int | None] = None


# --- frames that cannot be decoded (connection stays open) ----------------------------------


class FrameError(SignalingError):
    """A frame that cannot be accepted; ``path`` names the field (``sdpMLineIndex``)."""

    code = "invalid_frame"

    def __init__(self, reason: str, *, path: str = "") -> None:
        self.reason = reason
        self.path = path
        super().__init__(f"{path}: {reason}" if path else reason)


class MalformedFrame(FrameError):
    """Not JSON, or JSON that is not an object."""

    code = "bad_json"


class UnknownFrameType(FrameError):
    code = "unknown_type"


class MissingField(FrameError):
    code = "missing_field"


class InvalidField(FrameError):
    """A field of the wrong type, out of range, or not matching its pattern."""

    code = "invalid_field"


class FrameTooLarge(FrameError):
    code = "frame_too_large"
    close_code = 1009


# --- frames that are valid but not allowed now (connection stays open) ----------------------


class NotJoined(SignalingError):
    """A relay or leave before a successful join."""

    code = "not_joined"


class AlreadyJoined(SignalingError):
    """A second join on a connection that is already in a room."""

    code = "already_joined"


class UnknownPeer(SignalingError):
    """A relay to a session that is not in the sender's room (absent, or in another room)."""

    code = "unknown_peer"


class RateLimited(SignalingError):
    """The frame was dropped: the connection sends faster than its token bucket allows."""

    code = "rate_limited"


class BackplaneUnavailable(SignalingError):
    """Redis (shared rooms) failed during the request; the client may retry it."""

    code = "backplane_unavailable"


# --- violations that end the connection -----------------------------------------------------


class AuthError(SignalingError):
    """A join whose token does not admit it; the connection is closed."""

    code = "auth_failed"
    close_code = 4401


class AuthRequired(AuthError):
    code = "auth_required"


class BadToken(AuthError):
    """Malformed token or a signature that does not verify with the server's secret."""

    code = "bad_token"


class TokenExpired(AuthError):
    code = "token_expired"


class WrongRoom(AuthError):
    code = "wrong_room"


class WrongSession(AuthError):
    code = "wrong_session"


class WrongRole(AuthError):
    """The join asks for a role its (genuine) token does not give."""

    code = "wrong_role"


class RoomFull(SignalingError):
    code = "room_full"
    close_code = 4403


class TooManyRooms(SignalingError):
    """Joining would open a room beyond the server's room limit."""

    code = "too_many_rooms"
    close_code = 4403


class JoinTimeout(SignalingError):
    code = "join_timeout"
    close_code = 4408


class SessionReplaced(SignalingError):
    """Another connection joined the same room with the same session id."""

    code = "session_replaced"
    close_code = 4409


class PresenceExpired(SignalingError):
    """This server instance lost its shared presence (Redis) and other instances removed its
    members; the client must reconnect and join again."""

    code = "presence_expired"
    close_code = 4410


class SlowConsumer(SignalingError):
    """The client stopped reading: its outbox is full; frames for it cannot be kept forever."""

    code = "slow_consumer"
    close_code = 1013


class InternalError(SignalingError):
    code = "internal_error"
    close_code = 1011


# --- operator errors (never sent to clients) ------------------------------------------------


class ConfigError(SignalingError):
    """Bad command line or configuration: unreadable secret file, unsafe bind, bad limit."""

    code = "config_error"


def error_classes() -> list[type[SignalingError]]:
    """Every concrete error class, for documentation and tests of code stability."""
    found: list[type[SignalingError]] = []
    pending: list[type[SignalingError]] = [SignalingError]
    while pending:
        cls = pending.pop()
        found.append(cls)
        pending.extend(cls.__subclasses__())
    return found
