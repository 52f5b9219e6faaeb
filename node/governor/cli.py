"""`ifmesh governor …`: offline policy tooling.

``ifmesh governor check FILE`` validates a policy file and prints the effective policy (every
default filled in, durations in seconds, overrides resolved) and the hash claims will carry.
No node is needed. The commands that talk to a running node (``register``, ``budget``,
``reset-breaker``) come with the node runtime.

Wire it in with ``register(commands)`` on the top-level subparsers.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

import yaml

from ifmesh.node.governor.errors import InvalidPolicyFile
from ifmesh.node.governor.policy_file import load_policy

EXIT_OK, EXIT_INVALID, EXIT_UNREADABLE = 0, 1, 2


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "governor",
        help="resource policy tools (IF.governor)",
        description="IF.governor: capability-aware admission, budgets, circuit breakers.",
    )
    sub = parser.add_subparsers(dest="governor_command", required=True, metavar="COMMAND")
    check = sub.add_parser(
        "check",
        help="validate a policy file and print the effective policy and its hash",
        description="Validate a resource policy YAML (e.g. .ifmesh/policy.yaml), print the "
        "effective policy with every default filled in, and its hash (what claims carry). "
        "Works offline. Exit 0 valid, 1 invalid (each problem with key path and line), "
        "2 unreadable.",
    )
    check.add_argument("file", metavar="FILE", help="policy YAML with a resource_policy key")
    check.add_argument("--json", action="store_true", help="one JSON object on stdout")
    check.set_defaults(handler=run_check)


def run_check(args: argparse.Namespace) -> int:
    try:
        policy = load_policy(args.file)
    except InvalidPolicyFile as exc:
        if args.json:
            problems = [
                {"key_path": p.key_path, "line": p.line, "message": p.message} for p in exc.problems
            ]
            _print_json({"file": args.file, "valid": False, "code": exc.code, "errors": problems})
        else:
            for problem in exc.problems:
                print(problem.describe(args.file))
            print(f"{args.file}: invalid policy ({len(exc.problems)} problem(s))", file=sys.stderr)
        return EXIT_INVALID
    except OSError as exc:
        reason = exc.strerror or str(exc)
        if args.json:
            _print_json({"file": args.file, "valid": False, "code": "unreadable", "error": reason})
        else:
            print(f"{args.file}: cannot read: {reason}", file=sys.stderr)
        return EXIT_UNREADABLE
    effective = policy.effective()
    if args.json:
        _print_json(
            {"file": args.file, "valid": True, "policy_hash": policy.hash, "effective": effective}
        )
    else:
        print(f"# {args.file}: valid")
        print(f"# policy_hash: {policy.hash}")
        print("# effective policy (defaults filled in; durations in seconds):")
        print(yaml.safe_dump(effective, sort_keys=False, default_flow_style=False), end="")
    return EXIT_OK


def _print_json(document: dict[str, Any]) -> None:
    print(json.dumps(document, ensure_ascii=False, sort_keys=True))


def main(argv: list[str] | None = None) -> int:
    """Stand-alone entry (``python -m ifmesh.node.governor.cli governor check FILE``) until the
    top-level ``ifmesh`` wires :func:`register` in."""
    parser = argparse.ArgumentParser(prog="ifmesh")
    register(parser.add_subparsers(dest="command", required=True, metavar="COMMAND"))
    args = parser.parse_args(argv)
    try:
        code: int = args.handler(args)
    except BrokenPipeError:  # `... | head` is fine
        return EXIT_OK
    return code


if __name__ == "__main__":
    sys.exit(main())
