"""Reading other sessions' STATUS files from git through the board's seed-format parser.

The parser (:mod:`ifmesh.node.board.formats.status`) owns the format and its tolerance: what a
file says that cannot be read is in ``StatusFile.problems``, with its line, and the rest is
used. The session is the file's own (its ``session:`` field when the file name names the same
session differently, else the file name's: one writer per file). Only a file that names no
session at all becomes a :class:`CorruptStatus` the bridge reports and skips.
"""

from __future__ import annotations

import re
from dataclasses import replace

from ifmesh.node.board.errors import StatusFileError
from ifmesh.node.board.formats.problems import ReadProblem
from ifmesh.node.board.formats.status import StatusFile, parse_status
from ifmesh.node.gitsync.errors import CorruptStatus

_MILESTONE_TEXT = re.compile(r"^\s*\d{1,3}\s*%\s*(?:[-–—:]\s*)?(.*)$", re.DOTALL)


def read_status(data: bytes, path: str, commit: str = "") -> StatusFile:
    where = f"{path} (commit {commit[:12]})" if commit else path
    try:
        text = data.decode("utf-8")
        undecodable = None
    except UnicodeDecodeError as exc:
        text = data.decode("utf-8", errors="replace")
        undecodable = ReadProblem(
            where, None, f"not UTF-8 text ({exc.reason} at byte {exc.start}); read with"
            " replacement characters"
        )  # fmt: skip
    try:
        status = parse_status(text, where, file_name=path)
    except StatusFileError as exc:
        raise CorruptStatus(
            f"{exc.reason}; ignored until that session pushes a fixed file",
            path=where,
            line=exc.line,
        ) from None
    if undecodable is not None:
        status = replace(status, problems=(undecodable, *status.problems))
    return status


def milestone_text(status: StatusFile) -> str:
    """``"50% - Policy configuration complete"`` → ``Policy configuration complete``."""
    text = status.milestone or ""
    match = _MILESTONE_TEXT.match(text)
    return match.group(1).strip() if match else text.strip()


def held_task(status: StatusFile) -> str | None:
    """The task the session works on (not one it reports completed)."""
    return status.claiming or status.current_task
