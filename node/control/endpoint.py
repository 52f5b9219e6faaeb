"""Where a running node listens, and how the CLI finds it.

A node writes ``control.json`` into its state directory: its session, pid, URL (TCP on
127.0.0.1, or a unix socket) and the path of its bearer-token file (mode 0600). The CLI picks
the node from ``--state-dir`` / ``IFMESH_STATE_DIR`` or ``--session`` / ``IFMESH_SESSION``
(flags win, as with `ifmesh node`), else the only running node, else names the running ones and
asks. "Running" means the state directory's lock is held (node.statedir).
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from ifmesh.node.errors import AmbiguousNode, NodeNotRunning
from ifmesh.node.runtime.statedir import ENV_PREFIX, default_state_dir, is_locked, state_root

CONTROL_FILE = "control.json"
TOKEN_FILE = "control.token"
SESSION_VARIABLE = ENV_PREFIX + "SESSION"
STATE_DIR_VARIABLE = ENV_PREFIX + "STATE_DIR"


@dataclass(frozen=True)
class ControlEndpoint:
    session: str
    pid: int
    url: str  # http://127.0.0.1:PORT or unix:/path/to/control.sock
    token_file: Path

    def token(self) -> str:
        return self.token_file.read_text(encoding="utf-8").strip()

    @property
    def unix_path(self) -> str | None:
        return self.url.removeprefix("unix:") if self.url.startswith("unix:") else None

    def to_json(self) -> str:
        document = {
            "session": self.session,
            "pid": self.pid,
            "url": self.url,
            "token_file": str(self.token_file),
        }
        return json.dumps(document, indent=2) + "\n"


def write_token(state_dir: Path) -> Path:
    """A fresh random bearer token in a file only this user can read."""
    path = state_dir / TOKEN_FILE
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(secrets.token_urlsafe(32) + "\n")
    path.chmod(0o600)  # O_CREAT's mode does not apply to an existing file
    return path


def publish(state_dir: Path, endpoint: ControlEndpoint) -> None:
    """Writes control.json atomically: a reader never sees half a file."""
    temporary = state_dir / (CONTROL_FILE + ".tmp")
    temporary.write_text(endpoint.to_json(), encoding="utf-8")
    temporary.replace(state_dir / CONTROL_FILE)


def read(state_dir: Path) -> ControlEndpoint:
    document = json.loads((state_dir / CONTROL_FILE).read_text(encoding="utf-8"))
    return ControlEndpoint(
        session=str(document["session"]),
        pid=int(document["pid"]),
        url=str(document["url"]),
        token_file=Path(document["token_file"]),
    )


def running_nodes(root: Path | None = None) -> list[ControlEndpoint]:
    root = root or state_root()
    if not root.is_dir():
        return []
    found = []
    for directory in sorted(root.iterdir()):
        if (directory / CONTROL_FILE).is_file() and is_locked(directory):
            last = _last_in(directory)
            if last is not None:  # else a node still starting up; it is not reachable yet
                found.append(last)
    return found


def find_node(
    session: str | None = None,
    *,
    state_dir: Path | None = None,
    root: Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> ControlEndpoint:
    """The node to talk to; raises NodeNotRunning or AmbiguousNode with what to do next.

    ``session`` and ``state_dir`` are the command line's; each one not given is read from
    IFMESH_SESSION / IFMESH_STATE_DIR, as `ifmesh node` reads them."""
    environ = os.environ if environ is None else environ
    asked = _Asked(session, state_dir)
    if session is None and environ.get(SESSION_VARIABLE):
        asked = replace(asked, session=environ[SESSION_VARIABLE], session_from_env=True)
    if state_dir is None and environ.get(STATE_DIR_VARIABLE):
        from_env = Path(environ[STATE_DIR_VARIABLE])
        # --session beats IFMESH_STATE_DIR: that directory only if it is that session's node.
        if session is None or _session_in(from_env) == session:
            asked = replace(asked, state_dir=from_env, dir_from_env=True)
    if asked.state_dir is not None or asked.session is not None:
        return _node_in(asked.state_dir or (root or state_root()) / str(asked.session), asked)
    nodes = running_nodes(root)
    if len(nodes) == 1:
        return nodes[0]
    if not nodes:
        raise NodeNotRunning(
            f"no ifmesh node is running on this host (looked in {root or state_root()}); "
            "start one with `ifmesh node --session SESSION --remote URL`"
        )
    names = ", ".join(node.session for node in nodes)
    raise AmbiguousNode(
        f"several nodes are running ({names}); choose one with --session or {SESSION_VARIABLE}"
    )


@dataclass(frozen=True)
class _Asked:
    """Which node the command line and the environment ask for, and from where."""

    session: str | None
    state_dir: Path | None
    session_from_env: bool = False
    dir_from_env: bool = False

    def where(self, directory: Path) -> str:
        return f"{STATE_DIR_VARIABLE}={directory}" if self.dir_from_env else str(directory)

    def must_be(self) -> str | None:
        """The session the node found must be: a flag beats the environment, so
        ``--state-dir`` with IFMESH_SESSION set means that directory's node, whoever it is.
        (``--session`` with IFMESH_STATE_DIR set looks there only if that session is there.)"""
        if self.session_from_env and self.state_dir is not None and not self.dir_from_env:
            return None
        return self.session


def _last_in(directory: Path) -> ControlEndpoint | None:
    """What the node that runs, or last ran, in ``directory`` published; None if nothing
    readable (none ever did, or one is starting and has not yet)."""
    try:
        return read(directory)
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _session_in(directory: Path) -> str | None:
    last = _last_in(directory)
    return None if last is None else last.session


def _node_in(directory: Path, asked: _Asked) -> ControlEndpoint:
    """The node running in ``directory``. One that is not running is named from the
    control.json it left, else from the session asked for; with neither, the advice says
    SESSION: a directory's name is not a session id."""
    where = asked.where(directory)
    last = _last_in(directory)
    if is_locked(directory):
        if last is None:
            raise NodeNotRunning(
                f"the node in {where} is starting: its control API opens once it has fetched "
                "the coordination branch; try again in a moment"
            )
        wanted = asked.must_be()
        if wanted is not None and last.session != wanted:
            raise NodeNotRunning(
                f"the node running in {where} is session {last.session}, not {wanted}; "
                f"ask for {last.session}, or give the state directory of {wanted}'s node"
            )
        return last
    name = asked.must_be() or (last.session if last is not None else asked.session)
    before = ""
    if last is not None and last.session != name:
        before = f"; the last node there was session {last.session}"
    state_flag = "" if asked.state_dir is None else f" --state-dir {directory}"
    if name is None:
        missing = "" if directory.is_dir() else ": no such directory"
        raise NodeNotRunning(
            f"no node is running in {where}{missing}; start one with "
            f"`ifmesh node --session SESSION{state_flag} --remote URL`"
        )
    if directory == default_state_dir(name):
        state_flag = ""
    raise NodeNotRunning(
        f"no node is running for {name} (looked in {where}{before}); start it with "
        f"`ifmesh node --session {name}{state_flag} --remote URL`"
    )
