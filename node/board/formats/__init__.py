"""The seed's file formats: ``PHASE-0-TASK-BOARD.md``, ``STATUS-SESSION-*.yaml`` and the
optional ``.ifmesh/tasks.yaml`` overlay. Pure text in, typed values out (and back): no git,
no file system access beyond what a caller hands in as text."""

from ifmesh.node.board.formats.cellrender import render_task_board
from ifmesh.node.board.formats.overlay import TaskOverlay, parse_overlay
from ifmesh.node.board.formats.status import (
    StatusFile,
    load_status_files,
    parse_status,
    render_status,
)
from ifmesh.node.board.formats.taskboard import (
    CellUpdate,
    TaskBoardDocument,
    TaskRow,
    TaskSection,
    parse_task_board,
)
from ifmesh.node.board.formats.translate import status_payloads

__all__ = [
    "CellUpdate",
    "StatusFile",
    "TaskBoardDocument",
    "TaskOverlay",
    "TaskRow",
    "TaskSection",
    "load_status_files",
    "parse_overlay",
    "parse_status",
    "parse_task_board",
    "render_status",
    "render_task_board",
    "status_payloads",
]
