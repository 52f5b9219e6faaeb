"""Rendering Status and Owner cells back into a task board, surgically: only the cells of the
rows that changed are rewritten, keeping every other byte (padding too, when the new text fits).

A render needs only the board's text and, per task, its :class:`TaskCells` (where the two cells
are and what they say): :class:`CellTargets`. The scribe keeps those between renders instead of
the whole document as read, since the file changes far less often than the scribe renders
(node/gitsync/scribing.py). On a 20,000-row board: 4.4 MB and the file's 1.6 MB of bytes (a
text with an emoji is 4 bytes a character as a ``str``, so the text is kept as its UTF-8), against
17.6 MB for the document as read with its text (tracemalloc). When the file changes because
the scribe wrote it, :class:`Rendered` tells the new targets without reading the file again.
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Mapping
from dataclasses import dataclass, replace

from ifmesh.node.board.formats import cells as read_cell
from ifmesh.node.board.formats.taskboard import (
    NO_OWNER,
    CellUpdate,
    TaskBoardDocument,
    TaskCells,
    parse_task_board,
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
    return render(board, updates).text


# (task id, "status" or "owner", the cell's new content, its end in the old text, its growth)
_Rewrite = tuple[str, str, str, int, int]


@dataclass(frozen=True, slots=True)
class Rendered:
    """A render's text, and what reading that text would give (:meth:`targets`), known
    without reading it: only the rewritten cells are read, and the cells after one that grew
    move. The scribe read every board it had just written once its commit landed: on the
    soak's 20,000 rows, 0.55 s and 50 MB at the peak after each of its commits."""

    text: str
    board: CellTargets  # what was rendered into
    rewritten: tuple[_Rewrite, ...]
    # Every rewritten cell ended at a pipe. A row's last cell without one ends where its text
    # does, trailing blanks left out, so its padding changes where it ends: read the text then.
    closed: bool = True

    def targets(self, data: bytes | None = None) -> CellTargets:
        """``targets(parse_task_board(self.text))``; ``data``: the text as UTF-8, if held."""
        board = self.board
        if not self.rewritten:
            return board
        if not self.closed:
            return targets(parse_task_board(self.text), data)
        cells = dict(board.cells)
        for task_id, column, content, _, _ in self.rewritten:
            where = cells[task_id]
            if column == "status":
                status, stale, problem = read_cell.status(content)
                unread = problem is not None and problem.startswith("status ")
                where = replace(where, status=status, shown_stale=stale, status_unread=unread)
            else:
                owner, problem = read_cell.owner(content)
                unread = problem is not None and problem.startswith("owner ")
                where = replace(where, owner=owner, owner_unread=unread)
            cells[task_id] = where
        grown = [(end, by) for *_, end, by in self.rewritten if by]  # in order: cells don't overlap
        if grown:
            ends = [end for end, _ in grown]
            shifts = list(itertools.accumulate(by for _, by in grown))
            cells = {task_id: _moved(where, ends, shifts) for task_id, where in cells.items()}
        if data is None:
            data = self.text.encode("utf-8", "surrogatepass")
        return CellTargets(data, board.has_rows, cells)


def _edits(
    board: CellTargets, updates: Mapping[str, CellUpdate]
) -> list[tuple[int, int, str, str, str]]:
    """[start, end) of each cell to write in the text, its content, its task and column."""
    edits = []
    for task_id, update in updates.items():
        where = board.cells.get(task_id)
        if where is None:
            continue
        line = where.line_start
        if (where.owner != update.owner or where.owner_unread) and where.owner_start >= 0:
            owner = update.owner or NO_OWNER
            edits.append(
                (line + where.owner_start, line + where.owner_end, owner, task_id, "owner")
            )
        status_changed = (where.status, where.shown_stale) != (update.status, update.stale)
        if (status_changed or where.status_unread) and where.status_start >= 0:
            start, end = line + where.status_start, line + where.status_end
            edits.append((start, end, update.badge(), task_id, "status"))
    return sorted(edits)


def render(board: CellTargets, updates: Mapping[str, CellUpdate]) -> Rendered:
    """:func:`render_cells`, keeping what :meth:`Rendered.targets` needs."""
    text = board.text
    pieces, done, rewritten, closed = [], 0, [], True
    for start, end, content, task_id, column in _edits(board, updates):
        if text[start:end].strip() == content:
            continue  # says it already, however it is padded
        cell = f" {content} ".ljust(end - start)
        pieces += [text[done:start], cell]
        done = end
        rewritten.append((task_id, column, content, end, len(cell) - (end - start)))
        closed = closed and text[end : end + 1] == "|"
    if not pieces:
        return Rendered(text, board, ())
    pieces.append(text[done:])
    return Rendered("".join(pieces), board, tuple(rewritten), closed)


def _moved(where: TaskCells, ends: list[int], shifts: list[int]) -> TaskCells:
    """``where`` with its positions as they are once the cells ending at ``ends`` (in the old
    text, ascending) have grown, ``shifts`` being the growth up to and including each."""
    line = where.line_start
    if ends[0] > line + max(0, where.status_end, where.owner_end):
        return where  # nothing before it, nor in its row, grew

    def at(position: int, *, is_end: bool = False) -> int:  # an old text's position, in the new
        # A cell grows at its end: its end moves, and all after it; an empty cell's start, at
        # the same place, does not (nor does the next cell's start, past a pipe anyway).
        find = bisect.bisect_right if is_end else bisect.bisect_left
        before = find(ends, position)
        return position + (shifts[before - 1] if before else 0)

    new_line = at(line)

    def relative(offset: int, *, is_end: bool = False) -> int:
        return -1 if offset < 0 else at(line + offset, is_end=is_end) - new_line

    return TaskCells(
        new_line,
        relative(where.status_start),
        relative(where.status_end, is_end=True),
        relative(where.owner_start),
        relative(where.owner_end, is_end=True),
        where.status,
        where.shown_stale,
        where.owner,
        where.status_unread,
        where.owner_unread,
    )
