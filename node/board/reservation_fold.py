"""The fold of ``paths.reserve`` and ``paths.release`` (docs/agents.md, "Path reservations").

Judge, then commit, as in :mod:`ifmesh.node.board.reducer`; what a reservation *is* and when
two conflict lives in :mod:`ifmesh.node.board.reservations`. The holder of (task, epoch) may
reserve; of two conflicting reservations the first in the total order stands, and the other
is refused on every node alike (``reservation_conflict``). That is what the reserving node's
decision reads (:mod:`ifmesh.node.claims.reserving`), as a claim's reads the fold's holder:
the reservation is won on the mesh once every member acked it and the fold still holds it,
and git decides otherwise. The fold judges overlap by the patterns and by the tracked paths
the events carry as witnesses (:func:`ifmesh.node.board.reservations.overlap`), as git does:
the paths git tracks differ between working copies, the events do not.

Ended reservations are dropped when the next reservation event is folded (their tenure ended,
or their time ran out, at that event's timestamp): until then they are kept, and judged void
wherever they are read, so nothing depends on when the dropping happens.
"""

from __future__ import annotations

from ifmesh.node.board import reservations
from ifmesh.node.board.effects import Effect
from ifmesh.node.board.errors import InvalidPattern
from ifmesh.node.board.fold import FoldState
from ifmesh.node.board.governance import Governance
from ifmesh.node.board.judgement import Handler, Outcome, refuse
from ifmesh.node.board.state import BoardConfig
from ifmesh.node.protocol import messages as m
from ifmesh.node.protocol.fields import format_timestamp


def _drop_ended(state: FoldState, event: m.Envelope) -> None:
    ended = [
        key
        for key, r in state.reservations.items()
        if reservations.void(r, state.tasks, event.timestamp)
    ]
    for key in ended:
        del state.reservations[key]


def _reserve(
    state: FoldState, event: m.Envelope, config: BoardConfig, gov: Governance, fx: list[Effect]
) -> Outcome:
    p = event.payload
    assert isinstance(p, m.PathsReserve)
    source, at = event.source, event.timestamp
    task = state.tasks.get(p.task_id)
    if task is None:
        return refuse(fx, event, p.task_id, "unknown_task", f"no task {p.task_id} on the board")
    if not task.held or task.owner != source:
        holder = task.owner if task.held else "nobody"
        reason = f"{p.task_id} is held by {holder}, not {source}: only its holder reserves for it"
        return refuse(fx, event, p.task_id, "not_owner", reason)
    if p.epoch != task.epoch:
        reason = f"paths.reserve names epoch {p.epoch}; {p.task_id} is at epoch {task.epoch}"
        return refuse(fx, event, p.task_id, "stale_epoch", reason)
    wanted = reservations.asked_for(source, p, at)
    try:
        found = reservations.reservation_conflicts(
            wanted, state.reservations.values(), state.tasks, at
        )
    except InvalidPattern as exc:
        return refuse(fx, event, p.task_id, exc.code, str(exc))
    if found:
        first = found[0]
        reason = (
            f"{first.path} is reserved by {first.holder} for {first.task} ({first.pattern},"
            f" until {format_timestamp(first.expires_at)})"
        )
        return refuse(fx, event, p.task_id, "reservation_conflict", reason)

    def commit() -> None:
        _drop_ended(state, event)
        for r in wanted:
            state.reservations[(r.session_id, r.task_id, r.pattern)] = r

    return commit


def _release(
    state: FoldState, event: m.Envelope, config: BoardConfig, gov: Governance, fx: list[Effect]
) -> Outcome:
    p = event.payload
    assert isinstance(p, m.PathsRelease)
    source, patterns = event.source, frozenset(p.patterns)

    def commit() -> None:
        _drop_ended(state, event)
        for key in [
            (session, task_id, pattern)
            for session, task_id, pattern in state.reservations
            if session == source
            and (p.task_id is None or task_id == p.task_id)
            and (not patterns or pattern in patterns)
        ]:
            del state.reservations[key]

    return commit


HANDLERS: dict[str, Handler] = {
    "paths.reserve": _reserve,
    "paths.release": _release,
}
