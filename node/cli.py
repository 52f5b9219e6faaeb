"""`ifmesh …`: the command line. Thin by design: parse, call the library, print.

Exit codes, the same for every command:
  0  done
  1  refused or invalid (the message says why)
  2  bad usage or unreadable input
  3  no node reachable (start one with `ifmesh node`)
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence

from node import messages
from node.governor.cli import register as _add_governor
from node.sdp.cli import register as _add_sdp
from node.sessioncli import register as _add_session_commands
from node.up import register as _add_up
from node.validation import EXIT_INVALID, EXIT_OK, EXIT_UNREADABLE, validate_paths
from signaling.cli import register as _add_signaling

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
    parser.set_defaults(handler=_run_validate)


def _run_validate(args: argparse.Namespace) -> int:
    report = validate_paths(args.paths)
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
    from node.demo import run_fixture_tour

    return run_fixture_tour()


COMMANDS: tuple[Callable[[argparse._SubParsersAction[argparse.ArgumentParser]], None], ...] = (
    _add_schema,
    _add_validate,
    _add_demo,
    _add_signaling,
    _add_governor,
    _add_sdp,
    _add_session_commands,  # after _add_governor: it adds the governor's operator commands
    _add_up,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ifmesh",
        description="Real-time coordination for coding-agent sessions.",
        epilog="Exit codes: 0 done, 1 refused or invalid, 2 bad usage or unreadable input,"
        " 3 no node reachable.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add in COMMANDS:
        add(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
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
