"""Deciding this session's path reservations in the running node, as claims are decided
(:mod:`ifmesh.node.claims.decider`), by the rules of :mod:`ifmesh.node.claims.reservation_rules`.

:meth:`ReservationDecider.begin` is synchronous, for the claims' reason: the reservation is
folded, routed, in every open peer's channel queue and — when git is to decide — its records
are queued, before anything received later can be acked or folded. :meth:`settle` waits for
the acks or for git's verdicts, which the node hands over as they are read
(:meth:`git_verdicts`). A record that lost in git is withdrawn (``paths.release``), whether or
not anyone still waits for it; one that won in git but lost in the fold (a conflicting
reservation ordered before it, whose own record lost) is folded again once the fold lets it
(:meth:`_reassert`), so that the board comes to show git's answer.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import structlog

from ifmesh.node.board import reservation_commands
from ifmesh.node.board.formats.reserved import ReservedEntry
from ifmesh.node.board.reservations import Carried
from ifmesh.node.claims import asking, rules
from ifmesh.node.claims import reservation_rules as rr
from ifmesh.node.errors import IfmeshError
from ifmesh.node.gitsync.reservation_ledger import ReservationRecord, ReservationVerdict
from ifmesh.node.mesh.messaging import AckedSend
from ifmesh.node.protocol import messages as m
from ifmesh.node.protocol.payloads import MAX_RESERVATION_TTL_SECONDS

if TYPE_CHECKING:
    from ifmesh.node.claims.decider import DecidingNode

log = structlog.get_logger(__name__)

Named = tuple[str, str, str, str]  # (path, holder, task, pattern) of a conflict


@dataclass(slots=True)
class PendingReservation:
    """A reservation being decided: what :meth:`ReservationDecider.settle` needs."""

    event: m.Envelope
    entries: tuple[ReservedEntry, ...]
    asked: frozenset[str]
    why_git: str
    send: AckedSend | None


@dataclass(frozen=True, slots=True)
class ReservationOutcome:
    """How one reservation was decided. ``won`` is None while undecided."""

    won: bool | None
    decided_by: str  # "mesh" or "git"
    why_git: str = ""
    conflicts: tuple[Named, ...] = ()  # what beat it, when it lost to a reservation
    why: str = ""  # why it lost otherwise (its task went to another, it ended meanwhile)


class ReservationDecider:
    def __init__(self, node: DecidingNode, ack_timeout: float) -> None:
        self.node = node
        self.ack_timeout = ack_timeout
        self.queued: set[ReservedEntry] = set()  # records written or queued, no verdict yet
        self.verdicts: dict[ReservedEntry, ReservationVerdict] = {}
        self.withdrawn: set[tuple[str, datetime]] = set()  # (task, since) lost in git: given up
        self.gone: set[ReservedEntry] = set()  # released before their records reached git
        self.clock: Callable[[], datetime] = lambda: datetime.now(UTC)

    # --- the mesh asks -------------------------------------------------------------------

    def live(self) -> set[ReservedEntry]:
        """This session's records that may stand in git: queued, or standing as read."""
        git, me = self.node.git, self.node.session
        standing = git.reservation_ledger().standing() if git is not None else ()
        return self.queued | {r.entry for r in standing if r.session == me}

    def decline(self, message: m.Envelope) -> bool:
        """Whether to nack an acked message (a reservation conflicting with a record here)."""
        if not isinstance(message.payload, m.PathsReserve):
            return False
        return rr.declines(message, self.live(), self.node.session)

    # --- deciding ------------------------------------------------------------------------

    def begin(self, events: Sequence[m.Envelope]) -> PendingReservation:
        """Starts deciding the ``paths.reserve`` that ``events`` begin with, already folded:
        chooses the route, publishes, and queues the records if git decides. Synchronous."""
        event = events[0]
        wanted = rr.entries(event)
        if not wanted:
            raise ValueError(f"{event.type} is not a reservation")
        asked, why_git = asking.route(self.node, event)
        why_git = why_git or rr.git_holds(self._against(wanted))
        send = self.node.publish_claim(events)
        if why_git:
            if send is not None:
                send.abandon()  # the peers ack, but git decides
                send = None
            self._record_if_held(wanted)
        return PendingReservation(event, wanted, asked, why_git, send)

    async def settle(self, pending: PendingReservation, timeout: float) -> ReservationOutcome:
        """Finishes a decision: won or lost on the mesh, or git's verdicts; ``won=None`` when
        git gave none within ``timeout`` (the caller withdraws it then)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        wanted, why_git, me = pending.entries, pending.why_git, self.node.session
        on_mesh = not why_git
        if on_mesh and pending.send is not None:
            acks = await pending.send.outcome(
                max(0.0, min(self.ack_timeout, timeout)), pending.asked
            )
            asked_now = asking.asked_at(self.node, pending.event.timestamp)
            why_git = rules.git_after(acks, pending.asked, asked_now)
            why_git = why_git or rr.git_holds(self._against(wanted))  # read meanwhile
        if on_mesh:
            replica = self.node.replica_or_fail()
            why_git = why_git or rr.shadowed(replica.log, replica.board, pending.event)
            if why_git:
                self._record_if_held(wanted)
        board = self.node.replica_or_fail().board
        if not why_git:  # every session asked has acked: the fold has decided
            if rr.held(board, me, wanted):
                self._record(wanted)
                log.info("reservation.won_on_mesh", task=wanted[0].task, asked=len(pending.asked))
                return ReservationOutcome(True, "mesh")
            return self._lost_in_fold(wanted, "")
        log.info("reservation.decided_by_git", task=wanted[0].task, why=why_git)
        if not all(entry in self.queued or entry in self.verdicts for entry in wanted):
            return self._lost_in_fold(wanted, why_git)  # no record: the fold holds another
        return await self._git_outcome(wanted, why_git, deadline)

    def _lost_in_fold(self, wanted: Sequence[ReservedEntry], why_git: str) -> ReservationOutcome:
        board, me = self.node.replica_or_fail().board, self.node.session
        found = rr.fold_conflicts(board, me, wanted)
        named = tuple(dict.fromkeys((c.path, c.holder, c.task, c.pattern) for c in found))
        why = "" if named else f"{wanted[0].task} is no longer this session's at that epoch"
        return ReservationOutcome(False, "mesh", why_git, named, why)

    async def _git_outcome(
        self, wanted: Sequence[ReservedEntry], why_git: str, deadline: float
    ) -> ReservationOutcome:
        me = self.node.session
        try:
            async with asyncio.timeout_at(deadline):
                while True:
                    verdicts = [self.verdicts.get(entry) for entry in wanted]
                    lost = [v for v in verdicts if v is not None and not v.stands]
                    if lost:
                        named = tuple(_named(v) for v in lost if v.against is not None)
                        return ReservationOutcome(False, "git", why_git, named, lost[0].why)
                    if all(v is not None for v in verdicts):
                        return ReservationOutcome(True, "git", why_git)
                    board = self.node.replica_or_fail().board
                    task = board.tasks.get(wanted[0].task)
                    ended = task is None or not task.held or task.owner != me
                    if ended or any(entry in self.gone for entry in wanted):
                        why = f"it ended (or {wanted[0].task} did) before git decided"
                        return ReservationOutcome(False, "git", why_git, why=why)
                    await self.node.changed.wait()
        except TimeoutError:
            return ReservationOutcome(None, "git", why_git)

    def withdrawal(self, wanted: Sequence[ReservedEntry], now: datetime) -> tuple[m.Envelope, ...]:
        """An undecided (or lost) reservation given up, so that it cannot stand later behind
        its agent's back: never folded again, and its release — folded here, for the caller to
        publish — while the fold holds it or a record of it was written (the release drops the
        record from the STATUS: git may yet have said it stands). None otherwise."""
        if not wanted:
            return ()
        task_id, since = wanted[0].task, wanted[0].since
        self.withdrawn.add((task_id, since))
        replica, me = self.node.replica_or_fail(), self.node.session
        # Its patterns: those named, and the rest of its records (all written together).
        recorded = [
            e for e in (*self.queued, *self.verdicts) if (e.task, e.since) == (task_id, since)
        ]
        patterns = sorted({e.pattern for e in (*wanted, *recorded)})
        held = [
            pattern
            for pattern in patterns
            if (r := replica.board.reservations.get((me, task_id, pattern))) is not None
            and r.reserved_at == since
        ]
        if not held and not recorded:
            return ()
        payload = m.PathsRelease(task_id=task_id, patterns=patterns)
        return replica.emit([replica.author.stamp(payload, now)])

    # --- git's verdicts ------------------------------------------------------------------

    def git_verdicts(self, verdicts: Sequence[ReservationVerdict], now: datetime) -> None:
        """Verdicts on this session's records, as the bridge read them: kept for
        :meth:`settle`; a lost one withdrawn with its other patterns (the fold judges one
        reservation whole), a won one the fold lacks folded again."""
        self._forget(now)
        lost: dict[tuple[str, datetime], list[ReservedEntry]] = {}
        won: dict[tuple[str, datetime], list[ReservedEntry]] = {}
        for verdict in verdicts:
            entry = verdict.record.entry
            self.queued.discard(entry)
            if not verdict.record.commit:  # released before it reached git: no record at all
                self.gone.add(entry)
                continue
            self.verdicts[entry] = verdict
            by_version = won if verdict.stands else lost
            by_version.setdefault((entry.task, entry.since), []).append(entry)
        for key, group in lost.items():
            log.info("reservation.lost_in_git", task=key[0], patterns=len(group))
            if key not in self.withdrawn and (withdrawn := self.withdrawal(group, now)):
                self.node.publish(withdrawn)
        for key, group in won.items():
            board, me = self.node.replica_or_fail().board, self.node.session
            fresh = key not in self.withdrawn and group[0].until > now
            if fresh and not rr.held(board, me, group):
                self.node.background(self._reassert(group))

    def _forget(self, now: datetime) -> None:
        """Drops what no decision can ask about any more: reservations past their end."""
        self.verdicts = {e: v for e, v in self.verdicts.items() if e.until > now}
        self.gone = {e for e in self.gone if e.until > now}
        oldest = now - timedelta(seconds=MAX_RESERVATION_TTL_SECONDS)
        self.withdrawn = {key for key in self.withdrawn if key[1] > oldest}

    async def _reassert(self, won: Sequence[ReservedEntry]) -> None:
        """Folds again a reservation git confirmed but the fold refused (a conflicting one
        ordered first, whose record lost in git and which its node withdraws), once the fold
        lets it and while it lasts. Not decided again: its record has already won."""
        first, me = won[0], self.node.session
        while True:
            if (first.task, first.since) in self.withdrawn:
                return  # a sibling pattern lost: the whole reservation was given up
            now = self.clock()
            replica = self.node.replica_or_fail()
            task = replica.board.tasks.get(first.task)
            if now >= first.until or task is None or task.owner != me or task.epoch != first.epoch:
                return
            if all(
                (found := replica.board.reservations.get((me, e.task, e.pattern))) is not None
                and found.epoch == e.epoch
                for e in won
            ):
                return  # the fold holds it again (or a renewal since)
            # With the witnesses its record carries: folded again, it is judged as git judged it.
            carried = Carried(
                tuple(sorted({w for e in won for w in e.witnesses})),
                tuple(e.pattern for e in won if e.broad),
            )
            try:
                event = reservation_commands.reserve(
                    replica.log.view(), replica.author, first.task, [e.pattern for e in won],
                    now, exclusive=first.exclusive, ttl=first.until - now, carried=carried,
                )  # fmt: skip
            except IfmeshError:
                pass  # still kept out: the other's withdrawal has not arrived yet
            else:
                log.info("reservation.reasserted", task=first.task, patterns=len(won))
                self.node.publish(replica.emit([event]))
            left = (first.until - now).total_seconds()
            try:  # awaited directly, not in a task: no change between the check and the wait
                async with asyncio.timeout(max(0.0, left)):
                    await self.node.changed.wait()
            except TimeoutError:
                return

    # --- a node killed mid-decision ------------------------------------------------------

    def settle_inherited(self, recorded: Sequence[ReservedEntry], now: datetime) -> None:
        """At start: this session's reservations in the fold (an earlier run's). One whose
        record is in its STATUS goes on to git's verdict; any other is withdrawn: its agent
        was never told it stood, as for a claim (docs/claims.md)."""
        replica, me = self.node.replica_or_fail(), self.node.session
        on_record = set(recorded)
        keep: list[ReservedEntry] = []
        drop: list[ReservedEntry] = []
        for (session, _, _), r in sorted(replica.board.reservations.items()):
            if session != me or r.expires_at <= now:
                continue
            entry = ReservedEntry(
                r.pattern, r.task_id, r.epoch, r.exclusive, r.reserved_at, r.expires_at,
                r.witnesses, r.broad,
            )  # fmt: skip
            (keep if entry in on_record else drop).append(entry)
        for version in dict.fromkeys((e.task, e.since) for e in drop):
            gone = [e for e in drop if (e.task, e.since) == version]
            log.info("reservation.inherited_withdrawn", task=version[0], patterns=len(gone))
            if withdrawn := self.withdrawal(gone, now):
                self.node.publish(withdrawn)
        if keep:
            self._write(keep)  # the same entries: awaited again

    # --- records -------------------------------------------------------------------------

    def _against(self, wanted: Sequence[ReservedEntry]) -> list[tuple[str, ReservationRecord]]:
        git, me = self.node.git, self.node.session
        if git is None:
            return []
        ledger = git.reservation_ledger()
        return [found for entry in wanted for found in ledger.against(me, entry)]

    def _record_if_held(self, wanted: Sequence[ReservedEntry]) -> None:
        if rr.held(self.node.replica_or_fail().board, self.node.session, wanted):
            self._record(wanted)

    def _record(self, wanted: Sequence[ReservedEntry]) -> None:
        """Queues the records (once); from now on conflicting reservations get a nack."""
        fresh = [e for e in wanted if e not in self.queued and e not in self.verdicts]
        if fresh:
            self._write(fresh)

    def _write(self, entries: Sequence[ReservedEntry]) -> None:
        self.queued.update(entries)
        if self.node.git is not None:
            self.node.git.write_reservation_record(entries)


def _named(verdict: ReservationVerdict) -> Named:
    against = verdict.against
    assert against is not None
    path = verdict.witness or against.entry.pattern
    return path, against.session, against.entry.task, against.entry.pattern
