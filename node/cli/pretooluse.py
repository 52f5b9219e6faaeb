"""`ifmesh agent-hook PreToolUse`: refuse an edit to a path under another session's exclusive
reservation in force, before the agent makes it (docs/agents.md, "Session hooks").

It runs before every edit, as a fresh process, so it stays small: ``json``, ``os`` and the
one-shot control call of :mod:`ifmesh.node.control.oneshot`, nothing that imports asyncio or
pydantic (``benchmarks/agents.py`` measures it against a bare interpreter). The node answers
``check-paths`` for its own board, and its answer carries the room's ``guard`` policy.

Exit codes are Claude Code's: 2 refuses the tool call (stderr goes to the model, so it says who
holds the path and what to do instead), and means nothing else; 0 lets it through. When the
hook cannot check — unreadable input, no node, an error of its own — it lets the edit through
with a warning on stderr, unless the guard is ``closed`` (the room's policy, last heard from
the node and remembered in the state directory, or ``IFMESH_GUARD=closed``). ``IFMESH_GUARD=off``
turns the check off for the process that has it (a person's override).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping
from pathlib import Path

from ifmesh.node.control import oneshot

TYPE_CHECKING = False  # typing costs ~2 ms at start: only the type checker reads these
if TYPE_CHECKING:
    from typing import Any, TextIO

EXIT_ALLOW = 0
EXIT_REFUSE = 2
GUARD_VARIABLE = "IFMESH_GUARD"
CLOSED_MARK = "guard-closed"  # in the state directory: the room's guard policy is closed
# The tool's input field naming the file it writes (Claude Code's documented hook input).
EDIT_TOOLS = {
    "Edit": "file_path",
    "Write": "file_path",
    "MultiEdit": "file_path",
    "NotebookEdit": "notebook_path",
}


class BadInput(ValueError):
    """The hook's standard input is not the documented JSON of a PreToolUse event."""


def guard_mode(environ: Mapping[str, str], state_dir: Path | None) -> str:
    """``off``, ``open`` or ``closed``: IFMESH_GUARD, else what the node said last."""
    forced = environ.get(GUARD_VARIABLE, "").strip().lower()
    if forced in ("off", "open", "closed"):
        return forced
    if state_dir is not None and (state_dir / CLOSED_MARK).exists():
        return "closed"
    return "open"


def remember_guard(state_dir: Path | None, guard: object) -> None:
    """Keeps the room's guard policy beside the node, for when the node does not answer."""
    if state_dir is None:
        return
    mark = state_dir / CLOSED_MARK
    try:
        if guard == "closed" and not mark.exists():
            mark.write_text("the room's policy says guard: closed\n", encoding="utf-8")
        elif guard != "closed" and mark.exists():
            mark.unlink()
    except OSError:
        pass  # remembering is a convenience: the node's answer decided this edit


def edited_path(hook: Any) -> tuple[str, str] | None:
    """(path, cwd) of an edit tool's call; None for any other tool. Raises BadInput."""
    if not isinstance(hook, dict):
        raise BadInput("the hook input is not a JSON object")
    field = EDIT_TOOLS.get(hook.get("tool_name"))  # type: ignore[arg-type]
    if field is None:
        return None
    tool_input = hook.get("tool_input")
    path = tool_input.get(field) if isinstance(tool_input, dict) else None
    if not isinstance(path, str) or not path:
        raise BadInput(f"{hook.get('tool_name')} input has no {field}")
    cwd = hook.get("cwd")
    return path, cwd if isinstance(cwd, str) and cwd else str(Path.cwd())


def refusal(path: str, conflicts: list[dict[str, Any]]) -> str:
    lines = []
    for c in conflicts:
        holder, task = c.get("holder"), c.get("task")
        lines.append(
            f"ifmesh: refused: {c.get('path') or path} is reserved exclusively by {holder} for"
            f" task {task}"
            f" (pattern {c.get('pattern')}, until {c.get('expires_at')})."
        )
    first = conflicts[0]
    task = first.get("task")
    lines.append(
        f"Do not edit it now. Work on something else (`ifmesh next`), ask {first.get('holder')}"
        f' to release it (`ifmesh ask-release {task} --reason "…"`), or wait until {task} is'
        f" done (`ifmesh wait {task} --until completed`). `ifmesh board` lists every"
        " reservation."
    )
    return "\n".join(lines)


def cannot_check(what: str, why: str, guard: str, err: TextIO) -> int:
    if guard == "closed":
        print(
            f"ifmesh: refused: the path guard could not check {what} ({why}), and the room's"
            " guard policy is closed. Start this session's node (`ifmesh agent-hook"
            " SessionStart` or `ifmesh node`) and try again; a person may override with"
            " IFMESH_GUARD=off.",
            file=err,
        )
        return EXIT_REFUSE
    print(f"ifmesh: warning: {what} was not checked against reservations: {why}", file=err)
    return EXIT_ALLOW


def run_hook(environ: Mapping[str, str] | None = None) -> int:
    """The hook as a process runs it: its standard input, its environment, its stderr."""
    stdin = b"" if sys.stdin is None or sys.stdin.isatty() else sys.stdin.buffer.read()
    return run(stdin, os.environ if environ is None else environ)


def run(stdin: bytes, environ: Mapping[str, str], err: TextIO = sys.stderr) -> int:
    """The hook, from its standard input to its exit code."""
    if environ.get(GUARD_VARIABLE, "").strip().lower() == "off":
        return EXIT_ALLOW
    state_dir = oneshot.state_dir_of(environ)
    what = "this edit"
    try:
        try:
            edit = edited_path(json.loads(stdin or b"null"))
        except ValueError as exc:  # not JSON, or not the documented shape
            raise BadInput(str(exc)) from None
        if edit is None:
            return EXIT_ALLOW
        path, cwd = edit
        what = path
        endpoint = oneshot.locate(environ)
        state_dir = endpoint.state_dir or state_dir
        answer = oneshot.call(endpoint, "check-paths", {"paths": [path], "cwd": cwd})
    except Exception as exc:  # the hook's own trouble (no node, bad input, a bug): the guard
        return cannot_check(what, str(exc), guard_mode(environ, state_dir), err)
    remember_guard(state_dir, answer.get("guard"))
    conflicts = answer.get("conflicts")
    if not isinstance(conflicts, list):
        why = "the node's answer has no conflicts list"
        return cannot_check(what, why, guard_mode(environ, state_dir), err)
    if conflicts:
        print(refusal(path, conflicts), file=err)
        return EXIT_REFUSE
    return EXIT_ALLOW
