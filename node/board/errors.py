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
    "AlreadyAsked",
    "AlreadyClaimed",
    "AlreadyHolder",
    "DependenciesNotCompleted",
    "ForkedLog",
    "FormatError",
    "InvalidPattern",
    "LeaseNotExpired",
    "NotAsked",
    "NotHeld",
    "NotOwner",
    "NotQueueHead",
    "NotQueued",
    "NotReserved",
    "ReservationConflict",
    "StaleEpoch",
    "StatusFileError",
    "TaskBoardError",
    "TaskCompleted",
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


class NotQueueHead(ClaimConflict):
    """The task has a claim queue and it is another waiter's turn (docs/claims.md)."""

    code = "not_queue_head"

    def __init__(self, task_id: str, turn: str) -> None:
        self.task_id = task_id
        self.turn = turn
        super().__init__(
            f"{task_id} has a claim queue and it is {turn}'s turn: join the queue with"
            f" `ifmesh claim {task_id} --queue`, or take it anyway with --force"
        )


class AlreadyHolder(CoordinationError):
    """Queueing for, or asking the release of, a task this session holds itself."""

    code = "already_holder"

    def __init__(self, task_id: str) -> None:
        super().__init__(
            f"you hold {task_id} yourself: there is nothing to wait for; work on it, or"
            f" give it back with `ifmesh release {task_id}`"
        )


class TaskCompleted(CoordinationError):
    code = "task_completed"

    def __init__(self, task_id: str, by: str | None) -> None:
        super().__init__(
            f"{task_id} is COMPLETED (by {by or 'someone'}): there is nothing to wait for;"
            " pick another task with `ifmesh next`"
        )


class NotQueued(CoordinationError):
    code = "not_queued"

    def __init__(self, task_id: str) -> None:
        super().__init__(
            f"you are not in {task_id}'s claim queue (`ifmesh board` shows who is);"
            f" join it with `ifmesh claim {task_id} --queue`"
        )


class NotHeld(CoordinationError):
    code = "not_held"

    def __init__(self, task_id: str) -> None:
        super().__init__(f"nobody holds {task_id}: claim it with `ifmesh claim {task_id}`")


class AlreadyAsked(CoordinationError):
    code = "already_asked"

    def __init__(self, task_id: str, asker: str, holder: str, until: str) -> None:
        super().__init__(
            f"{asker} already asked {holder} to release {task_id} (its grace ends {until});"
            f" queue for it with `ifmesh claim {task_id} --queue` and"
            f" `ifmesh wait {task_id} --until mine`"
        )


class NotAsked(CoordinationError):
    code = "not_asked"

    def __init__(self, task_id: str) -> None:
        super().__init__(
            f"nobody asked you to release {task_id}: there is nothing to answer"
            " (an open ask shows in `ifmesh status`)"
        )


class InvalidPattern(CoordinationError):
    """A reservation pattern that cannot be matched as the issue says: refused, never skipped
    (a check that skipped it would let an edit through: the guard fails closed)."""

    code = "invalid_pattern"

    def __init__(self, pattern: str, why: str) -> None:
        self.pattern = pattern
        super().__init__(
            f"{pattern!r} is not a reservation pattern: {why}. Write gitignore-style globs"
            " from the repository's root, such as `src/db/**`, `docs/*.md` or `README.md`"
        )


class ReservationConflict(CoordinationError):
    """Another session's reservation in force overlaps one asked for (exclusive on either
    side); ``conflicts`` names each: (path, holder, task, pattern)."""

    code = "reservation_conflict"

    def __init__(
        self, conflicts: list[tuple[str, str, str, str]], *, decided_by: str = "", why: str = ""
    ) -> None:
        self.conflicts = conflicts
        self.decided_by = decided_by  # a decided reservation lost: "mesh" or "git"
        named = "; ".join(
            f"{path} is reserved by {holder} for {task} ({pattern})"
            for path, holder, task, pattern in conflicts[:5]
        )
        more = f" (and {len(conflicts) - 5} more)" if len(conflicts) > 5 else ""
        by = f" (decided by {decided_by})" if decided_by else ""
        super().__init__(
            f"{named or why}{more}{by}: reserve something else, reserve it --shared if you only"
            " read it, or ask the holder to release its task (`ifmesh ask-release TASK"
            " --reason …`)"
        )


class NotReserved(CoordinationError):
    code = "not_reserved"

    def __init__(self, what: str) -> None:
        super().__init__(f"you hold no reservation {what} (`ifmesh board` lists them)")


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
