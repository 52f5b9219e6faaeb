"""Typed errors of the git-sync bridge; each message says what to do about it.

All subclass :class:`ifmesh.node.errors.GitSyncError`. Errors about other sessions' files or the
remote are reported (``SyncState.last_error`` and the bridge's outputs) and the bridge keeps
going; only :class:`IncarnationConflict` and :class:`StateDirLocked` stop it, because going on
would give one session two writers.
"""

from __future__ import annotations

from ifmesh.node.errors import GitSyncError

__all__ = [
    "BoardUnparseable",
    "BranchMissing",
    "CorruptStatus",
    "GitCommandFailed",
    "GitSyncError",
    "HistoryRewritten",
    "IncarnationConflict",
    "MalformedLogLine",
    "PushRejected",
    "RemoteUnreachable",
    "StateDirLocked",
]


class RemoteUnreachable(GitSyncError):
    """The remote cannot be reached: ``cause`` is git's own line saying why. A running bridge
    keeps its events committed locally and pushes them when the remote is back; one starting
    with nothing of its own to resume from cannot start, and :meth:`at_start` says so."""

    code = "remote_unreachable"

    def __init__(self, remote: str, operation: str, cause: str, *, starting: bool = False) -> None:
        self.remote = remote
        self.operation = operation
        self.cause = cause
        self.starting = starting
        then = _cannot_start(remote) if starting else _WHILE_RUNNING
        super().__init__(f"cannot {operation} {remote}: {cause}; {then}")

    def at_start(self) -> RemoteUnreachable:
        return RemoteUnreachable(self.remote, self.operation, self.cause, starting=True)


_WHILE_RUNNING = (
    "events stay committed locally and are pushed when the remote is back (check the URL, "
    "network and credentials)"
)


def _cannot_start(remote: str) -> str:
    local = _local_path(remote)
    check = (
        "check the URL (--remote): a local path must be a git repository (`git init --bare "
        f"{local}`, then start one node with --create-branch)"
        if local is not None
        else "check the URL (--remote), the network and your git credentials for it"
    )
    return f"the node stops: it has no board to start from; {check}"


def _local_path(remote: str) -> str | None:
    """The path ``remote`` names on this machine, as git reads a remote (``file://`` URL or a
    path, not ``scheme://`` nor scp-like ``host:path``); None for another machine's."""
    if remote.startswith("file://"):
        return remote.removeprefix("file://")
    if "://" in remote:
        return None
    head, colon, _ = remote.partition(":")
    return None if colon and "/" not in head else remote


class PushRejected(GitSyncError):
    """The remote refused a push that was not a plain lost race (a hook, permissions)."""

    code = "push_rejected"


class BranchMissing(GitSyncError):
    code = "branch_missing"


class CorruptStatus(GitSyncError):
    """Another session's STATUS file cannot be read; it is skipped until it is fixed."""

    code = "corrupt_status"

    def __init__(self, message: str, *, path: str, line: int | None = None) -> None:
        self.path = path
        self.line = line
        where = f"{path}:{line}" if line is not None else path
        super().__init__(f"{where}: {message}")


class MalformedLogLine(GitSyncError):
    """A line of an event log that is not a valid IFMessage; the line is skipped."""

    code = "malformed_log_line"

    def __init__(self, message: str, *, path: str, line: int) -> None:
        self.path = path
        self.line = line
        super().__init__(f"{path}:{line}: {message}")


class BoardUnparseable(GitSyncError):
    code = "board_unparseable"


class HistoryRewritten(GitSyncError):
    """The coordination branch was force-pushed; the bridge re-read it and re-appended its own
    events. Reported so a person knows it happened; nothing needs doing."""

    code = "history_rewritten"


class IncarnationConflict(GitSyncError):
    """Another process appends to this session's log: two hosts run one session id."""

    code = "incarnation_conflict"

    def __init__(self, session: str, ours: str, theirs: str) -> None:
        self.session = session
        self.ours = ours
        self.theirs = theirs
        super().__init__(
            f"session {session!r} is being written by two processes: this one (incarnation "
            f"{ours}) and another (incarnation {theirs}) appended to its log in git. Stop one "
            "of them, or give one a different --session."
        )


class StateDirLocked(GitSyncError):
    code = "state_dir_locked"


class GitCommandFailed(GitSyncError):
    code = "git_failed"
