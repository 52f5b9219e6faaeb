"""A task's claim queue: who is next, and when each waiter's turn comes. Pure functions.

The problem. When a held task frees, every session that wanted it would claim at once and
all but one would lose; worse, which one wins says nothing about who waited longest or whose
need is most urgent. So the queue is part of the fold: every node computes the same order and
the same turn from the same events, and only the waiter whose turn it is claims.

Order: urgency with aging. At time ``T`` a waiter's rank is

    rank = WEIGHTS[urgency] + (T - queued_at) / AGING        (low 0, medium 1, high 2,
                                                              critical 3; AGING = 30 min)

highest rank first, then the earlier ``queued_at``, then the lower session id. Waiting half an
hour is worth one step of urgency, so a ``low`` waiter that has waited two hours goes before a
``critical`` one that has just joined. ``T`` is the timestamp of the event that frees the task
(a release, a failure, the completion of its last dependency, or a steal), so every node
computes the same order; ranks are compared in whole microseconds, never as floats. Since all
waiters age alike, two that were both waiting at ``T`` keep their order whatever ``T`` is:
each urgency step is worth joining 30 minutes earlier, and a place never slips while waiting.

Turns. From that event (``Task.turn_since``) the first waiter alone may claim, for one lease;
if it has not claimed by then (its node is gone, say), the turn passes to the next, one lease
each, and once every turn has lapsed anyone may claim. Lapsed waiters leave the queue the next
time the queue changes. While a turn is open, any other claim is refused (``not_queue_head``)
unless forced. A steal of a held task is a freeing event too: only the first in order at the
steal's timestamp may steal it. Completing the task ends its queue.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from ifmesh.node.board.state import ReleaseAsk, Task, TaskStatus, Waiter, evolve

WEIGHTS = {"low": 0, "medium": 1, "high": 2, "critical": 3}
AGING = timedelta(minutes=30)
_MICROSECOND = timedelta(microseconds=1)


def _score(waiter: Waiter, at: datetime) -> int:
    """The rank in microseconds of waiting: ``rank * AGING`` exactly."""
    waited = max(timedelta(0), at - waiter.queued_at)
    return WEIGHTS.get(waiter.urgency, 1) * (AGING // _MICROSECOND) + waited // _MICROSECOND


def rank(waiter: Waiter, at: datetime) -> float:
    """The rank as a number, for people (``ifmesh board``); the order uses :func:`_score`."""
    return _score(waiter, at) / (AGING // _MICROSECOND)


def ordered(queue: tuple[Waiter, ...], at: datetime) -> tuple[Waiter, ...]:
    return tuple(sorted(queue, key=lambda w: (-_score(w, at), w.queued_at, w.session_id)))


def takes_turns(task: Task) -> bool:
    """Whether the task is free and claimable, so its queue takes turns."""
    return (
        not task.held
        and task.status is TaskStatus.AVAILABLE
        and bool(task.queue)
        and task.turn_since is not None
    )


def turn_index(task: Task, at: datetime, lease: timedelta) -> int | None:
    """Which waiter of ``task.queue`` has the turn at ``at`` (may be past the end: every
    turn lapsed); None while the queue takes no turns (held, not AVAILABLE, empty)."""
    if not takes_turns(task):
        return None
    assert task.turn_since is not None
    return max(0, (at - task.turn_since) // lease)


def turn(task: Task, at: datetime, lease: timedelta) -> str | None:
    """The session whose turn it is to claim the free ``task`` at ``at``; None: anyone may."""
    index = turn_index(task, at, lease)
    if index is None or index >= len(task.queue):
        return None
    return task.queue[index].session_id


def in_order(task: Task, at: datetime, lease: timedelta) -> tuple[Waiter, ...]:
    """The waiters as they stand at ``at``: in turn order from the one whose turn it is (a
    free task), else as they would be ordered if the task freed at ``at``."""
    index = turn_index(task, at, lease)
    if index is not None:
        return task.queue[index:]
    return ordered(task.queue, at)


def first_in_line(task: Task, at: datetime, lease: timedelta) -> str | None:
    """Who may take ``task`` next at ``at`` (a claim, or the steal of a held task); None when
    the queue puts no one first."""
    if task.held:
        return ordered(task.queue, at)[0].session_id if task.queue else None
    return turn(task, at, lease)


def refused_for(task: Task, session: str, at: datetime, lease: timedelta) -> str | None:
    """The waiter ``session``'s unforced claim (or steal) of ``task`` at ``at`` must yield to,
    or None when the queue allows it."""
    first = first_in_line(task, at, lease)
    return first if first is not None and first != session else None


def position(task: Task, session: str, at: datetime, lease: timedelta) -> int | None:
    """``session``'s 1-based place in :func:`in_order`, or None when it is not waiting."""
    for place, waiter in enumerate(in_order(task, at, lease), start=1):
        if waiter.session_id == session:
            return place
    return None


def ask_lapsed(task: Task, session: str, at: datetime) -> bool:
    """An ask-release on ``task`` went unanswered past its grace, and ``session`` is not its
    holder: the task may be stolen (the queue still decides by whom)."""
    ask = task.ask
    return task.held and task.owner != session and ask is not None and at >= ask.grace_until


# --- what events do to a queue (the reducer commits these) ------------------------------------


def advance(task: Task, at: datetime, lease: timedelta) -> tuple[Task, tuple[str, ...]]:
    """Drops the waiters whose turn lapsed before ``at``; returns them too."""
    index = turn_index(task, at, lease)
    if not index:
        return task, ()
    assert task.turn_since is not None
    lapsed = tuple(w.session_id for w in task.queue[:index])
    rest = task.queue[index:]
    since = task.turn_since + lease * index if rest else None
    return evolve(task, queue=rest, turn_since=since), lapsed


def on_take(
    task: Task, owner: str, at: datetime, lease: timedelta
) -> tuple[dict[str, Any], tuple[str, ...]]:
    """The fields that change when ``owner`` takes ``task`` (it leaves the queue, no turn
    runs while it holds the task, any ask is over), and the waiters whose turn had lapsed."""
    kept, lapsed = advance(task, at, lease)
    queue = tuple(w for w in kept.queue if w.session_id != owner)
    return {"queue": queue, "turn_since": None, "ask": None}, lapsed


def on_free(task: Task, at: datetime) -> tuple[Task, str | None]:
    """``task`` (already updated by the freeing event at ``at``) in turn order, its first
    waiter's turn starting at ``at`` when it is claimable; returns that waiter too."""
    if task.status is not TaskStatus.AVAILABLE or not task.queue:
        return evolve(task, turn_since=None, ask=None), None
    queue = ordered(task.queue, at)
    return evolve(task, queue=queue, turn_since=at, ask=None), queue[0].session_id


def join(
    task: Task, session: str, urgency: str, at: datetime, lease: timedelta
) -> tuple[Task, tuple[str, ...]]:
    """``session`` joins (or changes its urgency: its place in time stays); returns the task
    and the waiters whose turn had lapsed."""
    task, lapsed = advance(task, at, lease)
    queue = task.queue
    for i, waiter in enumerate(queue):
        if waiter.session_id == session:
            changed = (*queue[:i], replace(waiter, urgency=urgency), *queue[i + 1 :])
            return evolve(task, queue=changed), lapsed
    queue = (*queue, Waiter(session, urgency, at))
    starts = not task.held and task.status is TaskStatus.AVAILABLE and len(queue) == 1
    return evolve(task, queue=queue, turn_since=at if starts else task.turn_since), lapsed


def leave(task: Task, session: str, at: datetime, lease: timedelta) -> tuple[Task, tuple[str, ...]]:
    """``session`` leaves; if it had the turn, the next waiter's turn starts at ``at``."""
    task, lapsed = advance(task, at, lease)
    queue = tuple(w for w in task.queue if w.session_id != session)
    had_turn = takes_turns(task) and task.queue[0].session_id == session
    since = (at if had_turn else task.turn_since) if queue and task.turn_since else None
    return evolve(task, queue=queue, turn_since=since), lapsed


def asked(task: Task, asker: str, reason: str, at: datetime, grace: timedelta) -> Task:
    return evolve(task, ask=ReleaseAsk(asker, reason, at, at + grace))
