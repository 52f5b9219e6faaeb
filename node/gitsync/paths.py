"""Where each session's files live on the coordination branch (the seed's names).

``session-2-webrtc`` writes ``STATUS-SESSION-2-WEBRTC.yaml`` at the top level and its event log
``.ifmesh/log/session-2-webrtc.jsonl``; the board is ``PHASE-0-TASK-BOARD.md``.
"""

from __future__ import annotations

import re

from ifmesh.node.board.formats.status import session_named_by

BOARD_PATH = "PHASE-0-TASK-BOARD.md"
LOG_DIR = ".ifmesh/log"
STATUS_GLOB = "STATUS-*.yaml"

_LOG_NAME = re.compile(r"^\.ifmesh/log/([a-z0-9][a-z0-9._-]{0,63})\.jsonl$")


def status_path(session: str) -> str:
    return f"STATUS-{session.upper()}.yaml"


def log_path(session: str) -> str:
    return f"{LOG_DIR}/{session}.jsonl"


def session_of_status(path: str) -> str | None:
    """``STATUS-SESSION-2-WEBRTC.yaml`` → ``session-2-webrtc``; None for any other file.

    The name only: the file's ``session:`` field may name the same session differently, and
    then it is the session (:func:`ifmesh.node.gitsync.statusfiles.session_of`)."""
    if "/" in path:
        return None  # STATUS files live at the top of the branch
    return session_named_by(path)


def session_of_log(path: str) -> str | None:
    match = _LOG_NAME.match(path)
    return match.group(1) if match else None
