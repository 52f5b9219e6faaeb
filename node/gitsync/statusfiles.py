"""Reading other sessions' STATUS files from git through the board's seed-format parser.

The parser (:mod:`ifmesh.node.board.formats.status`) owns the format; this module adds what git
reading needs: the session is named by the file (one writer per file, so a file cannot speak
for another session), and a bad file becomes a :class:`CorruptStatus` the bridge reports and
skips.
"""

from __future__ import annotations

import re

from ifmesh.node.board.errors import StatusFileError
from ifmesh.node.board.formats.status import StatusFile, parse_status
from ifmesh.node.gitsync.errors import CorruptStatus
from ifmesh.node.gitsync.paths import session_of_status

_MILESTONE_TEXT = re.compile(r"^\s*\d{1,3}\s*%\s*(?:[-–—:]\s*)?(.*)$", re.DOTALL)


def read_status(data: bytes, path: str, commit: str = "") -> StatusFile:
    where = f"{path} (commit {commit[:12]})" if commit else path
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CorruptStatus(
            f"not UTF-8 text ({exc.reason} at byte {exc.start}); the session must rewrite it",
            path=where,
        ) from None
    try:
        status = parse_status(text, where)
    except StatusFileError as exc:
        raise CorruptStatus(
            f"{exc.reason}; ignored until that session pushes a fixed file",
            path=where,
            line=exc.line,
        ) from None
    named = session_of_status(path)
    if named is not None and status.session != named:
        raise CorruptStatus(
            f"says session {status.session!r} but the file belongs to {named!r}; ignored",
            path=where,
            line=1,
        )
    return status


def milestone_text(status: StatusFile) -> str:
    """``"50% - Policy configuration complete"`` → ``Policy configuration complete``."""
    text = status.milestone or ""
    match = _MILESTONE_TEXT.match(text)
    return match.group(1).strip() if match else text.strip()


def held_task(status: StatusFile) -> str | None:
    """The task the session works on (not one it reports completed)."""
    return status.claiming or status.current_task
