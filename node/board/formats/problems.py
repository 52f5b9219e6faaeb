"""What a reader could not read: a warning with its file and line, never an exception.

Boards and STATUS files are written by hand and by agents in a hurry. A reader keeps what it
cannot read verbatim, says why in a :class:`ReadProblem`, and uses the rest: a node never
refuses to start because of what a session wrote (DESIGN.md, "Tolerant readers").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class ReadProblem:
    """One thing a reader read only partly (``partial``) or not at all, at ``path:line``.

    ``text`` is the line as the file has it (kept byte-for-byte in the file itself; here for
    showing). ``task`` names the task whose row it is, when known.
    """

    path: str
    line: int | None
    reason: str
    text: str = ""
    task: str | None = None
    partial: bool = True

    def where(self) -> str:
        return f"{self.path}:{self.line}" if self.line is not None else self.path

    def __str__(self) -> str:
        return f"{self.where()}: {self.reason}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "line": self.line,
            "reason": self.reason,
            "text": self.text,
            "task": self.task,
            "partial": self.partial,
        }
