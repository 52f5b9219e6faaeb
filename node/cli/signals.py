"""How a long-running command (`ifmesh node`, `ifmesh up`, a room's processes) is stopped.

SIGTERM is a supervisor's stop or a plain `kill`; SIGHUP is the terminal the command runs in
closing. Both stop it as Ctrl-C does (a node says goodbye and pushes; `up` stops its room),
where SIGHUP's default would end the process at once. Unless SIGHUP is ignored: `nohup ifmesh
node &` asked to outlive its terminal, and a handler would undo that.
"""

from __future__ import annotations

import os
import signal
import sys


def stop_signals(*always: signal.Signals) -> tuple[signal.Signals, ...]:
    """``always``, and SIGHUP unless this process was started with it ignored."""
    if signal.getsignal(signal.SIGHUP) is signal.SIG_IGN:
        return always
    return (*always, signal.SIGHUP)


STOP_WITH_PARENT = "IFMESH_STOP_WITH_PARENT"  # the pid whose end stops this process
_PR_SET_PDEATHSIG = 1


def stop_with_parent() -> None:
    """When :data:`STOP_WITH_PARENT` names this process's parent, the kernel sends SIGTERM
    here once that parent ends, however it ends (``kill -9`` too). A local room
    (node/cli/room.py) sets it for the nodes and signaling server it starts, so they never
    outlive `ifmesh up` as orphans. Linux only (``prctl``); elsewhere it does nothing."""
    wanted = os.environ.pop(STOP_WITH_PARENT, None)  # not for what this process starts
    if wanted is None or not sys.platform.startswith("linux"):
        return
    import ctypes  # only here: every ifmesh command calls this at its start

    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    if str(os.getppid()) != wanted:  # it ended before the line above took effect
        os.kill(os.getpid(), signal.SIGTERM)
