"""Where each session's files live on the coordination branch (the seed's names).

``session-2-webrtc`` writes ``STATUS-SESSION-2-WEBRTC.yaml`` at the top level and its event log
under ``.ifmesh/log/session-2-webrtc/`` (segments, :mod:`ifmesh.node.gitsync.segments`; a log
written before segments is the one file ``.ifmesh/log/session-2-webrtc.jsonl``); the board is
``PHASE-0-TASK-BOARD.md``.
"""

from __future__ import annotations

import re

from ifmesh.node.board.formats.status import session_named_by

BOARD_PATH = "PHASE-0-TASK-BOARD.md"
LOG_DIR = ".ifmesh/log"
STATUS_GLOB = "STATUS-*.yaml"

_SESSION = r"[a-z0-9][a-z0-9._-]{0,63}"
_LEGACY_LOG_NAME = re.compile(rf"^({_SESSION})\.jsonl$")
_LOG_DIR_NAME = re.compile(rf"^{_SESSION}$")


def status_path(session: str) -> str:
    return f"STATUS-{session.upper()}.yaml"


def log_dir(session: str) -> str:
    """The directory of ``session``'s log segments."""
    return f"{LOG_DIR}/{session}"


def legacy_log_path(session: str) -> str:
    """The whole-file log nodes wrote before segments: read, never written again."""
    return f"{LOG_DIR}/{session}.jsonl"


def session_of_status(path: str) -> str | None:
    """``STATUS-SESSION-2-WEBRTC.yaml`` → ``session-2-webrtc``; None for any other file.

    The name only: the file's ``session:`` field may name the same session differently, and
    then it is the session (:func:`ifmesh.node.gitsync.statusfiles.session_of`)."""
    if "/" in path:
        return None  # STATUS files live at the top of the branch
    return session_named_by(path)


def session_of_log_entry(name: str, is_dir: bool) -> str | None:
    """The session an entry of ``.ifmesh/log`` belongs to: a directory of segments named by
    the session, or a whole-file log ``<session>.jsonl``; None for anything else."""
    if is_dir:
        return name if _LOG_DIR_NAME.match(name) else None
    match = _LEGACY_LOG_NAME.match(name)
    return match.group(1) if match else None
