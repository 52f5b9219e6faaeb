"""`ifmesh check-paths PATH…` and `ifmesh git-hook install`: the path guard on the command
line and before each commit (docs/agents.md, "The pre-commit guard").

``check-paths`` asks the node which paths another session's exclusive reservation in force
covers: exit 0 when none, 1 naming each (path, holder, task, pattern). A directory stands for
itself and every path git tracks under it. ``--staged`` adds the paths staged for the next
commit (deletions and both sides of a rename included). ``--hook`` is the pre-commit guard's
mode: when the check cannot be made (no node, no repository), it lets the commit through with
a warning, unless the guard is closed (the room's policy, or ``IFMESH_GUARD=closed``);
``IFMESH_GUARD=off`` skips it, as ``git commit --no-verify`` does.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

from ifmesh.node.cli.failure import fail
from ifmesh.node.cli.pretooluse import GUARD_VARIABLE, guard_mode, remember_guard
from ifmesh.node.control import oneshot
from ifmesh.node.control.repopaths import repo_root
from ifmesh.node.errors import ConfigError, IfmeshError, RemoteError

EXIT_OK, EXIT_CONFLICT, EXIT_USAGE, EXIT_NO_NODE = 0, 1, 2, 3
HOOK_MARKER = "# ifmesh path guard"


def _git(root: Path, *args: str) -> list[str]:
    try:
        done = subprocess.run(
            ["git", "-C", str(root), *args], capture_output=True, check=True, timeout=60
        )
    except (OSError, subprocess.SubprocessError) as exc:
        raise ConfigError(f"git {' '.join(args)} in {root} failed: {exc}") from None
    return [p for p in done.stdout.decode("utf-8", "surrogateescape").split("\x00") if p]


def paths_to_check(paths: list[str], staged: bool, cwd: Path) -> tuple[list[str], Path | None]:
    """Absolute paths: those named (a directory with the files git tracks under it) and, with
    ``staged``, those staged for commit; and the working tree's root."""
    root = repo_root(cwd)
    found: list[str] = []
    for path in paths:
        absolute = cwd / path
        found.append(str(absolute))
        if root is not None and absolute.is_dir():
            found.append(str(absolute).rstrip("/") + "/")
            tracked = _git(root, "ls-files", "-z", "--full-name", "--", str(absolute))
            found += [str(root / p) for p in tracked]
    if staged:
        if root is None:
            raise ConfigError(f"{cwd} is in no git working tree: nothing is staged")
        names = _git(root, "diff", "--cached", "--name-only", "--no-renames", "-z")
        found += [str(root / p) for p in names]
    return list(dict.fromkeys(found)), root


def _print(args: argparse.Namespace, document: dict[str, Any], text: str) -> None:
    print(json.dumps(document, ensure_ascii=False) if args.json else text)


def _environment(args: argparse.Namespace) -> dict[str, str]:
    environ = dict(os.environ)
    if args.session:
        environ["IFMESH_SESSION"] = args.session
    if args.state_dir:
        environ["IFMESH_STATE_DIR"] = str(args.state_dir)
    return environ


def run_check_paths(args: argparse.Namespace) -> int:
    environ = _environment(args)
    guard = environ.get(GUARD_VARIABLE, "").strip().lower()
    if args.hook and guard == "off":
        return EXIT_OK
    state_dir = oneshot.state_dir_of(environ)
    try:
        paths, root = paths_to_check(args.paths, args.staged, Path.cwd())
        endpoint = oneshot.locate(environ)
        state_dir = endpoint.state_dir or state_dir
        body = {"paths": paths, "cwd": str(root or Path.cwd())}
        answer = oneshot.call(endpoint, "check-paths", body)
    except RemoteError as exc:  # the node refused the check itself: fail closed
        return fail(args, exc.code, str(exc), EXIT_CONFLICT)
    except IfmeshError as exc:
        if not args.hook:
            usage = isinstance(exc, ConfigError)
            return fail(args, exc.code, str(exc), EXIT_USAGE if usage else EXIT_NO_NODE)
        if guard_mode(environ, state_dir) == "closed":
            message = (
                f"the path guard could not check this commit ({exc}) and the room's guard"
                " policy is closed; start this session's node, or override once with"
                " IFMESH_GUARD=off git commit … (or git commit --no-verify)"
            )
            return fail(args, exc.code, message, EXIT_CONFLICT)
        print(f"ifmesh: warning: this commit was not checked for reservations: {exc}",
              file=sys.stderr)  # fmt: skip
        return EXIT_OK
    remember_guard(state_dir, answer.get("guard"))
    conflicts = answer.get("conflicts") or []
    if args.hook and not conflicts:
        return EXIT_OK
    lines = [
        f"{c['path']}: reserved by {c['holder']} for {c['task']} ({c['pattern']}, exclusive,"
        f" until {c['expires_at']})"
        for c in conflicts
    ]
    if conflicts:
        lines.append(
            "these paths are reserved by other sessions: leave them out, or ask the holder to"
            " release its task (`ifmesh ask-release TASK --reason …`)"
            + ("; override once with IFMESH_GUARD=off git commit …" if args.hook else "")
        )
        if not args.json and args.hook:
            print("\n".join(lines), file=sys.stderr)
            return EXIT_CONFLICT
    _print(args, answer, "\n".join(lines) or f"ok: no reservation covers {len(paths)} path(s)")
    return EXIT_CONFLICT if conflicts else EXIT_OK


# --- git-hook install -------------------------------------------------------------------------


def hook_script(python: str = sys.executable) -> str:
    return (
        "#!/bin/sh\n"
        f"{HOOK_MARKER}, installed by `ifmesh git-hook install` (docs/agents.md).\n"
        "# Refuses a commit touching paths another session reserved exclusively.\n"
        "# Override once: IFMESH_GUARD=off git commit ...   (or: git commit --no-verify)\n"
        '[ "${IFMESH_GUARD:-}" = off ] && exit 0\n'
        f"exec {shlex.quote(python)} -m ifmesh check-paths --staged --hook\n"
    )


def install_hook(cwd: Path, force: bool = False) -> Path:
    """Writes the pre-commit hook of the working tree ``cwd`` is in (``core.hooksPath``
    respected); refuses to replace another hook unless ``force``."""
    root = repo_root(cwd)
    if root is None:
        raise ConfigError(f"{cwd} is in no git working tree")
    relative = _git(root, "rev-parse", "--git-path", "hooks/pre-commit")
    path = root / relative[0].strip() if relative else root / ".git" / "hooks" / "pre-commit"
    if path.exists() and HOOK_MARKER not in path.read_text("utf-8", "replace") and not force:
        raise ConfigError(
            f"{path} is another pre-commit hook: add the line `{sys.executable} -m ifmesh"
            " check-paths --staged --hook` to it, or replace it with --force"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(hook_script(), encoding="utf-8")
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return path


def run_git_hook(args: argparse.Namespace) -> int:
    try:
        path = install_hook(Path.cwd(), force=args.force)
    except ConfigError as exc:
        return fail(args, exc.code, str(exc), EXIT_CONFLICT)
    _print(args, {"installed": str(path)}, f"installed the ifmesh pre-commit guard: {path}")
    return EXIT_OK
