"""The budget ledger: reservations and settlements, per swarm and per task.

Money is kept in integer micro-dollars so that sums do not depend on the order they were
added in and every node's figures match to the last digit. A reservation rides on a claim
(estimate × cost_per_hour) or on a help assignment; it is settled (turned into spend) when the
work completes and released when it is abandoned — claim lost, released, failed, stolen, or
the help never came. Spend counts against a swarm's budget within the current budget period
(periods are judged at event time: ``floor(t / period)``); reservations count until they end.

The ledger is a value: every operation returns a new one. What grows with every task ever
settled is a :class:`~node.governor.totals.Totals`, whose changes share all but one bucket.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from ifmesh.node.governor.totals import Totals

MICROS = 1_000_000

ClaimKind = "claim"
HelpKind = "help"
# (kind, task_id, epoch as text for claims / request id for help, swarm_id)
ReservationKey = tuple[str, str, str, str]


def micros(amount: float) -> int:
    return round(amount * MICROS)


def dollars(amount: int) -> float:
    return amount / MICROS


def period_index(now: float, period: float | None) -> int:
    return 0 if period is None else math.floor(now / period)


@dataclass(frozen=True)
class Reservation:
    kind: str
    task_id: str
    ref: str  # the claim's epoch, or the help request's id
    swarm_id: str
    session: str  # the session whose event made it, and whose release/fail/complete ends it
    amount: int
    task_type: str

    @property
    def key(self) -> ReservationKey:
        return (self.kind, self.task_id, self.ref, self.swarm_id)


@dataclass(frozen=True)
class Spend:
    period: int
    amount: int


@dataclass(frozen=True)
class Ledger:
    reservations: Mapping[ReservationKey, Reservation] = field(default_factory=dict)
    by_task: Mapping[str, frozenset[ReservationKey]] = field(default_factory=dict)
    reserved_by_swarm: Mapping[str, int] = field(default_factory=dict)
    reserved_by_task: Mapping[str, int] = field(default_factory=dict)
    spent: Mapping[str, Spend] = field(default_factory=dict)  # swarm → this period's spend
    settled_by_swarm: Mapping[str, int] = field(default_factory=dict)  # all periods
    # Every task ever settled: shared between values, not copied per change (node.governor.totals)
    settled_by_task: Totals = field(default_factory=Totals)

    # --- reading -------------------------------------------------------------------------

    def on_task(self, task_id: str) -> list[Reservation]:
        keys = self.by_task.get(task_id, frozenset())
        return [self.reservations[key] for key in sorted(keys)]

    def spent_in(self, swarm_id: str, period: int) -> int:
        spend = self.spent.get(swarm_id)
        return spend.amount if spend is not None and spend.period == period else 0

    def committed(self, swarm_id: str, period: int) -> int:
        """Spend this period plus outstanding reservations."""
        return self.spent_in(swarm_id, period) + self.reserved_by_swarm.get(swarm_id, 0)

    def task_committed(self, task_id: str) -> int:
        return self.reserved_by_task.get(task_id, 0) + self.settled_by_task.get(task_id, 0)

    # --- changing ------------------------------------------------------------------------

    def reserve(self, reservation: Reservation) -> Ledger:
        key = reservation.key
        if key in self.reservations:
            return self
        reservations = dict(self.reservations)
        reservations[key] = reservation
        by_task = dict(self.by_task)
        by_task[reservation.task_id] = by_task.get(reservation.task_id, frozenset()) | {key}
        return Ledger(
            reservations=reservations,
            by_task=by_task,
            reserved_by_swarm=_add(
                self.reserved_by_swarm, reservation.swarm_id, reservation.amount
            ),
            reserved_by_task=_add(self.reserved_by_task, reservation.task_id, reservation.amount),
            spent=self.spent,
            settled_by_swarm=self.settled_by_swarm,
            settled_by_task=self.settled_by_task,
        )

    def release(self, keys: Iterable[ReservationKey]) -> Ledger:
        ledger = self
        for key in keys:
            ledger = ledger._end(key, settle=None, period=0)
        return ledger

    def settle(self, key: ReservationKey, amount: int, period: int) -> Ledger:
        """Ends the reservation ``key`` and books ``amount`` as spend in ``period``."""
        return self._end(key, settle=amount, period=period)

    def _end(self, key: ReservationKey, *, settle: int | None, period: int) -> Ledger:
        reservation = self.reservations.get(key)
        if reservation is None:
            return self
        reservations = dict(self.reservations)
        del reservations[key]
        by_task = dict(self.by_task)
        remaining = by_task[reservation.task_id] - {key}
        if remaining:
            by_task[reservation.task_id] = remaining
        else:
            del by_task[reservation.task_id]
        spent, settled_by_swarm, settled_by_task = (
            self.spent,
            self.settled_by_swarm,
            self.settled_by_task,
        )
        if settle is not None:
            spent = _book(self.spent, reservation.swarm_id, settle, period)
            settled_by_swarm = _add(settled_by_swarm, reservation.swarm_id, settle)
            settled_by_task = settled_by_task.add(reservation.task_id, settle)
        return Ledger(
            reservations=reservations,
            by_task=by_task,
            reserved_by_swarm=_add(
                self.reserved_by_swarm, reservation.swarm_id, -reservation.amount
            ),
            reserved_by_task=_add(self.reserved_by_task, reservation.task_id, -reservation.amount),
            spent=spent,
            settled_by_swarm=settled_by_swarm,
            settled_by_task=settled_by_task,
        )


def _add(totals: Mapping[str, int], name: str, amount: int) -> Mapping[str, int]:
    updated = dict(totals)
    value = updated.get(name, 0) + amount
    if value:
        updated[name] = value
    else:
        updated.pop(name, None)  # keep the mapping canonical: no zero entries
    return updated


def _book(
    spent: Mapping[str, Spend], swarm_id: str, amount: int, period: int
) -> Mapping[str, Spend]:
    current = spent.get(swarm_id)
    if current is not None and current.period > period:
        # Spend of a period already over (a late event in the total order) no longer limits
        # anything; the all-period totals still include it.
        return spent
    base = current.amount if current is not None and current.period == period else 0
    updated = dict(spent)
    updated[swarm_id] = Spend(period, base + amount)
    return updated
