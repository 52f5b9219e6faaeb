"""Effects: what the fold tells the world after an event, beyond the new state.

An effect names the session that should hear about it (``session``; ``None`` means everyone)
and the event that caused it (``cause``, the message id), so a node that re-folds after a late
arrival can drop the effects it already delivered: effects are values, equal when they say the
same thing about the same event.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Effect:
    cause: str
    session: str | None


@dataclass(frozen=True, slots=True)
class Rejected(Effect):
    """The fold refused an event: a no-op on every node alike."""

    event_type: str
    task_id: str
    code: str
    reason: str


@dataclass(frozen=True, slots=True)
class Lost(Effect):
    """``session``'s claim or steal lost: on the mesh (``tier="mesh"``, a lower
    (lamport, source) won) or in git (``tier="git"``, the first confirm record names another)."""

    task_id: str
    epoch: int
    winner: str
    tier: str


@dataclass(frozen=True, slots=True)
class Fenced(Effect):
    """``session`` no longer holds the task: it was stolen after its lease expired."""

    task_id: str
    epoch: int
    by: str


@dataclass(frozen=True, slots=True)
class Confirmed(Effect):
    task_id: str
    epoch: int


@dataclass(frozen=True, slots=True)
class Unblocked(Effect):
    """Everything ``session`` waited on for ``task_id`` is COMPLETED (wake it: ``ifmesh wait``)."""

    task_id: str
    dependencies: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Available(Effect):
    """A task nobody holds became claimable: its last dependency completed."""

    task_id: str


@dataclass(frozen=True, slots=True)
class HelpWanted(Effect):
    """``session`` was chosen to help ``requester`` with ``task_id``."""

    request_id: str
    task_id: str
    requester: str


@dataclass(frozen=True, slots=True)
class HelpOffered(Effect):
    request_id: str
    task_id: str
    helper: str


@dataclass(frozen=True, slots=True)
class Escalated(Effect):
    request_id: str
    task_id: str
    requester: str


@dataclass(frozen=True, slots=True)
class Assigned(Effect):
    """``session`` holds ``task_id`` at ``epoch``, taken over from ``previous_owner``, and git
    has confirmed it: tell the agent it owns this work now."""

    task_id: str
    epoch: int
    previous_owner: str


@dataclass(frozen=True, slots=True)
class QueueTurn(Effect):
    """It is ``session``'s turn to take ``task_id`` (free at ``epoch``, or held past an
    unanswered ask or its lease): its node claims it for it now (docs/claims.md)."""

    task_id: str
    epoch: int


@dataclass(frozen=True, slots=True)
class Unqueued(Effect):
    """``session`` is no longer in ``task_id``'s claim queue, for the reason ``why``: the task
    was completed, or its turn lapsed unclaimed."""

    task_id: str
    why: str


@dataclass(frozen=True, slots=True)
class ReleaseAsked(Effect):
    """``session``, the holder, is asked by ``asker`` to release ``task_id``: answer with
    ``ifmesh release`` or ``ifmesh keep`` before ``grace_until``, when the task goes STALE."""

    task_id: str
    epoch: int
    asker: str
    reason: str
    grace_until: datetime


@dataclass(frozen=True, slots=True)
class ReleaseKept(Effect):
    """``session``, who asked, hears that ``holder`` keeps ``task_id`` (its lease restored)."""

    task_id: str
    epoch: int
    holder: str
    reason: str
