"""A node's state directory: where it lives, and the lock that makes one process per session.

Default: ``$XDG_STATE_HOME/ifmesh/<session>``, else ``~/.local/state/ifmesh/<session>``. The lock
is an ``flock`` on ``node.lock`` held for the life of the process, so the kernel releases it
when the process dies however it dies (``kill -9`` included): no stale lock files to clean up.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from types import TracebackType

from ifmesh.node.errors import ConfigError, IfmeshError

LOCK_FILE = "node.lock"
SEQ_FILE = "seq"
# A setting's environment variable is ENV_PREFIX + its name upper-cased (node.runtime.config).
# Defined here, beside the state directory the client commands look for, so that finding a node
# (IFMESH_SESSION, IFMESH_STATE_DIR) does not import the node's configuration and pydantic.
ENV_PREFIX = "IFMESH_"


class StateDirLocked(ConfigError):
    code = "state_dir_locked"


def state_root() -> Path:
    """The directory holding every session's state directory on this host."""
    xdg = os.environ.get("XDG_STATE_HOME")
    base = Path(xdg) if xdg else Path.home() / ".local" / "state"
    return base / "ifmesh"


def default_state_dir(session: str) -> Path:
    return state_root() / session


class StateDirLock:
    """Exclusive lock on a state directory; ``with StateDirLock(path):`` or acquire/release.

    ``name`` is the lock file: the node holds ``node.lock``; the git bridge, which also runs on
    its own (tests, benchmarks), holds ``gitsync.lock`` and raises its own ``error`` class."""

    def __init__(
        self,
        directory: Path,
        *,
        name: str = LOCK_FILE,
        error: type[IfmeshError] = StateDirLocked,
    ) -> None:
        self.directory = directory
        self.name = name
        self.error = error
        self._fd: int | None = None

    def acquire(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        path = self.directory / self.name
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "another process"
            os.close(fd)
            raise self.error(
                f"state directory {self.directory} is in use by pid {holder}: one node per "
                "session per host. Stop that node first, or pass another --state-dir."
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> StateDirLock:
        self.acquire()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.release()


def is_locked(directory: Path) -> bool:
    """Whether a live process holds ``directory``'s lock (a running node)."""
    path = directory / LOCK_FILE
    if not path.exists():
        return False
    fd = os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    finally:
        os.close(fd)


class SeqReservation:
    """Records the highest ``seq`` (and Lamport time) this session has sent, before it leaves
    the process. The git bridge commits in batches: a node killed inside a batch window would
    otherwise restart below a seq its peers already hold, and reuse it.

    This is on every command's path, so it is one ``pwrite`` of a fixed-width record into a
    file kept open (about 10 µs), not a write-and-rename (milliseconds on overlay filesystems).
    A write this small is never torn by ``kill -9``: the kernel finishes the syscall. It does
    not survive a power loss before writeback; git's log is the record for that."""

    WIDTH = 20

    def __init__(self, directory: Path) -> None:
        self.at_open = reserved_seq_of(directory)  # (seq, lamport) an earlier process left
        self._fd = os.open(directory / SEQ_FILE, os.O_RDWR | os.O_CREAT, 0o600)
        self.record(*self.at_open)
        os.ftruncate(self._fd, 2 * self.WIDTH + 2)  # drop what an older format left behind

    def record(self, seq: int, lamport: int) -> None:
        os.pwrite(self._fd, f"{seq:>{self.WIDTH}} {lamport:>{self.WIDTH}}\n".encode(), 0)

    def close(self) -> None:
        os.close(self._fd)


def reserved_seq_of(directory: Path) -> tuple[int, int]:
    """What :func:`reserve_seq` last recorded; (0, 0) when nothing was."""
    try:
        seq, lamport = (directory / SEQ_FILE).read_text(encoding="utf-8").split()
        return int(seq), int(lamport)
    except (OSError, ValueError):
        return 0, 0
