"""The board as the task board file shows it: git-confirmed holders only, STALE judged.

The scribe re-renders ``PHASE-0-TASK-BOARD.md`` from this (DESIGN.md, "Single writer per file
in git"): a claim still provisional on the mesh is not in git yet, so the file shows the task
as free; a confirmed claim whose owner's lease expired at ``at`` shows as ``🟠 STALE``.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from ifmesh.node.board.formats.cellrender import render_task_board
from ifmesh.node.board.formats.taskboard import CellUpdate, TaskBoardDocument
from ifmesh.node.board.lifecycle import settle
from ifmesh.node.board.state import DEFAULT_LEASE, Board, TaskStatus, lease_expired


def board_cells(
    board: Board, at: datetime, lease: timedelta = DEFAULT_LEASE
) -> dict[str, CellUpdate]:
    cells: dict[str, CellUpdate] = {}
    for task_id, task in board.tasks.items():
        if task.held and not task.confirmed:
            cells[task_id] = CellUpdate(settle(board.dependencies_done(task)), None)
        elif task.held:
            cells[task_id] = CellUpdate(task.status, task.owner, lease_expired(task, at, lease))
        elif task.status is TaskStatus.COMPLETED:
            cells[task_id] = CellUpdate(task.status, task.owner)
        else:
            cells[task_id] = CellUpdate(task.status, None)
    return cells


def render_board_file(
    document: TaskBoardDocument, board: Board, at: datetime, lease: timedelta = DEFAULT_LEASE
) -> str:
    """The board file's text with its Status and Owner cells taken from ``board``."""
    return render_task_board(document, board_cells(board, at, lease))
