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
from collections.abc import Mapping
from collections.abc import Set as AbstractSet
from types import MappingProxyType
from typing import Any

from ifmesh.node.board.state import (
    BlockerRecord,
    Board,
    HelpRecord,
    Reservation,
    ReservationKey,
    Session,
    Task,
)

Indexes = tuple[
    Mapping[str, AbstractSet[str]],
    defaultdict[str, set[str]],
    Mapping[str, AbstractSet[tuple[str, str]]],
    Mapping[str, AbstractSet[str]],
]
Checkpoint = tuple[Board, Indexes]


class FoldState:
    __slots__ = (
        "_own_dependents",
        "_proxies",
        "blockers",
        "changed",
        "dependents",
        "folded",
        "governor",
        "help_requests",
        "holdings",
        "queued",
        "reservations",
        "sessions",
        "tasks",
        "waiters",
    )

    def __init__(
        self,
        board: Board,
        indexes: Indexes | None = None,
        base: Mapping[str, Task] | None = None,
    ) -> None:
        # The tasks put since the board this state began from (restored from a checkpoint:
        # since the board that checkpoint was made against), in the order first put (a new
        # task's place among the others): what a checkpoint copies. None once a quarter of
        # the board has changed: checkpoints copy it whole from then on.
        self.changed: dict[str, None] | None = {}
        # ``base``: a checkpoint made against these tasks may hold only those put since.
        self.tasks: dict[str, Task]
        if base is None:
            self.tasks = dict(board.tasks)
        elif len(board.tasks) >= len(base):  # a whole copy
            self.tasks, self.changed = dict(board.tasks), None
        else:
            self.tasks, self.changed = {**base, **board.tasks}, dict.fromkeys(board.tasks)
        self.sessions: dict[str, Session] = dict(board.sessions)
        self.blockers: dict[tuple[str, str], BlockerRecord] = dict(board.blockers)
        self.help_requests: dict[str, HelpRecord] = dict(board.help_requests)
        self.reservations: dict[ReservationKey, Reservation] = dict(board.reservations)
        self.governor: Any = board.governor
        self.folded = board.folded
        self.holdings: defaultdict[str, set[str]] = defaultdict(set)
        self.dependents: defaultdict[str, set[str]] = defaultdict(set)
        self.waiters: defaultdict[str, set[tuple[str, str]]] = defaultdict(set)
        # session → the tasks in whose claim queue it waits: asked on every board change
        # (the node's timer), so no scan of every task (20,000 on a long day's board).
        self.queued: defaultdict[str, set[str]] = defaultdict(set)
        self._own_dependents = True
        if indexes is not None:  # restoring a checkpoint: no scan of every task
            holdings, dependents, waiters, queued = indexes
            self.holdings.update((k, set(v)) for k, v in holdings.items())
            self.waiters.update((k, set(v)) for k, v in waiters.items())
            self.queued.update((k, set(v)) for k, v in queued.items())
            # Dependencies change only when a task is announced: share until then.
            self.dependents, self._own_dependents = dependents, False
        else:
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
            MappingProxyType(self.reservations),
        )

    def _index_task(self, task: Task) -> None:
        if task.held and task.owner is not None:
            self.holdings[task.owner].add(task.task_id)
        for dep in task.dependencies:
            self.dependents[dep].add(task.task_id)
        for waiter in task.queue:
            self.queued[waiter.session_id].add(task.task_id)

    def view(self) -> Board:
        """The state as it is now, read-only; valid until the next change."""
        tasks, sessions, blockers, help_requests, reservations = self._proxies
        return Board(
            tasks, sessions, blockers, help_requests, self.governor, self.folded, reservations
        )

    def checkpoint(self) -> Checkpoint:
        """A snapshot with the indexes, so restoring it needs no scan of every task. Its board
        holds only the tasks put since the board this state began from (:attr:`changed`)
        while they are under a quarter of the board, to be restored over that board's tasks
        (``base``): tasks are never removed, and a full copy of a 20,000-task board is 0.4
        MB, of which a soak's node kept 8 or more with a few thousand tasks changed."""
        holdings = {k: frozenset(v) for k, v in self.holdings.items() if v}
        waiters = {k: frozenset(v) for k, v in self.waiters.items() if v}
        queued = {k: frozenset(v) for k, v in self.queued.items() if v}
        self._own_dependents = False  # the checkpoint shares it from now on
        changed = self.changed
        # Only while a few have changed: copying a whole dict is far cheaper per task than
        # picking tasks out of it, and small boards checkpoint every 8 events.
        if changed is not None and len(changed) * 4 >= len(self.tasks):
            changed = self.changed = None
        tasks = self.tasks if changed is None else {key: self.tasks[key] for key in changed}
        return self._frozen(tasks), (holdings, self.dependents, waiters, queued)

    def snapshot(self) -> Board:
        """An independent frozen copy."""
        return self._frozen(self.tasks)

    def _frozen(self, tasks: Mapping[str, Task]) -> Board:
        return Board(
            MappingProxyType(dict(tasks)),
            MappingProxyType(dict(self.sessions)),
            MappingProxyType(dict(self.blockers)),
            MappingProxyType(dict(self.help_requests)),
            self.governor,
            self.folded,
            MappingProxyType(dict(self.reservations)),
        )

    # --- writes that keep the indexes true ------------------------------------------------

    def put_task(self, task: Task) -> None:
        old = self.tasks.get(task.task_id)
        if old is not None and old.held and old.owner is not None:
            self.holdings[old.owner].discard(task.task_id)
        if old is None:
            if not self._own_dependents:
                self.dependents = defaultdict(set, {k: set(v) for k, v in self.dependents.items()})
                self._own_dependents = True
            for dep in task.dependencies:
                self.dependents[dep].add(task.task_id)
        if task.held and task.owner is not None:
            self.holdings[task.owner].add(task.task_id)
        if old is not None and old.queue != task.queue:
            for waiter in old.queue:
                self.queued[waiter.session_id].discard(task.task_id)
        if old is None or old.queue != task.queue:
            for waiter in task.queue:
                self.queued[waiter.session_id].add(task.task_id)
        self.tasks[task.task_id] = task
        if self.changed is not None:
            self.changed[task.task_id] = None

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
        if task.manual_dependency:
            return False
        tasks = self.tasks
        for dep in task.dependencies:
            found = tasks.get(dep)
            if found is None or found.status.value != "COMPLETED":
                return False
        return True
