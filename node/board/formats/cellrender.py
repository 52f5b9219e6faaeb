"""Rendering Status and Owner cells back into a task board, surgically: only the cells of the
rows that changed are rewritten, keeping every other byte (padding too, when the new text fits).

A render needs only the board's text and, per task, its :class:`TaskCells` (where the two cells
are and what they say): :class:`CellTargets`. The scribe keeps those between renders instead of
the whole document as read, since the file changes far less often than the scribe renders
(node/gitsync/scribing.py). On a 20,000-row board: 4.4 MB and the file's 1.6 MB of bytes (a
text with an emoji is 4 bytes a character as a ``str``, so the text is kept as its UTF-8), against
17.6 MB for the document as read with its text (tracemalloc).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from ifmesh.node.board.formats.taskboard import (
    NO_OWNER,
    CellUpdate,
    TaskBoardDocument,
    TaskCells,
)


@dataclass(frozen=True, slots=True)
class CellTargets:
    """What a render reads of a board: its text (UTF-8), whether it has task rows at all, and
    each task's cells."""

    data: bytes
    has_rows: bool
    cells: Mapping[str, TaskCells]

    @property
    def text(self) -> str:
        return self.data.decode("utf-8", "surrogatepass")


def targets(document: TaskBoardDocument, data: bytes | None = None) -> CellTargets:
    """``data``: the document's text as UTF-8 when the caller holds it already (a file's bytes,
    decoded without errors), so it is not kept twice."""
    if data is None:
        data = document.text.encode("utf-8", "surrogatepass")
    return CellTargets(data, bool(document.all_rows()), document.cells)


def render_task_board(document: TaskBoardDocument, updates: Mapping[str, CellUpdate]) -> str:
    """The document's text with the Status and Owner cells of ``updates`` rewritten
    (:func:`render_cells`)."""
    return render_cells(targets(document), updates)


def render_cells(board: CellTargets, updates: Mapping[str, CellUpdate]) -> str:
    """The board's text with the Status and Owner cells of ``updates`` rewritten.

    A cell that already says what the update says, however it is written (``✅ Done`` for
    COMPLETED, ``@session-1-ndi``), keeps its bytes; a changed cell keeps its width when the new
    text fits, so the table stays aligned. Unknown task ids and tables without those columns
    are left alone (the board may know tasks the file does not list). The text is cut only
    where a cell changes: a board of thousands of rows is not split into lines to change a few.
    """
    text = board.text
    edits: list[tuple[int, int, str]] = []  # [start, end) of a cell in the text, its content
    for task_id, update in updates.items():
        where = board.cells.get(task_id)
        if where is None:
            continue
        line = where.line_start
        if (where.owner != update.owner or where.owner_unread) and where.owner_start >= 0:
            owner = update.owner or NO_OWNER
            edits.append((line + where.owner_start, line + where.owner_end, owner))
        status_changed = (where.status, where.shown_stale) != (update.status, update.stale)
        if (status_changed or where.status_unread) and where.status_start >= 0:
            edits.append((line + where.status_start, line + where.status_end, update.badge()))
    pieces, done = [], 0
    for start, end, content in sorted(edits):
        if text[start:end].strip() == content:
            continue  # says it already, however it is padded
        cell = f" {content} "
        pieces += [text[done:start], cell.ljust(end - start)]
        done = end
    if not pieces:
        return text
    pieces.append(text[done:])
    return "".join(pieces)
