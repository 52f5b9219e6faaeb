"""The rules of a decided path reservation, without I/O (docs/agents.md, "Path reservations";
docs/claims.md gives the argument, which is the claims' own).

A reservation is decided like a claim, among the same sessions (:func:`rules.must_ask`) and
with the same reasons for git to decide instead (:func:`rules.git_before`,
:func:`rules.git_after`). What differs is what "competing" means: not the same (task, epoch),
but an overlap by the fold's rule (:func:`ifmesh.node.board.reservations.overlap`: a pattern
without wildcards, or a tracked path the events carry, that both match). So:

* it is *won on the mesh* when every session asked acked it on the carrying channel and the
  fold still holds this very reservation (:func:`held`): no conflicting one ordered before it;
* git decides as well when git, as this node has read it, still holds a record that would beat
  it there (:func:`git_holds`): one whose release, say, has not reached git yet, or whose
  holder fell silent within its TTL. The fold, which saw the release, would let it through;
  git would not, and git's answer is the one every reader shares;
* git decides too when the fold refused an earlier conflicting reservation for a reason of its
  own (:func:`shadowed`): conflict is not transitive, and that reservation's node may not have
  seen the reason, so it may be writing its record;
* a node that has written or queued a record for a reservation nacks another session's
  reservation that conflicts with it (:func:`declines`), so the two records meet in git.

A record is written only for a reservation won on the mesh or sent to git, and only while the
fold still holds it, as a confirm record is.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence

from ifmesh.node.board import reservations
from ifmesh.node.board.errors import InvalidPattern
from ifmesh.node.board.formats.reserved import ReservedEntry
from ifmesh.node.board.reservations import Conflict
from ifmesh.node.board.state import Board, Reservation
from ifmesh.node.gitsync.reservation_ledger import ReservationRecord, conflicting
from ifmesh.node.protocol import messages as m


def entries(event: m.Envelope) -> tuple[ReservedEntry, ...]:
    """The records a ``paths.reserve`` event stands for, one per pattern; () for any other."""
    p = event.payload
    if not isinstance(p, m.PathsReserve):
        return ()
    return tuple(
        ReservedEntry(r.pattern, r.task_id, r.epoch, r.exclusive, r.reserved_at, r.expires_at,
                      r.witnesses, r.broad)
        for r in reservations.asked_for(event.source, p, event.timestamp)
    )  # fmt: skip


def held(board: Board, session: str, wanted: Sequence[ReservedEntry]) -> bool:
    """Whether the fold holds every one of ``wanted`` for ``session``, these very versions,
    with its tenure intact: no conflicting reservation was ordered before it, and it has not
    been released, renewed or fenced since."""
    for entry in wanted:
        found = board.reservations.get((session, entry.task, entry.pattern))
        if (
            found is None
            or found.reserved_at != entry.since
            or found.epoch != entry.epoch
            or reservations.void(found, board.tasks, entry.since)
        ):
            return False
    return bool(wanted)


def fold_conflicts(board: Board, session: str, wanted: Sequence[ReservedEntry]) -> list[Conflict]:
    """What keeps ``wanted`` out of the fold: the standing reservations of other sessions it
    overlaps, judged at its own time."""
    mine = [
        Reservation(
            session,
            e.task,
            e.epoch,
            e.pattern,
            e.exclusive,
            e.since,
            e.until,
            witnesses=e.witnesses,
            broad=e.broad,
        )
        for e in wanted
    ]
    if not mine:
        return []
    return reservations.reservation_conflicts(
        mine, board.reservations.values(), board.tasks, mine[0].reserved_at
    )


def shadowed(events: Iterable[m.Envelope], board: Board, mine: m.Envelope) -> str:
    """Why git must decide although the fold holds ``mine``: an earlier reservation of another
    session that conflicts with it, still alive (not released, its tenure intact, within its
    TTL), which the fold refused for a reason of its own — a third reservation, say, that
    conflicts with that one and not with ``mine``. Its own node may not have seen that reason
    and may be writing its record: the fold's "first" is not final, so git decides. ""
    otherwise. ``events``: the fold's events in order (``mine`` among them)."""
    wanted = entries(mine)
    alive: dict[tuple[str, str, str], ReservedEntry] = {}
    for event in events:
        if event.id == mine.id:
            break
        p = event.payload
        if event.source == mine.source:
            continue
        if isinstance(p, m.PathsRelease):
            for key in [k for k in alive if k[0] == event.source and _releases(p, k)]:
                del alive[key]
            continue
        for theirs in entries(event):
            if any(_conflict(theirs, event.source, ours, mine.source) for ours in wanted):
                alive[(event.source, theirs.task, theirs.pattern)] = theirs
    found = []
    for (session, task_id, pattern), theirs in sorted(alive.items()):
        task = board.tasks.get(task_id)
        held = board.reservations.get((session, task_id, pattern))
        if task is None or not task.held or task.owner != session or task.epoch != theirs.epoch:
            continue  # its tenure ended: it is over everywhere
        if theirs.until <= wanted[0].since:
            continue
        if held is None or held.reserved_at != theirs.since:
            found.append(f"{session}'s {pattern} for {task_id}")
    if not found:
        return ""
    return (
        f"the fold refused {', '.join(found[:3])}, made earlier and overlapping it, for a"
        " reason its own node may not have seen yet"
    )


def _releases(p: m.PathsRelease, key: tuple[str, str, str]) -> bool:
    _, task_id, pattern = key
    return (p.task_id is None or p.task_id == task_id) and (not p.patterns or pattern in p.patterns)


def _conflict(a: ReservedEntry, a_session: str, b: ReservedEntry, b_session: str) -> bool:
    """Whether the two conflict by the fold's rule, whatever their times."""
    if a_session == b_session or not (a.exclusive or b.exclusive):
        return False
    try:
        return reservations.overlap(a, b) is not None
    except InvalidPattern:
        return False


def git_holds(against: Iterable[tuple[str, ReservationRecord]]) -> str:
    """Why git must decide: records standing in git, as read here, that would beat this
    reservation there; "" when there are none."""
    found = sorted({(w, r.session, r.entry.task, r.entry.pattern) for w, r in against})
    if not found:
        return ""
    named = "; ".join(f"{s}'s {p} for {t} (over {w})" for w, s, t, p in found[:3])
    return f"git still holds {named}: its end has not reached git, so git decides"


def declines(message: m.Envelope, live: Collection[ReservedEntry], me: str) -> bool:
    """Whether to answer ``message`` with a nack: another session's reservation that
    conflicts with a record this session has written or queued (and git has not ended)."""
    if message.source == me or not live:
        return False
    theirs = entries(message)
    mine = [ReservationRecord(me, entry, "") for entry in live]
    try:
        return any(
            conflicting(entry, message.source, record) for entry in theirs for record in mine
        )
    except InvalidPattern:  # the fold refuses it on every node: nothing to contest in git
        return False
