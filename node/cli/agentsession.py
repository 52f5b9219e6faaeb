"""`ifmesh agent-hook SessionStart|Stop|SessionEnd`: an agent session's node, from its first
moment to its last (docs/agents.md, "Session hooks").

- ``SessionStart`` attaches to this session's node, or starts one (``ifmesh node``, detached,
  its log in the state directory) when none runs and a session id is known, then prints a
  short board for the model: its tasks, what is next, open help requests, who waits on it.
  Claude Code adds a SessionStart hook's standard output to the model's context.
- ``Stop`` says what the session holds (tasks, reservations), so a turn never ends with work
  held and forgotten.
- ``SessionEnd`` asks the node to end the session under the room's ``agent_session_end``
  policy (``release`` its tasks, or ``keep`` them until the lease runs out) and, if
  ``SessionStart`` started the node, stops it: the node pushes its last STATUS as it stops.

None of these ever exits 2 (for Stop that would keep the agent working): a hook that cannot
reach a node says so and exits 0.
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TextIO

from ifmesh.node.cli.pretooluse import remember_guard
from ifmesh.node.control import oneshot
from ifmesh.node.errors import IfmeshError, NodeNotRunning

STARTED_MARK = "agent-hook-started"  # in the state directory: the pid SessionStart started
NODE_LOG = "node.log"
STOP_TIMEOUT = 60.0


def _say(out: TextIO, *lines: str) -> int:
    print("\n".join(lines), file=out)
    return 0


def _call(endpoint: oneshot.Endpoint, name: str, body: dict[str, Any] | None = None) -> Any:
    return oneshot.call(endpoint, name, body, timeout=30.0)


# --- SessionStart ---------------------------------------------------------------------------


def _config_session(config: str | None) -> str | None:
    if not config:
        return None
    import yaml

    document = yaml.safe_load(Path(config).read_text(encoding="utf-8")) or {}
    session = document.get("session") if isinstance(document, dict) else None
    return str(session) if session else None


def start_node(
    session: str, state_dir: Path, environ: Mapping[str, str], config: str | None, cwd: str
) -> int:
    """Starts ``ifmesh node`` for ``session``, detached from this hook; returns its pid."""
    state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    command = [sys.executable, "-m", "ifmesh", "node", "--session", session]
    command += ["--state-dir", str(state_dir)] + (["--config", config] if config else [])
    with (state_dir / NODE_LOG).open("ab") as log:
        process = subprocess.Popen(
            command, env=dict(environ), cwd=cwd, stdin=subprocess.DEVNULL, stdout=log,
            stderr=log, start_new_session=True,
        )  # fmt: skip
    (state_dir / STARTED_MARK).write_text(f"{process.pid}\n", encoding="utf-8")
    return process.pid


def _alive(pid: int) -> bool:
    """Whether ``pid`` runs: our child is reaped if it exited; another process counts as gone
    once it is a zombie (its parent, often init in a container, may never reap it)."""
    try:
        finished, _ = os.waitpid(pid, os.WNOHANG)
        return finished == 0
    except ChildProcessError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return True
    return stat.rpartition(")")[2].split()[:1] != ["Z"]


def wait_started(pid: int, environ: Mapping[str, str], timeout: float) -> oneshot.Endpoint:
    """Until this session's node answers on its control API: the one started as ``pid``, or
    one another client started at the same moment (the MCP server's ``--start``: the state
    directory's lock lets one of them run). A process coming up has no event to wait on until
    then, so this checks again every 50 ms (as `ifmesh up` does)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            endpoint = oneshot.locate(environ)
            if _call(endpoint, "status").get("session"):
                return endpoint
        except IfmeshError:
            pass
        if time.monotonic() > deadline:
            what = "is still starting" if _alive(pid) else "exited"
            raise NodeNotRunning(f"no node answered within {timeout:g} s (pid {pid} {what})")
        time.sleep(0.05)


def attach_or_start(
    environ: dict[str, str], config: str | None, start: bool, timeout: float, cwd: str
) -> tuple[oneshot.Endpoint, str]:
    """This session's node, and how it was found (``attached`` or ``started``)."""
    try:
        endpoint = oneshot.locate(environ)
        _call(endpoint, "status")
        return endpoint, "attached"
    except NodeNotRunning:
        session = environ.get("IFMESH_SESSION") or _config_session(config)
        if not start or not session:
            raise
    environ["IFMESH_SESSION"] = session
    state_dir = oneshot.state_dir_of(environ, session)
    assert state_dir is not None
    pid = start_node(session, state_dir, environ, config, cwd)
    try:
        return wait_started(pid, environ, timeout), "started"
    except NodeNotRunning as exc:
        log = state_dir / NODE_LOG
        raise NodeNotRunning(f"{exc}; its log is {log}") from None


def board_summary(session: str, board: dict[str, Any], ahead: dict[str, Any]) -> list[str]:
    """What a model should know as its session starts, in a few lines."""
    tasks = {t["id"]: t for t in board["tasks"]}
    mine = [t for t in board["tasks"] if t["owner"] == session and t["status"] != "COMPLETED"]
    lines = [f"ifmesh: you are session {session}; the board has {len(tasks)} tasks."]
    lines += [
        f"- you hold {t['id']} ({t['status']}, {t['percent']}%, epoch {t['epoch']}): {t['title']}"
        for t in mine
    ] or ["- you hold no task: claim one with `ifmesh claim TASK`"]
    for t in ahead.get("tasks", [])[:3]:
        lines.append(f"- next for you: {t['id']} {t['title']}")
    held = {t["id"] for t in mine}
    for b in board["blockers"]:
        if set(b["waiting"]) & held:
            waits = ", ".join(sorted(set(b["waiting"]) & held))
            lines.append(f"- {b['session']} is blocked on {b['task']}, waiting for your {waits}")
    for h in board["help_requests"]:
        if not h["offers"] and not h["escalated"] and h["requester"] != session:
            chosen = " (you were chosen)" if session in h["helpers"] else ""
            lines.append(
                f"- help wanted{chosen}: {h['requester']} on {h['task']} needs"
                f" {', '.join(h['needs'])}; answer with `ifmesh offer {h['id']}`"
            )
    for r in board.get("reservations", []):
        if r["session"] != session and r["exclusive"]:
            lines.append(
                f"- do not edit {r['pattern']}: reserved by {r['session']} for {r['task']}"
                f" until {r['expires_at']}"
            )
    lines.append(
        "Report with `ifmesh progress TASK 25|50|75|100`, finish with `ifmesh complete TASK"
        " --tests-pass`; reserve files before editing them with `ifmesh reserve GLOB --for"
        " TASK`."
    )
    return lines


def session_start(hook: dict[str, Any], args: Any, environ: dict[str, str], out: TextIO) -> int:
    cwd = hook.get("cwd") if isinstance(hook.get("cwd"), str) else Path.cwd()
    try:
        endpoint, how = attach_or_start(
            environ, args.config, not args.no_start, args.start_timeout, str(cwd)
        )
        board = _call(endpoint, "board")
        ahead = _call(endpoint, "next")
        guard = _call(endpoint, "check-paths", {"paths": []}).get("guard")
    except (IfmeshError, OSError, ValueError) as exc:
        return _say(
            out,
            f"ifmesh: no coordination for this session: {exc}",
            "Set IFMESH_SESSION (and IFMESH_REMOTE, IFMESH_SIGNALING) to start a node here.",
        )
    remember_guard(endpoint.state_dir, guard)
    note = "started its node" if how == "started" else "attached to its running node"
    lines = board_summary(endpoint.session, board, ahead)
    return _say(out, lines[0].rstrip(".") + f" ({note}).", *lines[1:])


# --- Stop and SessionEnd ----------------------------------------------------------------------


def _holdings(endpoint: oneshot.Endpoint) -> tuple[list[str], list[str]]:
    status = _call(endpoint, "status")
    board = _call(endpoint, "board")
    tasks = {t["id"]: t for t in board["tasks"]}
    held = [
        f"{task} ({tasks[task]['status']}, {tasks[task]['percent']}%)" if task in tasks else task
        for task in status["holding"]
    ]
    return held, _reserved(endpoint.session, board.get("reservations", []))


def _reserved(session: str, reservations: list[dict[str, Any]]) -> list[str]:
    return [
        f"{r['pattern']} for {r['task']} ({'exclusive' if r['exclusive'] else 'shared'},"
        f" until {r['expires_at']})"
        for r in reservations
        if r["session"] == session
    ]


def stop(hook: dict[str, Any], args: Any, environ: dict[str, str], out: TextIO) -> int:
    try:
        endpoint = oneshot.locate(environ)
        held, reserved = _holdings(endpoint)
    except (IfmeshError, OSError, ValueError) as exc:
        return _say(out, f"ifmesh: no node to report from: {exc}")
    lines = [f"ifmesh: {endpoint.session} holds {', '.join(held) or 'no task'}."]
    if reserved:
        lines.append(f"reserved: {'; '.join(reserved)}")
    if held:
        lines.append(
            "Report a milestone (`ifmesh progress`), complete (`ifmesh complete`) or give a task"
            " back (`ifmesh release`) when you are done with it."
        )
    return _say(out, *lines)


def _stop_node(endpoint: oneshot.Endpoint) -> str:
    """Stops the node if SessionStart started it; says what happened."""
    directory = endpoint.state_dir
    if directory is None:
        return "its node keeps running (not started by SessionStart)"
    mark = directory / STARTED_MARK
    try:
        pid = int(json.loads((directory / "control.json").read_bytes())["pid"])
        started = int(mark.read_text(encoding="utf-8").strip() or 0)
    except (OSError, ValueError, KeyError, TypeError):
        return "its node keeps running (not started by SessionStart)"
    if started != pid:
        return "its node keeps running (not started by SessionStart)"
    os.kill(pid, signal.SIGTERM)
    exited = _wait_exit(pid, STOP_TIMEOUT)
    mark.unlink(missing_ok=True)
    return "its node stopped and pushed its STATUS" if exited else "its node is stopping"


def _wait_exit(pid: int, timeout: float) -> bool:
    """Waits for a process that is not our child to exit: on its pidfd where Linux has one."""
    try:
        fd = os.pidfd_open(pid)
    except (AttributeError, OSError):
        deadline = time.monotonic() + timeout
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        return not _alive(pid)
    try:
        ready, _, _ = select.select([fd], [], [], timeout)
        return bool(ready)
    finally:
        os.close(fd)


def session_end(hook: dict[str, Any], args: Any, environ: dict[str, str], out: TextIO) -> int:
    try:
        endpoint = oneshot.locate(environ)
        ended = _call(endpoint, "end-session", {"reason": str(hook.get("reason") or "")})
    except (IfmeshError, OSError, ValueError) as exc:
        return _say(out, f"ifmesh: no node to end the session with: {exc}")
    lines = [f"ifmesh: session {endpoint.session} ends (policy: {ended['policy']})."]
    if ended["released"]:
        lines.append(f"released: {', '.join(ended['released'])}")
    if ended["kept"]:
        lines.append(f"kept until the lease runs out: {', '.join(ended['kept'])}")
    reserved = _reserved(endpoint.session, ended.get("reserved", []))
    if reserved:
        lines.append(f"still reserved: {'; '.join(reserved)}")
    try:
        lines.append(_stop_node(endpoint) + ".")
    except OSError as exc:
        lines.append(f"its node could not be stopped: {exc}")
    return _say(out, *lines)
