"""The node runtime's commands as issue 10 defines them, for docs written before they land.

Consulted only for a command path the real CLI (:func:`ifmesh.node.cli.main.build_parser`) does not
register. The moment the runtime registers a command, the real parser checks every doc line
that uses it and the procedures using it run: nothing here can keep a doc from being tested
once the command exists. The options are issue 10's, as the runtime's CLI was taking shape
(``--json``, ``--session`` and ``--state-dir`` on every command, one ``ifmesh node`` flag per
node.config setting).
"""

from __future__ import annotations

import argparse

from ifmesh.node.runtime.config import NodeConfig

PATHS: tuple[tuple[str, ...], ...] = (
    ("node",),
    ("up",),
    ("claim",),
    ("progress",),
    ("complete",),
    ("release",),
    ("fail",),
    ("block",),
    ("help",),
    ("offer",),
    ("board",),
    ("peers",),
    ("status",),
    ("watch",),
    ("wait",),
    ("next",),
    ("governor", "register"),
    ("governor", "budget"),
    ("governor", "reset-breaker"),
)


def _common(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--session")
    parser.add_argument("--state-dir")
    return parser


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ifmesh (issue 10, pending)")
    commands = parser.add_subparsers(dest="command", required=True)

    node = commands.add_parser("node")
    node.add_argument("--config")
    node.add_argument("--log-level")
    for name in NodeConfig.model_fields:
        node.add_argument("--" + name.replace("_", "-"))

    up = commands.add_parser("up")
    up.add_argument("--sessions", type=int)
    up.add_argument("--no-live", action="store_true")

    claim = _common(commands.add_parser("claim"))
    claim.add_argument("task")
    claim.add_argument("--confirmed", action="store_true")
    claim.add_argument("--force", action="store_true")
    claim.add_argument("--timeout", type=float)

    progress = _common(commands.add_parser("progress"))
    progress.add_argument("task")
    progress.add_argument("percent", type=int, choices=(25, 50, 75, 100))
    progress.add_argument("milestone", nargs="?")

    complete = _common(commands.add_parser("complete"))
    complete.add_argument("task")
    complete.add_argument("--deliverable")
    complete.add_argument("--tests-pass", action="store_true")

    release = _common(commands.add_parser("release"))
    release.add_argument("task")

    fail = _common(commands.add_parser("fail"))
    fail.add_argument("task")
    fail.add_argument("reason")

    urgency = ("low", "medium", "high", "critical")
    block = _common(commands.add_parser("block"))
    block.add_argument("task")
    block.add_argument("--on", action="append")
    block.add_argument("--reason")
    block.add_argument("--need", action="append")
    block.add_argument("--urgency", choices=urgency)

    helping = _common(commands.add_parser("help"))
    helping.add_argument("task")
    helping.add_argument("--need", action="append", required=True)
    helping.add_argument("--description")
    helping.add_argument("--urgency", choices=urgency)

    offer = _common(commands.add_parser("offer"))
    offer.add_argument("request")
    offer.add_argument("--message")

    for name in ("board", "peers", "status", "watch", "next"):
        _common(commands.add_parser(name))

    wait = _common(commands.add_parser("wait"))
    wait.add_argument("task")
    wait.add_argument("--until", choices=("completed", "unblocked"))
    wait.add_argument("--timeout", type=float)

    governor = commands.add_parser("governor").add_subparsers(dest="sub", required=True)
    register = _common(governor.add_parser("register"))
    for name in ("--swarm", "--capabilities", "--cost-per-hour", "--budget", "--reputation"):
        register.add_argument(name)
    register.add_argument("--model")
    _common(governor.add_parser("budget"))
    reset = _common(governor.add_parser("reset-breaker"))
    reset.add_argument("swarm")
    reset.add_argument("--task-type")
    reset.add_argument("--reason")
    return parser
