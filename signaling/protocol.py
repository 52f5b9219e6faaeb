"""The signaling wire protocol: every frame, and sans-IO encoding and decoding of them.

A frame is one WebSocket text message holding one JSON object with a ``type`` field. Clients
send ``join``, ``leave``, ``offer``, ``answer``, ``candidate`` and ``ping``; the server sends
``joined``, ``peer-joined``, ``peer-left``, the relayed ``offer`` / ``answer`` / ``candidate``
(with ``from`` stamped by the server), ``error``, ``server-closing`` and ``pong``.

Compatibility rules (docs/signaling-protocol.md repeats them for other languages): receivers
ignore fields they do not know, new fields are only ever optional, and a client ignores frame
types it does not know (``decode_server_frame`` raises ``UnknownFrameType`` for those, which a
client should log and skip). This module does no I/O and keeps no state; the server and the
mesh's signaling client both build on it.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, TypeVar

import orjson
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from ifmesh.signaling import errors

__all__ = [
    "CLIENT_FRAME_ADAPTER",
    "DEFAULT_MAX_FRAME_BYTES",
    "PROTOCOL_VERSION",
    "SERVER_FRAME_ADAPTER",
    "Answer",
    "Candidate",
    "ClientFrame",
    "Error",
    "Frame",
    "Join",
    "Joined",
    "Leave",
    "Limits",
    "Member",
    "Offer",
    "PeerJoined",
    "PeerLeft",
    "Ping",
    "Pong",
    "RelayFrame",
    "Role",
    "ServerClosing",
    "ServerFrame",
    "decode_client_frame",
    "decode_server_frame",
    "encode_frame",
    "encode_relay",
    "error_frame",
    "stamp",
]

PROTOCOL_VERSION = 1
DEFAULT_MAX_FRAME_BYTES = 64 * 1024

# Session and room ids appear in logs, metric labels and Redis keys: a conservative alphabet.
# It admits every ifmesh session id (``session-2-webrtc``).
SessionId = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]
RoomId = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")]
Capability = Annotated[str, Field(min_length=1, max_length=64)]
Epoch = Annotated[int, Field(ge=0, le=2**53 - 1)]
Sdp = Annotated[str, Field(min_length=1, max_length=60_000)]
# A member's role in its room (signaling.auth.ROLES). On the roster an absent role means
# "node", so a room of nodes looks exactly as it did before roles existed.
Role = Literal["node", "observer", "operator"]


class _Model(BaseModel):
    # Unknown fields are ignored so a newer peer's optional additions never break an older one.
    model_config = ConfigDict(
        frozen=True, extra="ignore", validate_by_name=True, validate_by_alias=True
    )


class _Frame(_Model):
    # Declared here so ``type`` is the first key of every encoded frame; each frame narrows it.
    type: str


# --- client → server ------------------------------------------------------------------------


class Join(_Frame):
    """Enter ``room`` as ``session``. ``token`` is required when the server has a secret."""

    type: Literal["join"] = "join"
    room: RoomId
    session: SessionId
    token: Annotated[str, Field(max_length=1024)] | None = None
    capabilities: Annotated[list[Capability], Field(max_length=64)] = []
    # The role this client means to have. With a secret the token's role decides, and a join
    # naming another is refused (``wrong_role``); an open server takes it as said. Absent:
    # the token's role, or ``node`` on an open server.
    role: Role | None = None


class Leave(_Frame):
    """Leave the room but keep the connection (a later ``join`` is allowed)."""

    type: Literal["leave"] = "leave"


class Ping(_Frame):
    """Application-level ping for clients that cannot send WebSocket pings (browsers)."""

    type: Literal["ping"] = "ping"
    nonce: Annotated[str, Field(max_length=128)] | None = None


# --- relayed both ways: the client names ``to``, the server stamps ``from`` -----------------


class _Relay(_Frame):
    to: SessionId
    # Set by the server on delivery; whatever a client puts here is overwritten.
    sender: SessionId | None = Field(default=None, alias="from")
    # The per-pair negotiation epoch of the mesh; relayed unchanged.
    epoch: Epoch


# The sender's DTLS fingerprints signed with its session key (hex Ed25519); relayed unchanged.
# The server never checks it: the receiving node does, before ICE (node.identity.pairproof).
Proof = Annotated[str, Field(max_length=256)]


class Offer(_Relay):
    type: Literal["offer"] = "offer"
    sdp: Sdp
    proof: Proof | None = None


class Answer(_Relay):
    type: Literal["answer"] = "answer"
    sdp: Sdp
    proof: Proof | None = None


class Candidate(_Relay):
    """One trickled ICE candidate; ``candidate == ""`` means end of candidates.

    Field names follow the browser's ``RTCIceCandidate.toJSON()`` so a browser can send
    ``{type: "candidate", to, epoch, ...event.candidate.toJSON()}`` as is.
    """

    type: Literal["candidate"] = "candidate"
    candidate: Annotated[str, Field(max_length=4096)]
    sdp_mid: Annotated[str, Field(max_length=256)] | None = Field(default=None, alias="sdpMid")
    sdp_mline_index: Annotated[int, Field(ge=0, le=1023)] | None = Field(
        default=None, alias="sdpMLineIndex"
    )
    username_fragment: Annotated[str, Field(max_length=256)] | None = Field(
        default=None, alias="usernameFragment"
    )

    @property
    def end_of_candidates(self) -> bool:
        return self.candidate == ""


# --- server → client ------------------------------------------------------------------------


class Member(_Model):
    session: SessionId
    capabilities: list[Capability] = []
    # Stamped by the server (absent: node). Nodes go by it: see docs/dashboard.md, "Roles".
    role: Role | None = None


class Limits(_Model):
    """The limits this server enforces on the connection, announced in ``joined``."""

    max_frame_bytes: int
    rate: float  # frames per second, sustained
    burst: int  # frames allowed at once
    max_peers: int  # members per room


class Joined(_Frame):
    """The join succeeded. ``roster`` lists every member, this session included."""

    type: Literal["joined"] = "joined"
    room: RoomId
    session: SessionId
    roster: list[Member]
    roster_version: int
    protocol: int = PROTOCOL_VERSION
    limits: Limits | None = None
    # WebSocket heartbeat interval in seconds: the server pings this often, and a peer that
    # does not answer within it is dropped (and leaves the roster).
    heartbeat: float | None = None


class PeerJoined(_Frame):
    type: Literal["peer-joined"] = "peer-joined"
    room: RoomId
    session: SessionId
    capabilities: list[Capability] = []
    roster_version: int
    role: Role | None = None  # stamped by the server; absent means node


class PeerLeft(_Frame):
    """A member left. ``reason``: left, closed, replaced, timeout (heartbeat) or expired
    (its server instance stopped renewing its presence). Clients accept unknown reasons."""

    type: Literal["peer-left"] = "peer-left"
    room: RoomId
    session: SessionId
    roster_version: int
    reason: str = "closed"


class Error(_Frame):
    """A refused frame. ``code`` is stable (see signaling.errors); ``ref`` is the offending
    frame's type when known."""

    type: Literal["error"] = "error"
    code: str
    message: str
    ref: str | None = None


class ServerClosing(_Frame):
    """The server is shutting down; reconnect (to it or another instance) after
    ``retry_after`` seconds."""

    type: Literal["server-closing"] = "server-closing"
    reason: str = "shutdown"
    retry_after: float = 1.0


class Pong(_Frame):
    type: Literal["pong"] = "pong"
    nonce: str | None = None


RelayFrame = Offer | Answer | Candidate
_R = TypeVar("_R", bound=_Relay)
ClientFrame = Annotated[
    Join | Leave | Ping | Offer | Answer | Candidate, Field(discriminator="type")
]
ServerFrame = Annotated[
    Joined | PeerJoined | PeerLeft | Offer | Answer | Candidate | Error | ServerClosing | Pong,
    Field(discriminator="type"),
]
Frame = (
    Join
    | Leave
    | Ping
    | Offer
    | Answer
    | Candidate
    | Joined
    | PeerJoined
    | PeerLeft
    | Error
    | ServerClosing
    | Pong
)

CLIENT_FRAME_ADAPTER: TypeAdapter[ClientFrame] = TypeAdapter(ClientFrame)
SERVER_FRAME_ADAPTER: TypeAdapter[ServerFrame] = TypeAdapter(ServerFrame)

# pydantic error type → typed error; anything unlisted is a wrong type or value.
_ERROR_TYPES: dict[str, type[errors.FrameError]] = {
    "missing": errors.MissingField,
    "union_tag_invalid": errors.UnknownFrameType,
    "union_tag_not_found": errors.MissingField,
}


def encode_frame(frame: Frame) -> str:
    """The JSON text of ``frame``: wire names (``from``, ``sdpMid``), unset optionals omitted."""
    return orjson.dumps(frame.model_dump(by_alias=True, exclude_none=True)).decode()


def decode_client_frame(
    data: str | bytes, *, max_bytes: int = DEFAULT_MAX_FRAME_BYTES
) -> ClientFrame:
    """Parses one frame a client sent; raises a FrameError subclass naming the field.

    A relay frame's ``from`` is kept as sent: the server must overwrite it (``stamp``) before
    delivery, which is what makes spoofing impossible.
    """
    document = _parse(data, max_bytes)
    try:
        return CLIENT_FRAME_ADAPTER.validate_python(document)
    except ValidationError as exc:
        raise _frame_error(exc) from None


def decode_server_frame(data: str | bytes, *, max_bytes: int | None = None) -> ServerFrame:
    """Parses one frame the server sent (the client side); raises a FrameError subclass."""
    document = _parse(data, max_bytes)
    try:
        return SERVER_FRAME_ADAPTER.validate_python(document)
    except ValidationError as exc:
        raise _frame_error(exc) from None


def stamp(frame: _R, sender: str) -> _R:
    """``frame`` as delivered: ``from`` is the sender's joined session, whatever it claimed."""
    return frame.model_copy(update={"sender": sender})


def encode_relay(frame: RelayFrame, sender: str) -> str:
    """``encode_frame(stamp(frame, sender))``, without copying the model (the relay hot path)."""
    document = frame.model_dump(by_alias=True)
    document["from"] = sender
    return orjson.dumps({k: v for k, v in document.items() if v is not None}).decode()


def error_frame(error: errors.SignalingError, *, ref: str | None = None) -> Error:
    return Error(code=error.code, message=str(error), ref=ref)


def _parse(data: str | bytes, max_bytes: int | None) -> dict[str, Any]:
    size = len(data.encode()) if isinstance(data, str) else len(data)
    if max_bytes is not None and size > max_bytes:
        raise errors.FrameTooLarge(f"frame is {size} bytes; the limit is {max_bytes}")
    try:
        document = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise errors.MalformedFrame(f"not JSON ({exc}); a frame is one JSON object") from None
    if not isinstance(document, dict):
        raise errors.MalformedFrame(
            f"a frame is a JSON object with a 'type' field, not a {type(document).__name__}"
        )
    return _validate_types(document)


def _validate_types(document: dict[str, Any]) -> dict[str, Any]:
    # Checked here rather than left to pydantic so the message names the field precisely.
    kind = document.get("type")
    if "type" not in document:
        raise errors.MissingField("every frame needs a 'type'", path="type")
    if not isinstance(kind, str):
        raise errors.InvalidField("must be a string", path="type")
    return document


def _frame_error(exc: ValidationError) -> errors.FrameError:
    first = exc.errors(include_url=False)[0]
    # The first location item is the union tag (e.g. "offer"); the rest is the field path.
    loc = [str(part) for part in first["loc"]]
    if first["type"] in ("union_tag_invalid", "union_tag_not_found"):
        path = "type"
    else:
        path = ".".join(loc[1:]) if len(loc) > 1 else ".".join(loc)
    cls = _ERROR_TYPES.get(first["type"], errors.InvalidField)
    message = first["msg"]
    if cls is errors.UnknownFrameType:
        message = f"unknown frame type; expected one of {first.get('ctx', {}).get('expected_tags')}"
    return cls(message, path=path)
