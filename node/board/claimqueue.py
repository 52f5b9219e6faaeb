"""One node's side of the room's claim queues and release asks (``Replica.queues``).

The fold says whose turn it is (:mod:`ifmesh.node.board.queues`); only a node claims for its
own session, so each node looks at the turns of its session alone: :meth:`ClaimQueues.due`
hands out, once per (task, epoch), the tasks its session may take now — a free task whose turn
is its, or a held one it is first in line for whose holder's ask-release grace ran out (or,
unless the room says ``takeover: never``, whose absent holder's lease did) — and tells the
agent with a :class:`~ifmesh.node.board.effects.QueueTurn` effect. The node then claims each
through the ordinary claim path (:meth:`Replica.claim`, a steal for a held one).
:meth:`ClaimQueues.deadline` is when that next becomes worth asking, for the replica's timer.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from ifmesh.node.board import queue_commands, queues
from ifmesh.node.board.effects import QueueTurn
from ifmesh.node.board.state import Task
from ifmesh.node.protocol import messages as m
from ifmesh.node.protocol.fields import Urgency

if TYPE_CHECKING:
    from ifmesh.node.board.replica import Replica


class ClaimQueues:
    def __init__(self, replica: Replica) -> None:
        self._replica = replica
        self._handed: set[tuple[str, int]] = set()

    @property
    def _lease(self) -> timedelta:
        return self._replica.config.lease

    # --- commands (each returns the events to broadcast) ---------------------------------

    def join(self, task_id: str, now: datetime, *, urgency: Urgency) -> tuple[m.Envelope, ...]:
        r = self._replica
        return r.emit([queue_commands.queue(r.log.view(), r.author, task_id, now, urgency=urgency)])

    def leave(self, task_id: str, now: datetime) -> tuple[m.Envelope, ...]:
        r = self._replica
        return r.emit([queue_commands.unqueue(r.log.view(), r.author, task_id, now)])

    def ask_release(
        self, task_id: str, reason: str, now: datetime, *, grace: timedelta
    ) -> tuple[m.Envelope, ...]:
        r = self._replica
        event = queue_commands.ask_release(
            r.log.view(), r.author, task_id, reason, now, grace=grace
        )
        return r.emit([event])

    def keep(self, task_id: str, reason: str, now: datetime) -> tuple[m.Envelope, ...]:
        r = self._replica
        return r.emit([queue_commands.keep(r.log.view(), r.author, task_id, reason, now)])

    # --- turns ---------------------------------------------------------------------------

    def _waiting(self) -> tuple[Task, ...]:
        """The tasks whose queue this session is in, in id order (asked on every board change,
        so from the fold's index, not a scan of every task)."""
        return self._replica.log.queued_for(self._replica.session_id)

    def _starts(self, task: Task) -> datetime | None:
        """When this session may take ``task``: its turn on a free task, the end of an ask's
        grace or of an absent holder's lease on a held one; None when neither applies."""
        me = self._replica.session_id
        if not task.held:
            if not queues.takes_turns(task) or task.turn_since is None:
                return None
            place = next(i for i, w in enumerate(task.queue) if w.session_id == me)
            return task.turn_since + self._lease * place
        starts = [task.ask.grace_until] if task.ask is not None else []
        last, alive = task.owner_last_event_at, self._replica._alive
        absent = alive is not None and task.owner not in alive  # as the takeover rule says
        if self._replica.takeover != "never" and last is not None and absent:
            starts.append(last + self._lease)
        start = min(starts, default=None)
        if start is None or queues.first_in_line(task, start, self._lease) != me:
            return None
        return start

    def deadline(self) -> datetime | None:
        """The earliest time :meth:`due` may hand out a task not yet handed out."""
        found = []
        for task in self._waiting():
            start = self._starts(task)
            if start is not None and (task.task_id, task.epoch) not in self._handed:
                found.append(start)
        return min(found, default=None)

    def _takeable(self, task: Task, now: datetime) -> bool:
        me, replica = self._replica.session_id, self._replica
        if not task.held:
            return queues.turn(task, now, self._lease) == me
        if queues.first_in_line(task, now, self._lease) != me:
            return False
        lapsed = queues.ask_lapsed(task, me, now)
        # One object with the replica, which owns the takeover rule (and the effects queue).
        return lapsed or (replica.takeover != "never" and replica._stale_and_absent(task, now))

    def due(self, now: datetime) -> list[str]:
        """Tasks this session may take at ``now`` (its node claims them for it), each handed
        out once per (task, epoch); the agent is told with a ``QueueTurn`` effect. A turn
        that has passed is handed out too, so its deadline is not asked for again."""
        due = []
        for task in self._waiting():
            key = (task.task_id, task.epoch)
            start = self._starts(task)
            if key in self._handed or start is None or start > now:
                continue
            takeable = self._takeable(task, now)
            if takeable or not task.held:
                self._handed.add(key)
            if takeable:
                me = self._replica.session_id
                cause = f"queue-turn:{task.task_id}:{task.epoch}"
                self._replica._deliver([QueueTurn(cause, me, task.task_id, task.epoch)])
                due.append(task.task_id)
        return due
