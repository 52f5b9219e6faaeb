"""Where a running node listens, and how the CLI finds it.

A node writes ``control.json`` into its state directory: its session, pid, URL (TCP on
127.0.0.1, or a unix socket) and the path of its bearer-token file (mode 0600). The CLI picks
the node from ``--session`` / ``IFMESH_SESSION``, else the only running node, else names the
running ones and asks. "Running" means the state directory's lock is held (node.statedir).
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from ifmesh.node.errors import AmbiguousNode, NodeNotRunning
from ifmesh.node.runtime.statedir import is_locked, state_root

CONTROL_FILE = "control.json"
TOKEN_FILE = "control.token"


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
            try:
                found.append(read(directory))
            except (OSError, ValueError, KeyError):
                continue  # a node still starting up; it is not reachable yet
    return found


def find_node(
    session: str | None = None, *, state_dir: Path | None = None, root: Path | None = None
) -> ControlEndpoint:
    """The node to talk to; raises NodeNotRunning or AmbiguousNode with what to do next."""
    session = session or os.environ.get("IFMESH_SESSION") or None
    if state_dir is not None or session is not None:
        directory = state_dir or (root or state_root()) / str(session)
        if not (directory / CONTROL_FILE).is_file() or not is_locked(directory):
            name = session or directory.name
            raise NodeNotRunning(
                f"no node is running for {name} (looked in {directory}); "
                f"start one with `ifmesh node --session {name}`"
            )
        return read(directory)
    nodes = running_nodes(root)
    if len(nodes) == 1:
        return nodes[0]
    if not nodes:
        raise NodeNotRunning(
            f"no ifmesh node is running on this host (looked in {root or state_root()}); "
            "start one with `ifmesh node --session SESSION`"
        )
    names = ", ".join(node.session for node in nodes)
    raise AmbiguousNode(
        f"several nodes are running ({names}); choose one with --session or IFMESH_SESSION"
    )
