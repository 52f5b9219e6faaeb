"""The node's error hierarchy: every failure a user or a peer can cause has a class here.

Each error carries a stable machine-readable ``code`` (used in fixtures' manifests, the CLI's
``--json`` output and the control API) and a message a person can act on. Input from outside
(a peer's frame, a file, a request) is turned into one of these at the boundary; it never
kills the node.
"""

from __future__ import annotations

from typing import ClassVar


class IfmeshError(Exception):
    """Root of every error ifmesh raises on purpose."""

    code: ClassVar[str] = "ifmesh_error"


# --- protocol: IFMessages that cannot be accepted -------------------------------------------


class ProtocolError(IfmeshError):
    """An IFMessage (or a frame carrying one) that cannot be accepted.

    ``path`` names the offending field with dots (``payload.percent``); empty when the
    message as a whole is at fault (not JSON, too large).
    """

    code: ClassVar[str] = "protocol_error"

    def __init__(self, reason: str, *, path: str = "") -> None:
        self.reason = reason
        self.path = path
        where = f"{path}: " if path else ""
        super().__init__(f"{where}{reason}")


class MalformedJSON(ProtocolError):
    code = "malformed_json"


class MessageTooLarge(ProtocolError):
    code = "too_large"


class UnknownMessageType(ProtocolError):
    code = "unknown_type"


class MissingField(ProtocolError):
    code = "missing_field"


class UnknownField(ProtocolError):
    code = "unknown_field"


class InvalidField(ProtocolError):
    """A field of the wrong type or out of its range."""

    code = "invalid_field"


class NaiveTimestamp(ProtocolError):
    code = "naive_timestamp"


class InvalidMilestone(ProtocolError):
    code = "invalid_milestone"


class EmptyCapability(ProtocolError):
    code = "empty_capability"


class InvalidCapability(ProtocolError):
    code = "invalid_capability"


class SenderMismatch(ProtocolError):
    """The v2.1 ``sender`` URI names another session than ``source``."""

    code = "sender_mismatch"


class MessageExpired(ProtocolError):
    """A live message older than its ``ttl``; only the mesh's live delivery checks this."""

    code = "expired"


# --- coordination: refusals of the board and the governor -----------------------------------


class CoordinationError(IfmeshError):
    """A command the board or the governor refuses; nothing was sent."""

    code = "refused"


class ClaimConflict(CoordinationError):
    code = "claim_conflict"


class ClaimLost(ClaimConflict):
    """Another session won the (task, epoch) this session claimed: do not start the work."""

    code = "claim_lost"

    def __init__(
        self, task_id: str, epoch: int, winner: str | None, *, decided_by: str = ""
    ) -> None:
        self.task_id, self.epoch, self.winner = task_id, epoch, winner
        by = f" (decided by {decided_by})" if decided_by else ""
        super().__init__(
            f"{task_id} epoch {epoch} went to {winner or 'another session'}{by}; pick another task"
            " (`ifmesh next`), or wait for it (`ifmesh wait " + task_id + " --until completed`)"
        )


class ClaimUndecided(CoordinationError):
    """No decision in time: the claim was withdrawn, so it cannot win behind the agent's back."""

    code = "claim_undecided"


class ReservationUndecided(CoordinationError):
    """No decision on a path reservation in time: it was withdrawn (docs/agents.md)."""

    code = "reservation_undecided"


class StaleEpoch(CoordinationError):
    code = "stale_epoch"


class PolicyDenied(CoordinationError):
    code = "policy_denied"


class BudgetExhausted(PolicyDenied):
    code = "budget_exhausted"


class CircuitOpen(PolicyDenied):
    code = "circuit_open"

    def __init__(self, message: str, *, retry_after: float) -> None:
        self.retry_after = retry_after
        super().__init__(message)


class InvalidPolicy(IfmeshError):
    code = "invalid_policy"


# --- the edges: transport, git, configuration -----------------------------------------------


class TransportError(IfmeshError):
    code = "transport_error"


class GitSyncError(IfmeshError):
    code = "gitsync_error"


class ConfigError(IfmeshError):
    code = "config_error"


# --- the control API between the CLI and a running node --------------------------------------


class ControlError(IfmeshError):
    code = "control_error"


class NodeNotRunning(ControlError):
    code = "node_not_running"


class AmbiguousNode(ControlError):
    code = "ambiguous_node"


class Unauthorized(ControlError):
    code = "unauthorized"


class RemoteError(ControlError):
    """An error the node reported; ``code`` is the node's own error code."""

    def __init__(self, code: str, message: str, *, status: int) -> None:
        self.remote_code = code
        self.status = status
        super().__init__(message)

    @property
    def code(self) -> str:  # type: ignore[override]
        return self.remote_code


class SdpError(IfmeshError):
    """An SDP that cannot be negotiated; ``line`` is 1-based where one line is at fault."""

    code = "sdp_error"

    def __init__(self, message: str, *, line: int | None = None) -> None:
        self.line = line
        super().__init__(f"line {line}: {message}" if line is not None else message)
