"""The commands a session runs: `ifmesh node` to start its node, then claim, progress, complete,
block, help, wait… against it over the control API. Thin: parse, call, print.

Every command takes ``--json`` (one JSON object on stdout, for agents) and finds its node from
``--state-dir`` / ``IFMESH_STATE_DIR`` or ``--session`` / ``IFMESH_SESSION`` (flags win, as with
`ifmesh node`), else the only running node. Exit codes: 0 done, 1 refused (the board or the
governor said no; the message says why), 2 bad usage, 3 no node reachable (none running, or
the one asked for does not answer in time or not in its protocol). A node has
``IFMESH_CONTROL_TIMEOUT`` seconds (30) to answer, beyond what `wait` and `claim` wait for.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeAlias

from ifmesh.node import errors
from ifmesh.node.cli import queues, reserving
from ifmesh.node.cli.boardtext import render_board, render_readings, render_takeovers
from ifmesh.node.cli.failure import fail
from ifmesh.node.control.client import ControlClient, timeout_from_environment
from ifmesh.node.control.endpoint import find_node

EXIT_REFUSED = 1
EXIT_USAGE = 2
EXIT_NO_NODE = 3

Subparsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"
Printer = Callable[[dict[str, Any]], str]


def _client_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--session", help="which node (default: IFMESH_SESSION, else the only one)")
    parser.add_argument(
        "--state-dir", type=Path, help="the node's state directory (default: IFMESH_STATE_DIR)"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object (for agents)")


def _command(
    commands: Subparsers, name: str, help_text: str, build: Callable[[argparse.Namespace], Any]
) -> argparse.ArgumentParser:
    parser = commands.add_parser(name, help=help_text, description=help_text)
    _client_options(parser)
    parser.set_defaults(handler=lambda args: run_call(args, build(args)))
    return parser


def register(commands: Subparsers) -> None:
    from ifmesh.node.cli.node import add_node_command

    add_node_command(commands)
    claim = _command(
        commands,
        "claim",
        "claim a task; exit 0 only when it is yours (decided), exit 1 claim_lost otherwise",
        lambda a: ("claim", {"task": a.task, "force": a.force, "provisional": a.provisional,
                             "confirmed": a.confirmed, "timeout": a.timeout, "queue": a.queue,
                             "urgency": a.urgency}, _say_claim),
    )  # fmt: skip
    claim.add_argument("task")
    queues.add_claim_options(claim)
    claim.add_argument("--force", action="store_true", help="claim despite open dependencies")
    claim.add_argument(
        "--provisional",
        action="store_true",
        help="return at once, before the claim is decided (you may still lose it)",
    )
    claim.add_argument(
        "--confirmed",
        action="store_true",
        help="after the decision, wait until git confirms it too (a round trip to the remote)",
    )
    claim.add_argument(
        "--timeout",
        type=float,
        default=60.0,
        help="seconds to wait for the decision; then the claim is withdrawn (claim_undecided)",
    )

    progress = _command(
        commands,
        "progress",
        "report a milestone: 25, 50, 75 or 100 percent",
        lambda a: ("progress", {"task": a.task, "percent": a.percent, "milestone": a.milestone},
                   _say_events),
    )  # fmt: skip
    progress.add_argument("task")
    progress.add_argument("percent", type=int, choices=(25, 50, 75, 100))
    progress.add_argument("milestone", nargs="?", default="")

    complete = _command(
        commands,
        "complete",
        "complete a task you hold",
        lambda a: ("complete", {"task": a.task, "deliverable": a.deliverable,
                                "tests_pass": a.tests_pass}, _say_events),
    )  # fmt: skip
    complete.add_argument("task")
    complete.add_argument("--deliverable", default="", help="path of what you delivered")
    complete.add_argument("--tests-pass", action="store_true", help="the tests pass")

    release = _command(
        commands,
        "release",
        "give a task back",
        lambda a: ("release", {"task": a.task}, _say_events),
    )
    release.add_argument("task")

    fail = _command(
        commands,
        "fail",
        "report that a task failed (counts toward the governor's circuit breakers)",
        lambda a: ("fail", {"task": a.task, "reason": a.reason}, _say_events),
    )
    fail.add_argument("task")
    fail.add_argument("reason")

    block = _command(
        commands,
        "block",
        "say what blocks you: tasks (--on) and/or a description (--reason) with --need",
        lambda a: ("block", {"task": a.task, "on": a.on, "reason": a.reason, "need": a.need,
                             "urgency": a.urgency}, _say_events),
    )  # fmt: skip
    block.add_argument("task")
    block.add_argument("--on", action="append", default=[], metavar="TASK")
    block.add_argument("--reason", default="")
    block.add_argument("--need", action="append", default=[], metavar="CAPABILITY")
    block.add_argument("--urgency", default="medium", choices=("low", "medium", "high", "critical"))

    help_ = _command(
        commands,
        "help",
        "ask for help; the governor picks helpers, who see it at once",
        lambda a: ("help", {"task": a.task, "need": a.need, "description": a.description,
                            "urgency": a.urgency}, _say_help),
    )  # fmt: skip
    help_.add_argument("task")
    help_.add_argument("--need", action="append", required=True, metavar="CAPABILITY")
    help_.add_argument("--description", default="")
    help_.add_argument("--urgency", default="medium", choices=("low", "medium", "high", "critical"))

    offer = _command(
        commands,
        "offer",
        "offer help on a request (its id is in `ifmesh board`)",
        lambda a: ("offer", {"request": a.request, "message": a.message}, _say_events),
    )
    offer.add_argument("request")
    offer.add_argument("--message", default="")

    wait = _command(
        commands,
        "wait",
        "return the instant a task is completed, you are unblocked, a task is assigned to you,"
        " a queued claim got you the task, or you are asked to release one (replaces polling)",
        lambda a: ("wait", {"task": a.task, "until": a.until, "timeout": a.timeout}, _say_wait),
    )
    wait.add_argument("task", nargs="?", help="the task (optional with --until assigned|asked)")
    wait.add_argument(
        "--until",
        choices=("completed", "unblocked", "assigned", "mine", "asked"),
        default="completed",
        help="assigned: the task is yours, decided by git (without TASK: any task your node"
        " took over for you); mine: TASK is yours, decided by git (after `claim --queue`);"
        " asked: someone asks you to release TASK (without TASK: any task you hold)",
    )
    wait.add_argument("--timeout", type=float, default=None, help="seconds (default: forever)")

    _command(commands, "board", "show the board", lambda a: ("board", None, render_board))
    _command(
        commands, "peers", "mesh peers: state, RTT, traffic", lambda a: ("peers", None, _peers)
    )
    _command(
        commands,
        "status",
        "this node: mesh peers, git sync state (pending commits, last error), policy hash",
        lambda a: ("status", None, _status),
    )
    _command(
        commands,
        "next",
        "the best available tasks for my capabilities",
        lambda a: ("next", None, _next),
    )
    watch = commands.add_parser("watch", help="a live board in the terminal (Ctrl-C to stop)")
    _client_options(watch)
    watch.set_defaults(handler=run_watch)
    queues.register(commands, _command)
    reserving.register(commands, _command)
    _governor_commands(commands)


def _governor_commands(commands: Subparsers) -> None:
    """Operator commands against a running node, under the governor's own `ifmesh governor`."""
    governor = commands.choices.get("governor")
    if governor is None:  # only the session commands were asked for
        return
    sub = next(a for a in governor._actions if isinstance(a, argparse._SubParsersAction))
    register_ = sub.add_parser("register", help="register a swarm's capabilities and budget")
    _client_options(register_)
    register_.add_argument("--swarm", help="swarm id (default: this node's session)")
    register_.add_argument("--capabilities", type=lambda s: s.split(","), default=None)
    register_.add_argument("--cost-per-hour", type=float)
    register_.add_argument("--budget", type=float)
    register_.add_argument("--reputation", type=float)
    register_.add_argument("--model")
    register_.set_defaults(
        handler=lambda a: run_call(a, ("register", {
            k: v for k, v in {"swarm": a.swarm, "capabilities": a.capabilities,
                              "cost_per_hour": a.cost_per_hour, "budget": a.budget,
                              "reputation": a.reputation, "model": a.model}.items()
            if v is not None}, _say_events))
    )  # fmt: skip
    budget = sub.add_parser("budget", help="budgets: spent, reserved, remaining per swarm")
    _client_options(budget)
    budget.set_defaults(handler=lambda a: run_call(a, ("budget", None, _budget)))
    reset = sub.add_parser("reset-breaker", help="close a swarm's circuit breaker")
    _client_options(reset)
    reset.add_argument("swarm")
    reset.add_argument("--task-type")
    reset.add_argument("--reason", default="operator reset")
    reset.set_defaults(
        handler=lambda a: run_call(a, ("reset-breaker", {"swarm": a.swarm,
                                   "task_type": a.task_type, "reason": a.reason}, _say_events))
    )  # fmt: skip


# --- running ---------------------------------------------------------------------------------


def run_call(args: argparse.Namespace, call: tuple[str, dict[str, Any] | None, Printer]) -> int:
    name, body, printer = call
    try:
        result = asyncio.run(_call(args, name, body))
    except errors.ControlError as exc:
        return _control_failed(args, exc)
    except errors.ConfigError as exc:
        return fail(args, exc.code, str(exc), EXIT_USAGE)
    print(json.dumps(result, ensure_ascii=False) if args.json else printer(result))
    return 0


async def _call(args: argparse.Namespace, name: str, body: dict[str, Any] | None) -> Any:
    endpoint = find_node(args.session, state_dir=args.state_dir)
    margin = timeout_from_environment()
    async with ControlClient(endpoint, timeout=margin) as node:
        if body is None:
            return await node.query(name)
        if name not in {"wait", "claim", "reserve"}:
            return await node.call(name, body)
        # The node answers these when their own timeout ends; `wait` has none by default.
        takes = math.inf if body.get("timeout") is None else float(body["timeout"])
        return await node.call(name, body, timeout=takes + margin)


def _control_failed(args: argparse.Namespace, exc: errors.ControlError) -> int:
    """The node's refusal (1, or 2 for a request it could not read); anything else is no node
    to talk to (3): none running, or the one asked for not answering in time or in HTTP."""
    if isinstance(exc, errors.RemoteError):
        status = EXIT_USAGE if exc.code in {"bad_request", "malformed_json"} else EXIT_REFUSED
    else:
        status = EXIT_NO_NODE
    return fail(args, exc.code, str(exc), status)


def run_watch(args: argparse.Namespace) -> int:
    try:
        asyncio.run(_watch(args))
    except KeyboardInterrupt:
        return 0
    except errors.ControlError as exc:
        return _control_failed(args, exc)
    except errors.ConfigError as exc:
        return fail(args, exc.code, str(exc), EXIT_USAGE)
    return 0


async def _watch(args: argparse.Namespace) -> None:
    endpoint = find_node(args.session, state_dir=args.state_dir)
    async with ControlClient(endpoint, timeout=timeout_from_environment()) as node:
        async for event in node.events():
            board = await node.query("board")
            if args.json:
                print(json.dumps({"event": event, "board": board}, ensure_ascii=False), flush=True)
                continue
            sys.stdout.write("\x1b[2J\x1b[H")  # clear the screen, cursor home
            print(f"ifmesh watch — {endpoint.session} — last: {event.get('type')}\n")
            print(render_board(board), flush=True)


# --- printing --------------------------------------------------------------------------------


def _say_events(result: dict[str, Any]) -> str:
    return "\n".join(
        f"{e['type']} {e['payload'].get('task_id', '')} (seq {e['seq']})".rstrip()
        for e in result["events"]
    )


def _say_claim(result: dict[str, Any]) -> str:
    if result.get("queued"):
        return queues.say_queued(result)
    if result.get("already_yours"):
        return f"{result['task']} is already yours (epoch {result['epoch']}): go on working"
    took = f", taken over from {result['taken_over_from']}" if "taken_over_from" in result else ""
    if result.get("won"):
        return (
            f"won {result['task']} epoch {result['epoch']} (decided by {result['decided_by']})"
            + took
        )
    return f"claimed {result['task']} epoch {result['epoch']}{took}: provisional, not decided yet"


def _say_help(result: dict[str, Any]) -> str:
    helpers = ", ".join(result["helpers"]) or "no eligible helper (it will be escalated)"
    return f"help request {result['request_id']}: asked {helpers}"


def _say_wait(result: dict[str, Any]) -> str:
    if result["until"] in ("mine", "asked"):
        return queues.say_wait(result)
    task = result["task"]
    if result["until"] == "assigned":
        taken = result.get("taken_over_from")
        came = f", taken over from {taken}" if taken else ""
        return f"{task['id']} is yours (epoch {task['epoch']}{came}): {task['title']}"
    return f"{task['id']} is {result['until']}: {task['status']}"


def _peers(result: dict[str, Any]) -> str:
    lines = [f"{'PEER':<20} {'STATE':<10} {'RTT':>8} {'IN':>6} {'OUT':>6}"]
    for peer in result["peers"]:
        rtt = f"{peer['rtt'] * 1000:.1f}ms" if peer.get("rtt") else "-"
        lines.append(
            f"{peer['peer']:<20} {peer['state']:<10} {rtt:>8} "
            f"{peer['messages_in']:>6} {peer['messages_out']:>6}"
        )
    joined = "joined" if result["signaling_joined"] else "NOT joined (git-only)"
    return "\n".join([*lines, f"signaling: {joined}"])


def _status(result: dict[str, Any]) -> str:
    git, mesh = result["git"], result["mesh"]
    return "\n".join(
        [
            f"session {result['session']} (incarnation {result['incarnation']}), seq "
            f"{result['seq']}, holding {', '.join(result['holding']) or 'nothing'}",
            f"mesh: {'joined' if mesh['signaling_joined'] else 'git-only'}; peers up: "
            f"{', '.join(mesh['peers_up']) or 'none'}",
            f"git: {git['branch']} pending commits {git['pending_commits']}, "
            f"last error: {git['last_error'] or 'none'}, scribe {git['scribe'] or '-'}",
            f"policy {result['policy']['hash']} ({result['policy']['source']})",
            *render_takeovers(result),
            *queues.render_asks(result),
            *render_readings(result),
        ]
    )


def _next(result: dict[str, Any]) -> str:
    queued = queues.render_queued(result.get("queued", []))
    if not result["tasks"]:
        return "\n".join(["nothing available for your capabilities", *queued])
    return "\n".join(
        f"{t['id']:<8} take over from {t['take_over_from']} (STALE): {t['title']}"
        if t.get("take_over_from")
        else f"{t['id']:<8} {t['kind']:<8} {t['title']}"
        for t in result["tasks"]
    ) + "".join(f"\n{line}" for line in queued)


def _budget(result: dict[str, Any]) -> str:
    lines = [f"policy {result['policy_hash']}"]
    for row in result["swarms"]:
        flag = "  ⚠ over forecast" if row["warning"] else ""
        lines.append(
            f"{row['swarm_id']:<20} budget {row['budget']:>8.2f} spent {row['spent']:>8.2f} "
            f"reserved {row['reserved']:>8.2f} remaining {row['remaining']:>8.2f}{flag}"
        )
    return "\n".join(lines)
