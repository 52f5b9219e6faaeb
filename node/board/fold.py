"""The reducer's working state: mutable dictionaries behind a frozen :class:`Board` face.

Folding 10,000 events must not copy a 1,000-task board 10,000 times, so the reducer mutates
one :class:`FoldState` and hands out two kinds of boards: :meth:`FoldState.view`, a read-only
view valid during one call (what the governor sees, "the board before the event"), and
:meth:`FoldState.snapshot`, an independent frozen copy (checkpoints, and what callers keep).
The derived indexes (who holds what, who depends on what, who waits on what) are rebuilt from
a snapshot, never stored in it, so the canonical bytes hold only folded facts.
"""

from __future__ import annotations

from collections import defaultdict
from types import MappingProxyType
from typing import Any

from node.board.state import BlockerRecord, Board, HelpRecord, Session, Task


class FoldState:
    __slots__ = (
        "_proxies",
        "blockers",
        "dependents",
        "folded",
        "governor",
        "help_requests",
        "holdings",
        "sessions",
        "tasks",
        "waiters",
    )

    def __init__(self, board: Board) -> None:
        self.tasks: dict[str, Task] = dict(board.tasks)
        self.sessions: dict[str, Session] = dict(board.sessions)
        self.blockers: dict[tuple[str, str], BlockerRecord] = dict(board.blockers)
        self.help_requests: dict[str, HelpRecord] = dict(board.help_requests)
        self.governor: Any = board.governor
        self.folded = board.folded
        self.holdings: defaultdict[str, set[str]] = defaultdict(set)
        self.dependents: defaultdict[str, set[str]] = defaultdict(set)
        self.waiters: defaultdict[str, set[tuple[str, str]]] = defaultdict(set)
        for task in self.tasks.values():
            self._index_task(task)
        for key, blocker in self.blockers.items():
            for dep in blocker.waiting:
                self.waiters[dep].add(key)
        self._proxies = (
            MappingProxyType(self.tasks),
            MappingProxyType(self.sessions),
            MappingProxyType(self.blockers),
            MappingProxyType(self.help_requests),
        )

    def _index_task(self, task: Task) -> None:
        if task.held and task.owner is not None:
            self.holdings[task.owner].add(task.task_id)
        for dep in task.dependencies:
            self.dependents[dep].add(task.task_id)

    def view(self) -> Board:
        """The state as it is now, read-only; valid until the next change."""
        tasks, sessions, blockers, help_requests = self._proxies
        return Board(tasks, sessions, blockers, help_requests, self.governor, self.folded)

    def snapshot(self) -> Board:
        """An independent frozen copy."""
        return Board(
            MappingProxyType(dict(self.tasks)),
            MappingProxyType(dict(self.sessions)),
            MappingProxyType(dict(self.blockers)),
            MappingProxyType(dict(self.help_requests)),
            self.governor,
            self.folded,
        )

    # --- writes that keep the indexes true ------------------------------------------------

    def put_task(self, task: Task) -> None:
        old = self.tasks.get(task.task_id)
        if old is not None and old.held and old.owner is not None:
            self.holdings[old.owner].discard(task.task_id)
        if old is None:
            for dep in task.dependencies:
                self.dependents[dep].add(task.task_id)
        if task.held and task.owner is not None:
            self.holdings[task.owner].add(task.task_id)
        self.tasks[task.task_id] = task

    def put_blocker(self, blocker: BlockerRecord) -> None:
        key = (blocker.session_id, blocker.task_id)
        self.drop_blocker(key)
        self.blockers[key] = blocker
        for dep in blocker.waiting:
            self.waiters[dep].add(key)

    def drop_blocker(self, key: tuple[str, str]) -> BlockerRecord | None:
        old = self.blockers.pop(key, None)
        if old is not None:
            for dep in old.waiting:
                self.waiters[dep].discard(key)
        return old

    def dependencies_done(self, task: Task) -> bool:
        tasks = self.tasks
        for dep in task.dependencies:
            found = tasks.get(dep)
            if found is None or found.status.value != "COMPLETED":
                return False
        return True
