"""Sessions and tasks as they appear: registrations, announcements, and each session's last
event time (which is what keeps its claims' leases alive).

Every event refreshes its source's ``status_timestamp`` and the ``owner_last_event_at`` of
every task it holds, taking the latest timestamp seen, so the result does not depend on the
order events arrive in — only on the events.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypeVar

from ifmesh.node.board.effects import Effect
from ifmesh.node.board.fold import FoldState
from ifmesh.node.board.governance import Governance
from ifmesh.node.board.judgement import Handler, Outcome
from ifmesh.node.board.lifecycle import settle
from ifmesh.node.board.state import (
    SEED_INCARNATION_PREFIX,
    BoardConfig,
    Session,
    Task,
    evolve,
)
from ifmesh.node.protocol import messages as m

_Stamped = TypeVar("_Stamped", Task, Session)


def touch(state: FoldState, source: str, at: datetime) -> None:
    sessions = state.sessions
    session = sessions.get(source)
    if session is None:
        sessions[source] = Session(source, status_timestamp=at)
    else:
        stamp = session.status_timestamp
        if stamp is None or at > stamp:
            sessions[source] = _restamp(session, "status_timestamp", at)
    held = state.holdings.get(source)
    if held:
        tasks = state.tasks
        for task_id in held:
            task = tasks[task_id]
            last = task.owner_last_event_at
            if last is None or at > last:
                tasks[task_id] = _restamp(task, "owner_last_event_at", at)  # holdings unchanged


def _restamp(value: _Stamped, name: str, at: datetime) -> _Stamped:
    """``evolve`` for one timestamp field: the hottest line of the fold (every event)."""
    fresh = value.__dict__.copy()
    fresh[name] = at
    new = object.__new__(type(value))
    object.__setattr__(new, "__dict__", fresh)
    return new


def set_current(state: FoldState, session_id: str, task_id: str | None) -> None:
    session = state.sessions.get(session_id) or Session(session_id)
    state.sessions[session_id] = evolve(session, current_task=task_id)


def clear_current(state: FoldState, session_id: str, task_id: str) -> None:
    session = state.sessions.get(session_id)
    if session is not None and session.current_task == task_id:
        state.sessions[session_id] = evolve(session, current_task=None)


def _register(
    state: FoldState, event: m.Envelope, config: BoardConfig, gov: Governance, fx: list[Effect]
) -> Outcome:
    p = event.payload
    assert isinstance(p, m.SwarmRegister)

    # A registration a node sent (not one read from a STATUS file) makes the session a member.
    by_node = event.source == p.swarm_id and not event.incarnation.startswith(
        SEED_INCARNATION_PREFIX
    )

    def commit() -> None:
        session = state.sessions.get(p.swarm_id) or Session(p.swarm_id)
        state.sessions[p.swarm_id] = evolve(
            session,
            capabilities=tuple(p.capabilities),
            model=p.model,
            node=session.node or by_node,
        )

    return commit


def _leave(
    state: FoldState, event: m.Envelope, config: BoardConfig, gov: Governance, fx: list[Effect]
) -> Outcome:
    """A node's ``swarm.leave``: its session stops being a member (board/membership.py)."""
    p = event.payload
    assert isinstance(p, m.SwarmLeave)
    session = state.sessions.get(p.swarm_id)
    if event.source != p.swarm_id or session is None or not session.node:
        return None  # only a session leaves for itself; a non-member has nothing to leave

    def commit() -> None:
        state.sessions[p.swarm_id] = evolve(session, node=False)

    return commit


def _strings(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return tuple(part.strip() for part in value.split(",") if part.strip())
    if isinstance(value, list):
        return tuple(str(v) for v in value if isinstance(v, str))
    return ()


def _broadcast(
    state: FoldState, event: m.Envelope, config: BoardConfig, gov: Governance, fx: list[Effect]
) -> Outcome:
    """A task announced on the mesh joins the board (once: later announcements are no-ops).

    Its fields come from the payload's metadata: title, dependencies, deliverable,
    estimate_hours, model, required_capabilities.
    """
    p = event.payload
    assert isinstance(p, m.TaskBroadcast)
    if p.task_id in state.tasks:
        return None
    meta = p.metadata
    estimate = meta.get("estimate_hours")
    task = Task(
        task_id=p.task_id,
        title=str(meta.get("title", "")),
        dependencies=_strings(meta.get("dependencies")),
        deliverable=str(meta.get("deliverable", "")),
        estimate_hours=float(estimate) if isinstance(estimate, int | float) else None,
        model=str(meta.get("model", "")),
        task_type=p.task_type,
        required_capabilities=_strings(meta.get("required_capabilities")),
    )

    def commit() -> None:
        state.put_task(evolve(task, status=settle(state.dependencies_done(task))))

    return commit


HANDLERS: dict[str, Handler] = {
    "swarm.register": _register,
    "swarm.leave": _leave,
    "task.broadcast": _broadcast,
}
