"""`ifmesh node`: start this session's node and keep it running until SIGTERM or Ctrl-C.

Settings come from flags, ``IFMESH_*`` environment variables and ``--config FILE`` (YAML), in
that order of precedence (node.config). SIGTERM drains the mesh, pushes a final STATUS and
exits 0; a fatal condition (the same session running twice) exits 1 naming both.
"""

from __future__ import annotations

import argparse
import asyncio
import faulthandler
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING, TypeAlias

if TYPE_CHECKING:
    from ifmesh.node.runtime.config import NodeConfig

from ifmesh.node import errors
from ifmesh.node.cli.signals import stop_signals

Subparsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


def _list(text: str) -> list[str]:
    return [item.strip() for item in text.split(",") if item.strip()]


def add_node_command(commands: Subparsers) -> None:
    parser = commands.add_parser(
        "node",
        help="start this session's node (mesh + board + governor + git sync + control API)",
        description="Start this session's node. Flags override IFMESH_* environment variables,"
        " which override --config FILE.",
    )
    parser.add_argument("--config", type=Path, help="YAML file of settings")
    parser.add_argument("--session", help="session id, e.g. session-2-webrtc")
    parser.add_argument("--room", help="mesh room (default phase-0)")
    parser.add_argument("--signaling", help="signaling URL (default ws://127.0.0.1:8765/ws)")
    parser.add_argument("--signaling-token", help="join token (`ifmesh token`)")
    parser.add_argument("--remote", help="git remote URL of the coordination repository")
    parser.add_argument("--branch", help="coordination branch (default ifmesh/coordination)")
    parser.add_argument(
        "--create-branch",
        action="store_true",
        default=None,
        help="create the branch with a starter board if it does not exist",
    )
    parser.add_argument("--status-branches", help="glob of branches of sessions without a node")
    parser.add_argument("--capabilities", type=_list, help="comma-separated category:name list")
    parser.add_argument("--cost-per-hour", type=float)
    parser.add_argument("--budget", type=float)
    parser.add_argument("--model")
    parser.add_argument("--policy", type=Path, help="policy YAML (default: the room's)")
    parser.add_argument("--state-dir", type=Path)
    parser.add_argument("--control-port", type=int, help="TCP port on 127.0.0.1 (default: any)")
    parser.add_argument("--control-socket", type=Path, help="listen on a unix socket instead")
    parser.add_argument("--ice-servers", type=_list, help="STUN/TURN URLs (default: none)")
    parser.add_argument("--host-addresses", type=_list, help="ICE host addresses (127.0.0.1)")
    parser.add_argument("--lease-seconds", type=float)
    parser.add_argument("--contest-window-ms", type=float)
    parser.add_argument("--batch-window-ms", type=float)
    parser.add_argument("--status-refresh-seconds", type=float)
    parser.add_argument("--fetch-interval-seconds", type=float)
    parser.add_argument(
        "--signing",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="sign every event and verify peers' (default on; docs/security.md)",
    )
    parser.add_argument(
        "--accept-unsigned",
        action="store_true",
        default=None,
        help="migration: fold unsigned events of sessions with no pinned key",
    )
    parser.add_argument(
        "--operator-keys", type=_list, help="operator public keys that may override a key pin"
    )
    parser.add_argument("--log-level", default="info")
    parser.set_defaults(handler=run_node)


GIL_SWITCH_SECONDS = 0.0005


def run_node(args: argparse.Namespace) -> int:
    from ifmesh.node.runtime.heap import keep_big_buffers_off_heap, leave_out_media

    leave_out_media()  # before aiortc is imported: 16 MB of ffmpeg a data channel never uses
    keep_big_buffers_off_heap()  # the scribe's renders and board queries: no heap holes

    from ifmesh.node.runtime.config import NodeConfig, load
    from ifmesh.node.runtime.logs import configure

    configure(args.log_level)
    flags = {
        key: value
        for key, value in vars(args).items()
        if key in NodeConfig.model_fields and value is not None
    }
    # The git bridge works in a thread (GitPython writes objects in Python). A thread holding
    # the GIL keeps it for the switch interval (5 ms by default) before the event loop may
    # run: every mesh message and control call would wait behind a commit. 0.5 ms bounds that.
    sys.setswitchinterval(GIL_SWITCH_SECONDS)
    # `kill -USR2 PID` prints every thread's stack, even while the event loop is blocked
    # (SIGUSR1, below, prints the asyncio tasks' stacks, and needs the loop to turn).
    faulthandler.register(signal.SIGUSR2, file=sys.stderr, all_threads=True)
    try:
        config = load(flags, config_file=args.config)
        return asyncio.run(_serve(config))
    except errors.IfmeshError as exc:
        print(f"ifmesh node: {exc.code}: {exc}", file=sys.stderr)
        return 1


STALL_SECONDS = 10.0
# SIGTERM to exit: within 5 s, every time (issue 22). The node's own stop fits in 3.5 s
# (node.runtime.stopping.STOP_SECONDS); this is the backstop, measured by benchmarks/exit_stress.py.
EXIT_SECONDS = 4.5


def _stall_told(seconds: float, stacks: str) -> None:
    print(f"ifmesh node: the event loop has not turned for {seconds:.1f} s; where every thread"
          f" is:\n{stacks}", file=sys.stderr, flush=True)  # fmt: skip


def _stall_ended(seconds: float) -> None:
    print(f"ifmesh node: the event loop turned again after {seconds:.1f} s", file=sys.stderr,
          flush=True)  # fmt: skip


async def _stall_watch() -> None:
    """While the node runs, a stall of the event loop longer than STALL_SECONDS puts every
    thread's stack in the node's log (node.runtime.stallwatch)."""
    from ifmesh.node.runtime.stallwatch import StallWatch

    watch = StallWatch(STALL_SECONDS, _stall_told, _stall_ended)
    watch.start()
    try:
        while True:
            watch.turned()
            await asyncio.sleep(STALL_SECONDS / 4)
    finally:
        watch.stop()


async def _exit_deadline(stop: asyncio.Event, watchdog: asyncio.Task[None]) -> None:
    """Once the node stops, the process is gone within EXIT_SECONDS whatever blocks it (a git
    command that does not return, a thread the interpreter waits for at exit, a task that
    ignores cancellation): faulthandler prints every thread's stack, then ends the process at
    once with status 1, as a kill -9 would. That loses nothing a kill -9 keeps: commits not
    pushed stay in the state directory for the next start."""
    await stop.wait()
    watchdog.cancel()
    # faulthandler, not a Python thread: it still runs once the interpreter is finalizing. Its
    # walk of running frames may crash (node.runtime.stallwatch), but only in a process that
    # is ending at once anyway.
    faulthandler.dump_traceback_later(EXIT_SECONDS, repeat=False, file=sys.stderr, exit=True)


def _dump_tasks() -> None:
    for task in asyncio.all_tasks():
        print(f"--- {task.get_name()}", file=sys.stderr)
        task.print_stack(file=sys.stderr)


async def _serve(config: NodeConfig) -> int:
    from ifmesh.node.runtime.node import Node

    node = Node(config)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in stop_signals(signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    # `kill -USR1 PID` prints every task's stack: where a stuck node waits, for operators.
    loop.add_signal_handler(signal.SIGUSR1, _dump_tasks)
    watchdog = asyncio.create_task(_stall_watch())
    # Armed until the process ends: asyncio.run's own end (cancelled tasks, worker threads
    # joined) and the interpreter's come after this function returns.
    deadline = asyncio.create_task(_exit_deadline(stop, watchdog))
    try:
        await node.run(stop)
    finally:
        watchdog.cancel()
        if not stop.is_set():  # node.run ended by an error: no stop, no deadline
            deadline.cancel()
            faulthandler.cancel_dump_traceback_later()
    if node.fatal:
        print(f"ifmesh node: stopped: {node.fatal}", file=sys.stderr)
        return 1
    return 0
