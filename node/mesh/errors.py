"""Errors the mesh raises: bad frames from peers, and transport failures a caller can act on.

A bad frame from a peer is a :class:`~node.errors.ProtocolError` (counted, logged, dropped;
the connection stays up). Failures of the caller's own request (no such peer, no reply in
time, the mesh is closed, the signaling server refused us) are
:class:`~node.errors.TransportError` subclasses.
"""

from __future__ import annotations

from ifmesh.node.errors import ConfigError, ProtocolError, SdpError, TransportError

__all__ = [
    "AnswerRefused",
    "ConfigError",
    "MalformedFrame",
    "MeshClosed",
    "OperatorNotAllowed",
    "PeerUnavailable",
    "ReadOnlyRole",
    "ReplyTimeout",
    "RoleRefused",
    "SdpError",
    "SignalingRefused",
]


class MalformedFrame(ProtocolError):
    """A data-channel frame that is not one of the mesh's frame kinds, or breaks their rules."""

    code = "malformed_frame"


class RoleRefused(ProtocolError):
    """A message its sender's role (stamped on the signaling roster) does not allow: dropped
    before the board sees it (node.mesh.roles; docs/dashboard.md, "Roles")."""

    code = "role_refused"


class ReadOnlyRole(RoleRefused):
    """An observer sent an event: observers change nothing."""

    code = "observer_read_only"


class OperatorNotAllowed(RoleRefused):
    """An operator sent an event other than a help offer or an ask-release answer."""

    code = "operator_not_allowed"


class AnswerRefused(RoleRefused):
    """The holder's node will not give an operator's answer: the task is not asked to be
    released, or the answer names another epoch."""

    code = "answer_refused"


class PeerUnavailable(TransportError):
    """The named peer is not in the room, or has no open channel right now."""

    code = "peer_unavailable"


class ReplyTimeout(TransportError):
    """A request got no reply (or a broadcast no acknowledgement) within its timeout."""

    code = "reply_timeout"


class MeshClosed(TransportError):
    """The mesh was closed; nothing more can be sent or received through it."""

    code = "mesh_closed"


class SignalingRefused(TransportError):
    """The signaling server answered our join with an error that retrying will not fix."""

    code = "signaling_refused"

    def __init__(self, message: str, *, server_code: str) -> None:
        self.server_code = server_code
        super().__init__(message)
