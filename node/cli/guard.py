"""`ifmesh agent-hook EVENT`, `ifmesh check-paths PATH…` and `ifmesh git-hook install`: what an
agent client's hooks and git run (docs/agents.md).

This module only registers the commands: it imports ``argparse`` and nothing else, so
`ifmesh agent-hook PreToolUse`, which runs before every edit, pays for no more than it uses
(:mod:`ifmesh.node.cli.pretooluse`). The other events and commands import what they need when
they run.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TypeAlias

Subparsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"
EVENTS = ("SessionStart", "PreToolUse", "Stop", "SessionEnd")


def _client_options(parser: argparse.ArgumentParser, *, json_flag: bool = True) -> None:
    parser.add_argument("--session", help="which node (default: IFMESH_SESSION, else the only one)")
    parser.add_argument(
        "--state-dir", type=Path, help="the node's state directory (default: IFMESH_STATE_DIR)"
    )
    if json_flag:
        parser.add_argument("--json", action="store_true", help="print one JSON object")


def register(commands: Subparsers) -> None:
    hook = commands.add_parser(
        "agent-hook",
        help="run an agent client's hook (Claude Code's JSON on stdin): SessionStart,"
        " PreToolUse, Stop, SessionEnd",
        description="Claude Code hooks. SessionStart attaches to (or starts) this session's"
        " node and prints the board for the model; PreToolUse exits 2 for an edit under"
        " another session's exclusive reservation; Stop says what the session holds;"
        " SessionEnd releases or keeps its tasks as the room's policy says, and stops the"
        " node SessionStart started. See docs/agents.md.",
    )
    hook.add_argument("event", choices=EVENTS)
    _client_options(hook, json_flag=False)
    hook.add_argument("--config", help="the node's YAML settings, for a node SessionStart starts")
    hook.add_argument(
        "--no-start", action="store_true", help="SessionStart: attach only, never start a node"
    )
    hook.add_argument(
        "--start-timeout", type=float, default=60.0, help="SessionStart: seconds for a new node"
    )
    hook.set_defaults(handler=run_agent_hook)

    check = commands.add_parser(
        "check-paths",
        help="exit 1 if another session reserved any of these paths exclusively",
        description="Check paths against the reservations of other sessions: exit 0 when"
        " none covers them, exit 1 naming each conflicting holder, task and pattern. A"
        " directory stands for every path git tracks under it.",
    )
    check.add_argument("paths", nargs="*", metavar="PATH")
    check.add_argument("--staged", action="store_true", help="also the paths staged for commit")
    check.add_argument(
        "--hook",
        action="store_true",
        help="as the pre-commit guard: when no check can be made, warn and exit 0 unless the"
        " guard is closed; IFMESH_GUARD=off skips it",
    )
    _client_options(check)
    check.set_defaults(handler=_run_check_paths)

    git_hook = commands.add_parser("git-hook", help="install the path guard as a git hook")
    actions = git_hook.add_subparsers(dest="action", required=True, metavar="ACTION")
    install = actions.add_parser(
        "install",
        help="write .git/hooks/pre-commit: `ifmesh check-paths --staged --hook`",
        description="Install a pre-commit hook in the working tree of the current directory"
        " that refuses a commit touching paths another session reserved exclusively."
        " Override once with IFMESH_GUARD=off git commit … or git commit --no-verify.",
    )
    install.add_argument("--force", action="store_true", help="replace another pre-commit hook")
    install.add_argument("--json", action="store_true", help="print one JSON object")
    install.set_defaults(handler=_run_git_hook)


def run_agent_hook(args: argparse.Namespace) -> int:
    """The hooks; `ifmesh agent-hook PreToolUse` alone is run by
    :func:`ifmesh.node.cli.main.main` before any parser is built (before every edit)."""
    environ = dict(os.environ)
    if args.session:
        environ["IFMESH_SESSION"] = args.session
    if args.state_dir:
        environ["IFMESH_STATE_DIR"] = str(args.state_dir)
    if args.event == "PreToolUse":
        from ifmesh.node.cli.pretooluse import run_hook

        return run_hook(environ)
    stdin = _optional_stdin()
    import json

    from ifmesh.node.cli import agentsession

    try:
        hook = json.loads(stdin) if stdin.strip() else {}
    except ValueError as exc:
        print(f"ifmesh: warning: the hook input is not JSON ({exc}); going on", file=sys.stderr)
        hook = {}
    run = {
        "SessionStart": agentsession.session_start,
        "Stop": agentsession.stop,
        "SessionEnd": agentsession.session_end,
    }[args.event]
    return run(hook if isinstance(hook, dict) else {}, args, environ, sys.stdout)


def _optional_stdin(wait: float = 1.0) -> bytes:
    """The hook's JSON when a client sends it; nothing when the command is run by hand (a
    terminal, or a standard input nobody writes to: never wait on it for good)."""
    import select

    stream = sys.stdin
    if stream is None or stream.isatty():
        return b""
    try:
        ready, _, _ = select.select([stream], [], [], wait)
    except (OSError, ValueError):
        return b""
    return stream.buffer.read() if ready else b""


def _run_check_paths(args: argparse.Namespace) -> int:
    from ifmesh.node.cli.checkpaths import run_check_paths

    return run_check_paths(args)


def _run_git_hook(args: argparse.Namespace) -> int:
    from ifmesh.node.cli.checkpaths import run_git_hook

    return run_git_hook(args)
