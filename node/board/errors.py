"""The board's typed refusals and format errors, each a subclass of a :mod:`ifmesh.node.errors`
class.

A command refused by the board raises one of these before anything is sent; the reducer never
raises for a peer's event (an invalid event is a no-op everywhere, reported as an effect). The
format errors name the file and the 1-based line at fault so a person can fix it.
"""

from __future__ import annotations

from ifmesh.node.errors import (
    ClaimConflict,
    ConfigError,
    CoordinationError,
    IfmeshError,
    StaleEpoch,
)

__all__ = [
    "AlreadyClaimed",
    "DependenciesNotCompleted",
    "ForkedLog",
    "FormatError",
    "LeaseNotExpired",
    "NotOwner",
    "StaleEpoch",
    "StatusFileError",
    "TaskBoardError",
    "TaskOverlayError",
    "UnknownTask",
]


class UnknownTask(CoordinationError):
    code = "unknown_task"


class DependenciesNotCompleted(CoordinationError):
    code = "dependencies_not_completed"

    def __init__(self, task_id: str, missing: tuple[str, ...]) -> None:
        self.task_id = task_id
        self.missing = missing
        super().__init__(
            f"{task_id} depends on {', '.join(missing)}, not COMPLETED yet"
            " (wait with `ifmesh wait`, pick a filler task, or claim with --force)"
        )


class AlreadyClaimed(ClaimConflict):
    code = "already_claimed"

    def __init__(self, task_id: str, owner: str, status: str) -> None:
        self.task_id = task_id
        self.owner = owner
        super().__init__(f"{task_id} is {status} by {owner}")


class NotOwner(CoordinationError):
    code = "not_owner"


class LeaseNotExpired(CoordinationError):
    code = "lease_not_expired"


class ForkedLog(IfmeshError):
    """Two different events claim the same (source, seq): two processes write one session's
    log (a second host with the same session id). The node that notices stops."""

    code = "forked_log"


class FormatError(ConfigError):
    """A seed file that does not parse. ``path`` and the 1-based ``line`` locate the fault."""

    code = "format_error"

    def __init__(self, reason: str, *, path: str, line: int | None = None) -> None:
        self.reason = reason
        self.path = path
        self.line = line
        where = f"{path}:{line}" if line is not None else path
        super().__init__(f"{where}: {reason}")


class TaskBoardError(FormatError):
    code = "task_board_error"


class StatusFileError(FormatError):
    code = "status_file_error"


class TaskOverlayError(FormatError):
    code = "task_overlay_error"
