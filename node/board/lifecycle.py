"""The task lifecycle, as data (the h11 ``_state.py`` way).

Everything that changes a task's status lives in :data:`TRANSITIONS`: for a task's
(status, held) pair, which triggers are allowed and the status they lead to. The reducer asks
:func:`next_status` and refuses what the table does not list; it never writes a status by hand.

Theory of operation: a task nobody holds is AVAILABLE when every dependency is COMPLETED and
BLOCKED otherwise (:func:`settle`); a claim or a git confirmation makes it CLAIMED; the holder
moves it with progress, a blocker (BLOCKED while still held) and its resolution, and ends it
with complete (COMPLETED, terminal), fail or release (nobody holds it, epoch + 1). A steal
hands a held task to another session at epoch + 1.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping

from ifmesh.node.board.state import TaskStatus

AVAILABLE, CLAIMED, COMPLETED, BLOCKED = (
    TaskStatus.AVAILABLE,
    TaskStatus.CLAIMED,
    TaskStatus.COMPLETED,
    TaskStatus.BLOCKED,
)


class Trigger(enum.Enum):
    CLAIM = "claim"
    STEAL = "steal"
    PROGRESS = "progress"
    COMPLETE = "complete"
    FAIL = "fail"
    RELEASE = "release"
    BLOCK = "block"
    UNBLOCK = "unblock"
    DEPENDENCIES_DONE = "dependencies_done"
    CONFIRM = "confirm"


T = Trigger
HELD, FREE = True, False

TRANSITIONS: Mapping[tuple[TaskStatus, bool], Mapping[Trigger, TaskStatus]] = {
    (AVAILABLE, FREE): {T.CLAIM: CLAIMED, T.CONFIRM: CLAIMED},
    (BLOCKED, FREE): {T.CLAIM: CLAIMED, T.CONFIRM: CLAIMED, T.DEPENDENCIES_DONE: AVAILABLE},
    (CLAIMED, HELD): {
        T.PROGRESS: CLAIMED,
        T.COMPLETE: COMPLETED,
        T.FAIL: AVAILABLE,
        T.RELEASE: AVAILABLE,
        T.STEAL: CLAIMED,
        T.BLOCK: BLOCKED,
        T.UNBLOCK: CLAIMED,
        T.CONFIRM: CLAIMED,
    },
    (BLOCKED, HELD): {
        T.PROGRESS: BLOCKED,
        T.COMPLETE: COMPLETED,
        T.FAIL: AVAILABLE,
        T.RELEASE: AVAILABLE,
        T.STEAL: CLAIMED,
        T.BLOCK: BLOCKED,
        T.UNBLOCK: CLAIMED,
        T.CONFIRM: BLOCKED,
    },
    (COMPLETED, HELD): {T.CONFIRM: COMPLETED},
    (COMPLETED, FREE): {},
}

# Triggers that end the holder's tenure: the epoch moves on so its late events are fenced.
NEW_EPOCH = frozenset({T.FAIL, T.RELEASE, T.STEAL})
# Triggers only the holder may send, carrying the current epoch.
HOLDER_ONLY = frozenset({T.PROGRESS, T.COMPLETE, T.FAIL, T.RELEASE})
# Where a task ends up with nobody holding it; settle() decides AVAILABLE or BLOCKED.
FREED = frozenset({T.FAIL, T.RELEASE})


def next_status(status: TaskStatus, held: bool, trigger: Trigger) -> TaskStatus | None:
    """The status ``trigger`` leads to, or None when the table does not allow it."""
    return TRANSITIONS.get((status, held), {}).get(trigger)


def settle(dependencies_done: bool) -> TaskStatus:
    """The status of a task nobody holds and nobody completed."""
    return AVAILABLE if dependencies_done else BLOCKED
