"""Commands on path reservations, judged against a node's board at ``now``.

As in :mod:`ifmesh.node.board.commands`: board, author and ``now`` in, the event to emit out,
or a typed refusal with a message a person can act on, and nothing is emitted. The paths git
tracks in the session's working tree (``tracked``) that the patterns match go into the event
as witnesses (:func:`ifmesh.node.board.reservations.carry`), so the conflict check here, every
fold and git judge the same reservation alike (:mod:`ifmesh.node.board.reservation_fold`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from ifmesh.node.board import reservations
from ifmesh.node.board.commands import Author
from ifmesh.node.board.errors import (
    InvalidPattern,
    NotOwner,
    NotReserved,
    ReservationConflict,
    UnknownTask,
)
from ifmesh.node.board.formats import reserved
from ifmesh.node.board.state import Board
from ifmesh.node.protocol import messages as m

DEFAULT_TTL = reserved.DEFAULT_TTL


def reserve(
    board: Board,
    author: Author,
    task_id: str,
    patterns: Sequence[str],
    now: datetime,
    *,
    exclusive: bool = True,
    ttl: timedelta = DEFAULT_TTL,
    tracked: Sequence[str] = (),
    carried: reservations.Carried | None = None,
) -> m.Envelope:
    """Reserves ``patterns`` for ``task_id``, which this session must hold. Sent again, a
    reservation is renewed (its mode and time as now asked). ``carried``: the witnesses to
    send as they are (a reservation folded again), instead of those found in ``tracked``."""
    task = board.tasks.get(task_id)
    if task is None:
        raise UnknownTask(f"no task {task_id} on the board (check the id with `ifmesh board`)")
    me = author.session_id
    if not task.held or task.owner != me:
        holder = task.owner if task.held else "nobody"
        raise NotOwner(
            f"only the holder of {task_id} may reserve paths for it, and that is {holder},"
            f" not {me}: claim it first (`ifmesh claim {task_id}`)"
        )
    if not patterns:
        raise InvalidPattern("", "name at least one pattern")
    unique = list(dict.fromkeys(p.strip() for p in patterns))
    reservations.check_patterns(unique)
    carried = carried or reservations.carry(unique, tracked)
    payload = m.PathsReserve(
        task_id=task_id,
        epoch=task.epoch,
        patterns=unique,
        exclusive=exclusive,
        ttl_seconds=ttl.total_seconds(),
        witnesses=list(carried.witnesses) or None,
        broad=[p for p in unique if p in carried.broad] or None,
    )
    wanted = reservations.asked_for(me, payload, now)  # as every fold will judge it
    found = reservations.reservation_conflicts(
        wanted, board.reservations.values(), board.tasks, now
    )
    if found:
        raise ReservationConflict([(c.path, c.holder, c.task, c.pattern) for c in found])
    return author.stamp(payload, now)


def unreserve(
    board: Board,
    author: Author,
    now: datetime,
    *,
    patterns: Sequence[str] = (),
    task_id: str | None = None,
) -> m.Envelope:
    """Ends this session's reservations of ``task_id`` (all tasks when None) whose pattern is
    in ``patterns`` (all when empty)."""
    me, wanted = author.session_id, {p.strip() for p in patterns}
    mine = [
        r
        for r in board.reservations.values()
        if r.session_id == me
        and (task_id is None or r.task_id == task_id)
        and (not wanted or r.pattern in wanted)
    ]
    if not mine:
        what = " ".join(
            part
            for part in (", ".join(sorted(wanted)), f"for {task_id}" if task_id else "")
            if part
        )
        raise NotReserved(what or "at all")
    payload = m.PathsRelease(task_id=task_id, patterns=sorted(wanted))
    return author.stamp(payload, now)
