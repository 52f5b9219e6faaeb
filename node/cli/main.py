"""`ifmesh …`: the command line. Thin by design: parse, call the library, print.

Exit codes, the same for every command:
  0  done
  1  refused or invalid (the message says why)
  2  bad usage or unreadable input
  3  no node reachable (start one with `ifmesh node`)
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from collections.abc import Callable, Sequence

from ifmesh.node.cli.signals import stop_with_parent

# Not `from typing import …`: typing costs ~3 ms at start, paid by `ifmesh agent-hook
# PreToolUse` before every edit an agent makes (benchmarks/agents.py).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import TypeAlias

EXIT_OK = 0
EXIT_INVALID = 1
EXIT_UNREADABLE = 2

EXIT_USAGE = 2

Handler = Callable[[argparse.Namespace], int]


def _add_schema(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "schema",
        help="print the IFMessage JSON Schema",
        description="Print the JSON Schema of IFMessage (every type), as committed in "
        "fixtures/schema/ifmessage.schema.json.",
    )
    parser.set_defaults(handler=_run_schema)


def _run_schema(args: argparse.Namespace) -> int:
    print(schema_text(), end="")
    return EXIT_OK


def schema_text() -> str:
    """The schema exactly as committed: 2-space indent, sorted keys, trailing newline."""
    from ifmesh.node.protocol import messages

    return json.dumps(messages.json_schema(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _add_validate(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "validate",
        help="check files of IFMessages",
        description="Validate IFMessages in .json files (one message) and .jsonl files (one "
        "per line). Directories are searched recursively; a directory named 'invalid' holds "
        "negative cases and is checked only when named directly, where its manifest.yaml says "
        "which error each file must produce. Exit 0 all valid, 1 any invalid, 2 unreadable.",
    )
    parser.add_argument("paths", nargs="+", metavar="PATH", help="files or directories")
    parser.add_argument("--json", action="store_true", help="one JSON object per file")
    parser.add_argument(
        "--verify",
        action="store_true",
        help="also check each event's signature against the keys pinned on --branch of"
        " --remote (unsigned, bad or unpinned: invalid)",
    )
    parser.add_argument("--remote", help="coordination repository (with --verify)")
    parser.add_argument("--branch", default="ifmesh/coordination", help="coordination branch")
    parser.add_argument(
        "--operator-keys", default="", help="comma-separated operator keys (with --verify)"
    )
    parser.set_defaults(handler=_run_validate)


def _run_validate(args: argparse.Namespace) -> int:
    from ifmesh.node.protocol.validation import validate_paths

    verify = None
    if args.verify:
        from ifmesh.node.cli.keys import branch_verifier
        from ifmesh.node.errors import IfmeshError

        if not args.remote:
            print("ifmesh validate: --verify needs --remote URL", file=sys.stderr)
            return EXIT_USAGE
        operators = [k.strip() for k in args.operator_keys.split(",") if k.strip()]
        try:
            verify = branch_verifier(args.remote, args.branch, operators)
        except IfmeshError as exc:
            print(f"ifmesh validate: {exc.code}: {exc}", file=sys.stderr)
            return EXIT_UNREADABLE
    report = validate_paths(args.paths, verify)
    for result in report.results:
        if args.json:
            print(json.dumps(result.as_dict(), ensure_ascii=False))
        else:
            print(result.line())
    if not args.json:
        print(report.summary(), file=sys.stderr)
    return report.exit_code


def _add_demo(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "demo",
        help="show what ifmesh speaks: validate and print the shipped IFMessage fixtures",
    )
    parser.set_defaults(handler=_run_demo)


def _run_demo(args: argparse.Namespace) -> int:
    from ifmesh.node.cli.demo import run_fixture_tour

    return run_fixture_tour()


Registrar: TypeAlias = "Callable[[argparse._SubParsersAction[argparse.ArgumentParser]], None]"


def _lazy(module: str) -> Registrar:
    """A registrar that imports its module only when its commands are wanted: `ifmesh claim`
    should not pay for importing the signaling server, aiortc or the SDP tools."""

    def add(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
        importlib.import_module(module).register(commands)

    return add


_CORE: tuple[Registrar, ...] = (_add_schema, _add_validate, _add_demo)
_SIGNALING = _lazy("ifmesh.signaling.cli")
_GOVERNOR = _lazy("ifmesh.node.governor.cli")
_SDP = _lazy("ifmesh.node.sdp.cli")
_SESSION = _lazy("ifmesh.node.cli.session")  # after the governor's: it adds the operator commands
_UP = _lazy("ifmesh.node.cli.up")
_GUARD = _lazy("ifmesh.node.cli.guard")  # agent hooks and the path guard: imports only argparse
_MCP = _lazy("ifmesh.node.cli.mcp")
_KEYS = _lazy("ifmesh.node.cli.keys")
COMMANDS: tuple[Registrar, ...] = (
    *_CORE,
    _SIGNALING,
    _GOVERNOR,
    _SDP,
    _SESSION,
    _UP,
    _MCP,
    _KEYS,
    _GUARD,
)

# The registrars a command needs; any other first word (or none, or --help) gets them all.
_FOR_COMMAND: dict[str, tuple[Registrar, ...]] = {
    "signaling": (_SIGNALING,),
    "token": (_SIGNALING,),
    "governor": (_GOVERNOR, _SESSION),
    "sdp": (_SDP,),
    "up": (_UP,),
    "dashboard": (_UP,),  # registered with `up`: the demo prints the same page's URL
    **dict.fromkeys(("agent-hook", "check-paths", "git-hook"), (_GUARD,)),
    "mcp": (_MCP,),
    "keys": (_KEYS,),
    **dict.fromkeys(
        ("node", "claim", "progress", "complete", "release", "fail", "block", "help", "offer",
         "wait", "board", "peers", "status", "next", "watch", "unqueue", "ask-release", "keep",
         "reserve", "unreserve"),
        (_SESSION,),
    ),
}  # fmt: skip


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The parser; given ``argv``, only the commands its first word needs are registered."""
    parser = argparse.ArgumentParser(
        prog="ifmesh",
        description="Real-time coordination for coding-agent sessions.",
        epilog="Exit codes: 0 done, 1 refused or invalid, 2 bad usage or unreadable input,"
        " 3 no node reachable.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    first = next((word for word in argv or () if not word.startswith("-")), None)
    needed = _FOR_COMMAND.get(first or "", COMMANDS) if argv is not None else COMMANDS
    for add in (*_CORE, *needed) if needed is not COMMANDS else COMMANDS:
        add(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    arguments = sys.argv[1:] if argv is None else list(argv)
    if arguments == ["agent-hook", "PreToolUse"]:  # before every edit: no parser to build
        from ifmesh.node.cli.pretooluse import run_hook

        return run_hook()
    parser = build_parser(arguments)
    args = parser.parse_args(arguments)
    stop_with_parent()  # when a local room started it: it ends with the room
    handler: Handler = args.handler
    try:
        return handler(args)
    except BrokenPipeError:  # `ifmesh schema | head` is fine
        return EXIT_OK
    except KeyboardInterrupt:
        return 130


__all__ = ["EXIT_INVALID", "EXIT_OK", "EXIT_UNREADABLE", "EXIT_USAGE", "build_parser", "main"]

if __name__ == "__main__":
    sys.exit(main())
