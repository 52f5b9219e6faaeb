"""The board's state: what every node folds the events into, as frozen values.

This module owns the *shape* of the shared state and nothing else: the reducer
(:mod:`ifmesh.node.board.reducer`) builds it, the lifecycle table
(:mod:`ifmesh.node.board.lifecycle`) says
how a task's status may change, :mod:`ifmesh.node.board.canonical` turns it into comparable bytes.

Only folded facts live here. STALE is a judgement (:func:`lease_expired`), never a stored
status; liveness, RTT and last-seen belong to the mesh's presence view.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import Any, TypeVar

DEFAULT_LEASE = timedelta(minutes=15)
# The incarnation of events derived from a STATUS file in git (a session without a node).
SEED_INCARNATION_PREFIX = "git:"
DEFAULT_CONTEST_WINDOW = timedelta(milliseconds=50)


@dataclass(frozen=True, slots=True)
class BoardConfig:
    """Parameters every node of a room must share, since the fold depends on them."""

    lease: timedelta = DEFAULT_LEASE
    # How long a provisional winner waits for competing claims before writing its confirm
    # record (above the mesh's p99 delivery time). Node-side only; the fold never reads it.
    contest_window: timedelta = DEFAULT_CONTEST_WINDOW


class TaskStatus(enum.Enum):
    AVAILABLE = "AVAILABLE"
    CLAIMED = "CLAIMED"
    COMPLETED = "COMPLETED"
    BLOCKED = "BLOCKED"


class TaskKind(enum.Enum):
    PRIMARY = "primary"  # a row of the main table of PHASE-0-TASK-BOARD.md
    FILLER = "filler"  # a row of the filler table: no owner column, never blocked


@dataclass(frozen=True, slots=True)
class Waiter:
    """A session in a task's claim queue: its urgency and when it joined (its event's time)."""

    session_id: str
    urgency: str
    queued_at: datetime


@dataclass(frozen=True, slots=True)
class ReleaseAsk:
    """``asker`` asked the holder to release the task: unanswered by ``grace_until``, the
    holder's lease has run out (STALE)."""

    asker: str
    reason: str
    asked_at: datetime
    grace_until: datetime


@dataclass(frozen=True, slots=True)
class Reservation:
    """``session_id`` reserves what ``pattern`` (gitignore-style, from the repository's root)
    matches, for ``task_id`` at ``epoch``, until ``expires_at``; in force only while it still
    holds that task at that epoch (:mod:`ifmesh.node.board.reservations`). ``witnesses``: the
    tracked paths it matches, as its event carries them; ``broad``: it matched more of them
    than an event carries (overlap is then judged by its directory)."""

    session_id: str
    task_id: str
    epoch: int
    pattern: str
    exclusive: bool
    reserved_at: datetime
    expires_at: datetime
    witnesses: tuple[str, ...] = ()
    broad: bool = False


ReservationKey = tuple[str, str, str]  # (session, task, pattern)


@dataclass(frozen=True)
class Task:
    """One task as every node sees it after the fold.

    ``owner`` stays set on a COMPLETED task (the board shows who did it). ``confirmed`` is
    False while the claim is only the mesh's provisional winner and True once the git tier
    (first confirm record per task and epoch) has named the same owner.
    """

    task_id: str
    title: str = ""
    status: TaskStatus = TaskStatus.AVAILABLE
    owner: str | None = None
    epoch: int = 0
    owner_last_event_at: datetime | None = None
    percent: int = 0
    milestone: str = ""
    dependencies: tuple[str, ...] = ()
    # A dependency cell that names no task ("Waiting on legal review"): the task stays BLOCKED
    # until someone claims it with --force, on every node alike.
    manual_dependency: str = ""
    deliverable: str = ""
    estimate_hours: float | None = None
    model: str = ""
    task_type: str = "general"
    required_capabilities: tuple[str, ...] = ()
    confirmed: bool = False
    kind: TaskKind = TaskKind.PRIMARY
    claimed_at: datetime | None = None
    tests_pass: bool | None = None
    # A session without a node reported it completed without ever claiming it (they often
    # report only at the end): COMPLETED all the same, and `ifmesh status` says so.
    completed_without_claim: bool = False
    # The claim queue (node/board/queues.py): while the task is held, in the order of joining;
    # from the event that frees it, in turn order. ``turn_since``: when the first waiter's turn
    # to claim the free task began. ``ask``: an open request-release, while held.
    queue: tuple[Waiter, ...] = ()
    turn_since: datetime | None = None
    ask: ReleaseAsk | None = None

    @property
    def held(self) -> bool:
        """Whether someone holds the task now (claimed, or blocked while claimed)."""
        status = self.status
        held = status is TaskStatus.CLAIMED or status is TaskStatus.BLOCKED
        return held and self.owner is not None


@dataclass(frozen=True)
class Session:
    """A session as the fold knows it: from its registration and its own events.

    ``status_timestamp`` is the latest timestamp of any event the session emitted (for a
    session without a node, its STATUS file's timestamp, carried by the bridge's events).
    ``node``: a node registered it (not only its STATUS file): a member of the room while its
    last event is within the lease (see :mod:`ifmesh.node.board.membership`).
    """

    session_id: str
    capabilities: tuple[str, ...] = ()
    current_task: str | None = None
    status_timestamp: datetime | None = None
    model: str = ""
    node: bool = False


@dataclass(frozen=True, slots=True)
class BlockerRecord:
    """A session waiting: on tasks (``waiting`` are those not yet COMPLETED), and/or on
    something described in free text that needs ``required_capabilities``."""

    session_id: str
    task_id: str
    blocked_on: tuple[str, ...]
    waiting: tuple[str, ...]
    blocker_type: str = "dependency"
    required_capabilities: tuple[str, ...] = ()
    description: str = ""
    urgency: str = "medium"
    detected_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class HelpOfferRecord:
    helper: str
    capabilities: tuple[str, ...] = ()
    estimated_cost: float = 0.0
    message: str = ""


@dataclass(frozen=True, slots=True)
class HelpRecord:
    """A help request, the helpers the governor chose for it, and what came of it."""

    request_id: str
    requester: str
    task_id: str
    required_capabilities: tuple[str, ...]
    deadline: datetime
    requested_at: datetime
    description: str = ""
    urgency: str = "medium"
    max_helpers: int = 3
    helpers: tuple[str, ...] = ()
    offers: tuple[HelpOfferRecord, ...] = ()
    escalated: bool = False

    @property
    def answered(self) -> bool:
        return bool(self.offers)


_Evolvable = TypeVar("_Evolvable", Task, Session)
_FIELDS: dict[type, frozenset[str]] = {}


def evolve(value: _Evolvable, **changes: Any) -> _Evolvable:
    """``dataclasses.replace`` for :class:`Task` and :class:`Session`, about 20x faster.

    The fold replaces a task or session on almost every event; ``replace`` re-runs
    ``__init__`` with every field, this copies the instance dictionary. Unknown field names
    are refused as ``replace`` would."""
    cls = type(value)
    names = _FIELDS.get(cls)
    if names is None:
        names = _FIELDS[cls] = frozenset(f.name for f in fields(cls))
    if not names.issuperset(changes):
        raise TypeError(f"{cls.__name__} has no field(s) {sorted(set(changes) - names)}")
    new = object.__new__(cls)
    object.__setattr__(new, "__dict__", {**value.__dict__, **changes})
    return new


def _empty() -> Mapping[Any, Any]:
    return MappingProxyType({})


@dataclass(frozen=True, slots=True)
class Board:
    """The whole folded state. ``governor`` is the governor's own part (see
    :mod:`ifmesh.node.board.governance`), folded by the same reducer; ``folded`` counts events."""

    tasks: Mapping[str, Task] = field(default_factory=_empty)
    sessions: Mapping[str, Session] = field(default_factory=_empty)
    blockers: Mapping[tuple[str, str], BlockerRecord] = field(default_factory=_empty)
    help_requests: Mapping[str, HelpRecord] = field(default_factory=_empty)
    governor: Any = None
    folded: int = 0
    reservations: Mapping[ReservationKey, Reservation] = field(default_factory=_empty)

    def task(self, task_id: str) -> Task | None:
        return self.tasks.get(task_id)

    def held_by(self, session_id: str) -> tuple[Task, ...]:
        """Tasks ``session_id`` holds, in task-id order."""
        return tuple(t for _, t in sorted(self.tasks.items()) if t.owner == session_id and t.held)

    def dependencies_done(self, task: Task) -> bool:
        return not task.manual_dependency and all(
            (dep := self.tasks.get(d)) is not None and dep.status is TaskStatus.COMPLETED
            for d in task.dependencies
        )

    def waiting_on(self, session_id: str) -> tuple[BlockerRecord, ...]:
        return tuple(b for key, b in sorted(self.blockers.items()) if key[0] == session_id)


def lease_expired(task: Task, at: datetime, lease: timedelta = DEFAULT_LEASE) -> bool:
    """STALE, judged at ``at``: the task is held and its owner's last event is older than the
    lease, or the grace of an unanswered ask-release has ended. An owner never heard from (a
    seed board's claim with no STATUS) is stale."""
    if not task.held:
        return False
    if task.ask is not None and at >= task.ask.grace_until:
        return True  # asked to release, no answer within the grace
    if task.owner_last_event_at is None:
        return True
    return at - task.owner_last_event_at >= lease
