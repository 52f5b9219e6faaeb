"""`ifmesh mcp`: serve this session's node to an MCP client (a coding agent) over stdio.

``ifmesh mcp [--session S] [--state-dir D]`` attaches to the session's running node, found as
every client command finds it. ``--start`` also starts the node when none runs, with the
flags ``ifmesh node`` takes (all of them are accepted here and passed on), and stops that node
when the MCP server ends. Stdout is the MCP wire: logs go to stderr, the node's to its
``node.log``. The server itself lives in :mod:`ifmesh.node.agents.mcp_server`.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING, TypeAlias

if TYPE_CHECKING:
    from ifmesh.node.agents.node_link import NodeLink
    from ifmesh.node.agents.node_start import NodePlan
    from ifmesh.node.errors import ConfigError

Subparsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


def _node_parser() -> argparse.ArgumentParser:
    """`ifmesh node`'s own parser, so that `ifmesh mcp` takes exactly its flags."""
    from ifmesh.node.cli.node import add_node_command

    holder = argparse.ArgumentParser(add_help=False)
    add_node_command(holder.add_subparsers())
    commands = next(a for a in holder._actions if isinstance(a, argparse._SubParsersAction))
    parser: argparse.ArgumentParser = commands.choices["node"]
    return parser


def register(commands: Subparsers) -> None:
    node = _node_parser()
    parser = commands.add_parser(
        "mcp",
        parents=[node],
        add_help=False,
        help="serve this session's node to an MCP client (a coding agent) over stdio",
        description="An MCP server over stdio: the session commands as tools (claim, progress,"
        " complete, block, help, wait, board, …) and the board and this session as resources,"
        " for a coding agent. Attaches to the session's running node (--session, --state-dir,"
        " IFMESH_SESSION, IFMESH_STATE_DIR, else the only one); with --start, starts it when"
        " none runs, with the flags below (those of `ifmesh node`), and stops it on exit.",
    )
    parser.add_argument(
        "--start",
        action="store_true",
        help="start the session's node when none runs (stopped again when this server ends)",
    )
    node_options = [a for a in node._actions if a.option_strings and a.dest != "help"]
    parser.set_defaults(handler=lambda args: run_mcp(args, node_options))


def node_flags(args: argparse.Namespace, options: list[argparse.Action]) -> list[str]:
    """The `ifmesh node` flags given to `ifmesh mcp`, as `ifmesh node` takes them."""
    flags: list[str] = []
    for option in options:
        value = getattr(args, option.dest, None)
        if value is None or value == option.default:
            continue
        flag = option.option_strings[-1]
        if option.nargs == 0:
            flags.append(flag)
        elif isinstance(value, list):
            flags += [flag, ",".join(str(item) for item in value)]
        else:
            flags += [flag, str(value)]
    return flags


def _plan(args: argparse.Namespace, options: list[argparse.Action]) -> NodePlan | ConfigError:
    """What --start would start, or why it cannot (no session, a bad setting): told to the
    agent at its first call, since the MCP client shows it nothing else."""
    from ifmesh.node.agents.node_start import NodePlan
    from ifmesh.node.errors import ConfigError
    from ifmesh.node.runtime.config import NodeConfig, load

    given = {k: v for k, v in vars(args).items() if k in NodeConfig.model_fields}
    try:
        config = load(given, config_file=args.config)
    except ConfigError as exc:
        return exc
    except OSError as exc:
        return ConfigError(f"cannot read --config {args.config}: {exc.strerror}")
    return NodePlan(
        flags=tuple(node_flags(args, options)),
        session=config.session,
        state_dir=config.resolved_state_dir,
        explicit_state_dir=config.state_dir,
    )


def link_for(args: argparse.Namespace, options: list[argparse.Action]) -> NodeLink:
    from ifmesh.node.agents.node_link import NodeLink
    from ifmesh.node.agents.node_start import NodePlan, NodeStarter

    session: str | None = args.session
    state_dir: Path | None = args.state_dir
    if not args.start:
        return NodeLink(session, state_dir)
    plan = _plan(args, options)
    if isinstance(plan, NodePlan):  # the node it would start is the one to look for
        session, state_dir = plan.session, plan.explicit_state_dir
    return NodeLink(session, state_dir, starter=NodeStarter(plan))


def run_mcp(args: argparse.Namespace, options: list[argparse.Action]) -> int:
    from ifmesh.node.runtime.logs import configure

    configure(args.log_level)  # on stderr: stdout is the MCP wire
    return asyncio.run(_serve(link_for(args, options)))


async def _serve(link: NodeLink) -> int:
    from ifmesh.node.agents.mcp_server import run_stdio

    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, _terminate, link)
    await run_stdio(link)  # until the client closes stdin: the usual end
    return 0


def _terminate(link: NodeLink) -> None:
    """SIGTERM or Ctrl-C before the client closed stdin: the SDK reads stdin in a thread
    blocked in read(), which no cancellation reaches and the interpreter's exit would wait
    for. Stop the node this server started, and exit now: nothing else is left to save."""
    link.close()
    sys.stderr.flush()
    os._exit(0)
