"""Path reservations on the command line: `ifmesh reserve GLOB… --for TASK` and `ifmesh
unreserve`, and how reservations are printed (`ifmesh board`). `ifmesh check-paths` and the
git hook are in :mod:`ifmesh.node.cli.checkpaths`.

Thin, like :mod:`ifmesh.node.cli.session`: parse, call the control API, print. The command
sends the directory it runs in (``cwd``): the paths git tracks there that the patterns match
go with the reservation, as witnesses of any overlap (docs/claims.md, "Path reservations").
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeAlias

Subparsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"
Command = Callable[
    [Subparsers, str, str, Callable[[argparse.Namespace], Any]], argparse.ArgumentParser
]
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$")
_UNIT = {"": 1.0, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def duration(text: str) -> float:
    """Seconds, from ``90``, ``90s``, ``15m``, ``2h`` or ``1d``."""
    match = _DURATION.match(text)
    if match is None or float(match.group(1)) <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} is no duration: write e.g. 90s, 15m, 2h, 1d")
    return float(match.group(1)) * _UNIT[match.group(2)]


def register(commands: Subparsers, command: Command) -> None:
    """Adds the commands; ``command`` is the session's command factory."""
    reserve = command(
        commands,
        "reserve",
        "reserve paths (gitignore-style globs from the repository's root) for a task you hold;"
        " other sessions' edits and commits there are refused while it lasts",
        lambda a: ("reserve", {"patterns": a.patterns, "task": a.task,
                               "exclusive": a.exclusive, "ttl_seconds": a.ttl,
                               "timeout": a.timeout, "cwd": str(Path.cwd())}, say_reserved),
    )  # fmt: skip
    reserve.add_argument("patterns", nargs="+", metavar="GLOB")
    reserve.add_argument("--for", dest="task", required=True, metavar="TASK")
    mode = reserve.add_mutually_exclusive_group()
    mode.add_argument(
        "--exclusive",
        dest="exclusive",
        action="store_true",
        default=True,
        help="others may neither edit nor reserve these paths (the default)",
    )
    mode.add_argument(
        "--shared",
        dest="exclusive",
        action="store_false",
        help="others may edit them, but not reserve them exclusively",
    )
    reserve.add_argument(
        "--ttl", type=duration, default=7200.0, help="how long it lasts (default 2h; max 7d)"
    )
    reserve.add_argument(
        "--timeout",
        type=float,
        default=60.0,
        help="seconds to wait for the decision; then the reservation is withdrawn"
        " (reservation_undecided)",
    )
    unreserve = command(
        commands,
        "unreserve",
        "end your reservations: those named (all without GLOB), of one task with --for",
        lambda a: ("unreserve", {"patterns": a.patterns, "task": a.task}, say_unreserved),
    )
    unreserve.add_argument("patterns", nargs="*", metavar="GLOB")
    unreserve.add_argument("--for", dest="task", metavar="TASK")


# --- printing -----------------------------------------------------------------------------


def _one(r: Mapping[str, Any]) -> str:
    mode = "exclusive" if r["exclusive"] else "shared"
    return f"{r['pattern']} ({mode}, until {r['expires_at']})"


def say_reserved(result: Mapping[str, Any]) -> str:
    mine = ", ".join(_one(r) for r in result["reserved"]) or "nothing"
    by = f" (decided by {result['decided_by']})" if result.get("decided_by") else ""
    return f"reserved for {result['task']} (epoch {result['epoch']}){by}: {mine}"


def say_unreserved(result: Mapping[str, Any]) -> str:
    left = ", ".join(f"{r['pattern']} for {r['task']}" for r in result["reserved"])
    return "unreserved" + (f"; still reserved: {left}" if left else "; you reserve nothing now")


def render_reservation_lines(document: Mapping[str, Any]) -> list[str]:
    """The reservations in force, for ``ifmesh board``."""
    return [
        f"reserved: {r['session']} for {r['task']}: {_one(r)}"
        for r in document.get("reservations", ())
    ]
