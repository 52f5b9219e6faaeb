"""One process per state directory: the bridge's lock on it (a second node for the same
session on one host is refused at once, before it writes anything)."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import IO

from node.gitsync.errors import StateDirLocked


class StateDirLock:
    def __init__(self, handle: IO[str]) -> None:
        self._handle = handle

    @classmethod
    def acquire(cls, state_dir: Path) -> StateDirLock:
        state_dir.mkdir(parents=True, exist_ok=True)
        handle = (state_dir / "gitsync.lock").open("a+")
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            handle.close()
            raise StateDirLocked(
                f"state directory {state_dir} is in use by another process (pid {holder}); "
                "stop that node, or give this one another --state-dir"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        return cls(handle)

    def release(self) -> None:
        fcntl.flock(self._handle.fileno(), fcntl.LOCK_UN)
        self._handle.close()
