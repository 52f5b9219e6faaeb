"""What a person or an agent sees of a node: the board, events and presence as JSON documents.

The board a user sees is the fold plus the node's presence view (DESIGN.md): STALE is judged
here, at the time of asking, from the owner's last event and the lease; ``presence`` is this
node's own observation of the mesh. Nothing here changes state.
"""

from __future__ import annotations

import dataclasses
import enum
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from ifmesh.node.board import queues, reservations
from ifmesh.node.board.effects import Effect, Rejected
from ifmesh.node.board.formats.problems import ReadProblem
from ifmesh.node.board.formats.status import same_session, session_named_by
from ifmesh.node.board.log import EventLog
from ifmesh.node.board.state import Board, Reservation, Task, lease_expired
from ifmesh.node.board.takeover import TakenOver
from ifmesh.node.protocol.fields import format_timestamp
from ifmesh.node.protocol.messages import Envelope


def event_summary(event: Envelope) -> dict[str, Any]:
    payload = event.payload.model_dump(mode="json", exclude_none=True)
    return {
        "id": event.id,
        "type": event.type,
        "source": event.source,
        "seq": event.seq,
        "lamport": event.lamport,
        "timestamp": format_timestamp(event.timestamp),
        "payload": payload,
    }


def event_for_stream(event: Envelope, *, own: bool) -> Callable[[], dict[str, Any]]:
    """An event for the stream, stamped now, when this node's board took it (see
    control-api.md), and made into its document only when a stream takes it: a peer's event is
    acked and folded first (the document was ~15 % of a received event's work before its ack,
    in a profile of 8 nodes, when the fold came before the ack), and nothing is made when
    nobody watches."""
    folded = time.monotonic()
    return lambda: {
        "type": "event",
        "event": event_summary(event),
        "own": own,
        "folded_monotonic": folded,
    }


def effect_document(effect: Effect) -> dict[str, Any]:
    """An effect of the fold (unblocked, lost, fenced, …) as an event-stream line."""
    document: dict[str, Any] = {"type": "effect", "effect": type(effect).__name__.lower()}
    for field in dataclasses.fields(effect):
        document[field.name] = getattr(effect, field.name)
    return document


def _time(value: datetime | None) -> str | None:
    return format_timestamp(value) if value is not None else None


def shown_status(task: Task, now: datetime, lease: timedelta) -> str:
    """The Status cell: the folded status, or STALE when the holder's lease ran out."""
    if task.held and lease_expired(task, now, lease):
        return "STALE"
    return task.status.value


def task_document(
    task: Task, now: datetime, lease: timedelta, warnings: Sequence[str] = ()
) -> dict[str, Any]:
    """One task; ``warnings``: what its row on the board file could not be read as."""
    return {
        "id": task.task_id,
        "title": task.title,
        "status": shown_status(task, now, lease),
        "owner": task.owner,
        "epoch": task.epoch,
        "confirmed": task.confirmed,
        "percent": task.percent,
        "milestone": task.milestone,
        "dependencies": list(task.dependencies),
        "deliverable": task.deliverable,
        "estimate_hours": task.estimate_hours,
        "model": task.model,
        "task_type": task.task_type,
        "required_capabilities": list(task.required_capabilities),
        "kind": task.kind.value,
        "owner_last_event_at": _time(task.owner_last_event_at),
        "manual_dependency": task.manual_dependency or None,
        "completed_without_claim": task.completed_without_claim,
        "warnings": list(warnings),
    } | queue_document(task, now, lease)


def queue_document(task: Task, now: datetime, lease: timedelta) -> dict[str, Any]:
    """A task's claim queue and open ask-release (docs/claims.md): ``queue`` in the order the
    waiters stand at ``now`` (from the one whose turn it is, on a free task), ``queue_turn``
    who alone may claim the free task now (null: anyone, or no queue)."""
    ask = task.ask
    return {
        "queue": [
            {
                "session": w.session_id,
                "urgency": w.urgency,
                "queued_at": format_timestamp(w.queued_at),
                "rank": round(queues.rank(w, now), 3),
            }
            for w in queues.in_order(task, now, lease)
        ],
        "queue_turn": queues.turn(task, now, lease),
        "ask": None
        if ask is None
        else {
            "asker": ask.asker,
            "reason": ask.reason,
            "asked_at": format_timestamp(ask.asked_at),
            "grace_until": format_timestamp(ask.grace_until),
        },
    }


def next_document(task: Task, now: datetime, lease: timedelta, offered: bool) -> dict[str, Any]:
    """A task ``ifmesh next`` proposes; ``take_over_from`` names the absent holder of a stale
    task this session may take over with ``ifmesh claim`` (docs/claims.md)."""
    return task_document(task, now, lease) | ({"take_over_from": task.owner} if offered else {})


def taken_over_document(taken: TakenOver) -> dict[str, Any]:
    """A task this session holds because it took it over (``ifmesh status``)."""
    return {
        "task": taken.task_id,
        "epoch": taken.epoch,
        "from": taken.previous_owner,
        "confirmed": taken.confirmed,
    }


def fold_document(log: EventLog) -> dict[str, Any]:
    """What this node has folded, so that nodes can be compared from outside (the fault
    tests): how many events, per source the n such that its seqs 1..n are all held, and the
    SHA-256 of the board's canonical bytes (nodes holding the same events hold equal bytes)."""
    return {
        "events": len(log),
        "frontier": log.frontier(),
        "board_sha256": log.digest(),
    }


def peer_document(peer: str, presence: str, metrics: Any) -> dict[str, Any]:
    """A mesh peer: this node's presence view of it and its metrics (a dataclass)."""
    fields = dataclasses.asdict(metrics).items()
    plain = {k: v.value if isinstance(v, enum.Enum) else v for k, v in fields}
    return {"peer": peer, "presence": presence} | plain


def problem_document(problem: ReadProblem) -> dict[str, Any]:
    return {"where": problem.where()} | problem.as_dict()


def refusal_document(refusal: Rejected) -> dict[str, Any]:
    return {
        "event": refusal.cause,
        "source": refusal.session,
        "type": refusal.event_type,
        "task": refusal.task_id,
        "code": refusal.code,
        "reason": refusal.reason,
    }


def _partly_read(session: str, problems: Sequence[ReadProblem]) -> bool:
    for problem in problems:
        named = session_named_by(problem.path.split(" (", 1)[0])
        if named is not None and same_session(named, session):
            return True
    return False


def reservation_document(reservation: Reservation) -> dict[str, Any]:
    """A path reservation (``ifmesh board``, ``ifmesh reserve``; docs/agents.md)."""
    return {
        "session": reservation.session_id,
        "task": reservation.task_id,
        "epoch": reservation.epoch,
        "pattern": reservation.pattern,
        "exclusive": reservation.exclusive,
        "reserved_at": format_timestamp(reservation.reserved_at),
        "expires_at": format_timestamp(reservation.expires_at),
    }


def reservations_in_force(board: Board, now: datetime, lease: timedelta) -> list[Reservation]:
    """The reservations in force at ``now``, by session, task and pattern."""
    return [
        r
        for _, r in sorted(board.reservations.items())
        if reservations.in_force(r, board.tasks, now, lease)
    ]


def board_document(
    board: Board,
    now: datetime,
    lease: timedelta,
    presence: Mapping[str, str],
    problems: Sequence[ReadProblem] = (),
    refusals: Sequence[Rejected] = (),
) -> dict[str, Any]:
    """The board a user sees; ``problems``: what the board and STATUS files could not fully
    say (file:line), ``refusals``: the events the fold refused lately."""
    warnings: dict[str, list[str]] = {}
    for problem in problems:
        if problem.task is not None and problem.partial:
            warnings.setdefault(problem.task, []).append(problem.reason)
    return {
        "as_of": format_timestamp(now),
        "tasks": [
            task_document(t, now, lease, warnings.get(t.task_id, ()))
            for _, t in sorted(board.tasks.items())
        ],
        "sessions": [
            {
                "id": s.session_id,
                "capabilities": list(s.capabilities),
                "current_task": s.current_task,
                "last_event_at": _time(s.status_timestamp),
                "presence": presence.get(s.session_id, "absent"),
                "partly_read": _partly_read(s.session_id, problems),
            }
            for _, s in sorted(board.sessions.items())
        ],
        "blockers": [
            {
                "session": b.session_id,
                "task": b.task_id,
                "blocked_on": list(b.blocked_on),
                "waiting": list(b.waiting),
                "required_capabilities": list(b.required_capabilities),
                "description": b.description,
            }
            for _, b in sorted(board.blockers.items())
        ],
        "help_requests": [
            {
                "id": h.request_id,
                "requester": h.requester,
                "task": h.task_id,
                "needs": list(h.required_capabilities),
                "helpers": list(h.helpers),
                "offers": [o.helper for o in h.offers],
                "escalated": h.escalated,
                "deadline": _time(h.deadline),
            }
            for _, h in sorted(board.help_requests.items())
        ],
        "reservations": [reservation_document(r) for r in reservations_in_force(board, now, lease)],
        "events_folded": board.folded,
        "read_problems": [problem_document(p) for p in problems],
        "refusals": [refusal_document(r) for r in refusals],
    }
