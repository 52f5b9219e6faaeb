"""What goes into one commit of the bridge, and the commit message sessions already write.

A batch collects the node's own events and at most one confirm record, which ends it: any
later event or record starts the next commit, because a STATUS file holds one ``claiming:``
and the ledger judges each record by the commit that wrote it. Path reservations' records
(``reserved:`` entries) join the commit being built, and end it for events: an event after
them (their release, say) must change the STATUS after they are in it.

Messages follow the seed sessions: ``claim: P0.5.2``, ``progress: P0.5.2 50%``, ``complete:
P0.5.2``, ``block: P0.5.2 on P0.2.6`` and otherwise ``chore: Update session-2-webrtc status``
(and ``reserve: P0.5.2`` for reservations' records); several in one commit are joined with
``; ``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from ifmesh.node.board.formats.reserved import ReservedEntry
from ifmesh.node.protocol.messages import (
    Blocker,
    Envelope,
    TaskClaim,
    TaskComplete,
    TaskFail,
    TaskProgress,
    TaskRelease,
    TaskSteal,
)


@dataclass(frozen=True)
class ConfirmRequest:
    task: str
    epoch: int


@dataclass
class CommitPlan:
    events: list[Envelope] = field(default_factory=list)
    confirm: ConfirmRequest | None = None
    reserved: list[ReservedEntry] = field(default_factory=list)  # records, after the events

    def message(self, session: str) -> str:
        return commit_message(session, self.events, self.confirm, self.reserved)


class Batch:
    """Own events and confirm records waiting for their commit, in arrival order."""

    def __init__(self) -> None:
        self._plans: list[CommitPlan] = []

    def __bool__(self) -> bool:
        return bool(self._plans)

    def add_event(self, event: Envelope) -> None:
        # A confirm record ends its commit, so the STATUS of that commit still holds it.
        last = self._plans[-1] if self._plans else None
        if last is None or last.confirm is not None or last.reserved:
            self._plans.append(CommitPlan())
        self._plans[-1].events.append(event)

    def add_confirm(self, task: str, epoch: int) -> None:
        if not self._plans or self._plans[-1].confirm is not None:
            self._plans.append(CommitPlan())
        self._plans[-1].confirm = ConfirmRequest(task, epoch)

    def add_reserved(self, entries: Sequence[ReservedEntry]) -> None:
        if not self._plans:
            self._plans.append(CommitPlan())
        self._plans[-1].reserved.extend(entries)

    def requeue(self, plans: list[CommitPlan]) -> None:
        """Puts back plans whose commit failed, ahead of anything submitted since."""
        self._plans = [*plans, *self._plans]

    def take(self) -> list[CommitPlan]:
        plans, self._plans = self._plans, []
        return plans


def commit_message(
    session: str,
    events: list[Envelope],
    confirm: ConfirmRequest | None = None,
    reserved: Sequence[ReservedEntry] = (),
) -> str:
    parts: list[str] = []
    if confirm is not None:
        parts.append(f"claim: {confirm.task}")
    for task in dict.fromkeys(entry.task for entry in reserved):
        parts.append(f"reserve: {task}")
    for event in events:
        part = _describe(event)
        if part and part not in parts:
            parts.append(part)
    return "; ".join(parts) if parts else f"chore: Update {session} status"


def _describe(event: Envelope) -> str | None:
    payload = event.payload
    # A claim is named as soon as its event is committed: one claimed, worked and completed
    # within a batch window never gets a confirm record of its own commit.
    if isinstance(payload, TaskClaim | TaskSteal):
        return f"claim: {payload.task_id}"
    if isinstance(payload, TaskProgress):
        return f"progress: {payload.task_id} {payload.percent}%"
    if isinstance(payload, TaskComplete):
        return f"complete: {payload.task_id}"
    if isinstance(payload, Blocker):
        on = ", ".join(payload.blocked_on)
        return f"block: {payload.task_id} on {on}" if on else f"block: {payload.task_id}"
    if isinstance(payload, TaskRelease):
        return f"release: {payload.task_id}"
    if isinstance(payload, TaskFail):
        return f"fail: {payload.task_id}"
    return None
