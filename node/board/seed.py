"""The board a room starts from: the task board file, the optional task overlay, and the
sessions' STATUS files, as found on the coordination branch.

Every node must start from the same seed (the runtime reads it from git), since the fold of
the same events over different seeds gives different boards.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from types import MappingProxyType

from ifmesh.node.board.formats.overlay import TaskOverlay
from ifmesh.node.board.formats.status import StatusFile
from ifmesh.node.board.formats.taskboard import TaskBoardDocument, TaskRow
from ifmesh.node.board.lifecycle import settle
from ifmesh.node.board.state import Board, Session, Task, TaskKind, TaskStatus


def _task(row: TaskRow, document: TaskBoardDocument, overlay: TaskOverlay | None) -> Task:
    section = document.sections.get(row.task_id)
    task = Task(
        task_id=row.task_id,
        title=row.title,
        status=row.status,
        owner=row.owner if row.status is not TaskStatus.AVAILABLE else None,
        dependencies=row.dependencies,
        manual_dependency=row.manual_dependency,
        deliverable=row.deliverable,
        estimate_hours=row.estimate_hours,
        model=row.model,
        kind=row.kind,
        # A claim the board file shows was confirmed in git: the file renders confirmed state.
        confirmed=row.owner is not None,
    )
    if section is not None:
        task = replace(
            task,
            task_type=section.task_type or task.task_type,
            required_capabilities=section.required_capabilities or task.required_capabilities,
            model=section.model or task.model,
        )
    if overlay is not None:
        task = replace(
            task,
            task_type=overlay.task_type or task.task_type,
            required_capabilities=overlay.required_capabilities or task.required_capabilities,
            model=overlay.model or task.model,
            estimate_hours=overlay.estimate_hours or task.estimate_hours,
            title=overlay.title or task.title,
        )
    if task.status is TaskStatus.COMPLETED:
        return replace(task, percent=100)
    return task


def seed_board(
    document: TaskBoardDocument,
    overlay: Mapping[str, TaskOverlay] | None = None,
    statuses: Mapping[str, StatusFile] | None = None,
) -> Board:
    """The initial board. Unowned tasks are AVAILABLE or BLOCKED by their dependencies
    (whatever the file says); an owned CLAIMED/BLOCKED row is held, with the owner's STATUS
    timestamp as its last event (none: the claim is stale at once)."""
    overlay = overlay or {}
    statuses = statuses or {}
    tasks = {
        row.task_id: _task(row, document, overlay.get(row.task_id)) for row in document.all_rows()
    }
    done = {t for t, task in tasks.items() if task.status is TaskStatus.COMPLETED}
    for task_id, task in tasks.items():
        if task.status is TaskStatus.COMPLETED:
            continue
        if task.owner is None or task.kind is TaskKind.FILLER:
            ready = not task.manual_dependency and all(d in done for d in task.dependencies)
            tasks[task_id] = replace(task, owner=None, confirmed=False, status=settle(ready))
            continue
        status = statuses.get(task.owner)
        seen = status.last_seen if status is not None else None
        tasks[task_id] = replace(task, owner_last_event_at=seen, claimed_at=seen)
    sessions = {
        session_id: Session(
            session_id,
            current_task=status.task if status.completed != status.task else None,
            status_timestamp=status.last_seen,
        )
        for session_id, status in statuses.items()
    }
    return Board(tasks=MappingProxyType(tasks), sessions=MappingProxyType(sessions))
