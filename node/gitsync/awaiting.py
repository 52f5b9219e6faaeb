"""This node's records that wait for git's word, and the verdicts git gives on them.

Two kinds of record wait: a claim's confirm record (:mod:`ifmesh.node.gitsync.confirm`, by
task and epoch) and a path reservation's (:mod:`ifmesh.node.gitsync.reservation_ledger`, by
STATUS entry). Each time the bridge has read the branch, :meth:`AwaitedVerdicts.collect` takes
the verdicts that came, hands them to the node through the outputs, and takes a lost record
out of this session's STATUS (the chain), so it stops standing for the session. Used under
the bridge's intake lock.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from ifmesh.node.board.formats.reserved import ReservedEntry
from ifmesh.node.board.formats.status import StatusFile
from ifmesh.node.gitsync.chain import OwnChain
from ifmesh.node.gitsync.confirm import ConfirmLedger, Verdict
from ifmesh.node.gitsync.outputs import Outputs
from ifmesh.node.gitsync.reservation_ledger import AwaitedRecords, ReservationLedger


class AwaitedVerdicts:
    def __init__(self, session: str) -> None:
        self.session = session
        self._confirms: set[tuple[str, int]] = set()
        self._reserved = AwaitedRecords()

    def confirm(self, ledger: ConfirmLedger, task: str, epoch: int) -> Verdict | None:
        """Awaits the verdict on a confirm record about to be written; git's verdict when it
        has already named a winner (nothing to contest: no record is written then)."""
        verdict = ledger.verdict(task, epoch, self.session)
        if verdict is None:
            self._confirms.add((task, epoch))
        return verdict

    def reserved(self, entries: Iterable[ReservedEntry]) -> None:
        self._reserved.add(entries)

    def collect(
        self,
        confirms: ConfirmLedger,
        reservations: ReservationLedger,
        chain: OwnChain,
        settled: StatusFile | None,
        now: datetime,
        outputs: Outputs,
    ) -> None:
        """The verdicts the branch as read gives; ``settled``: this session's STATUS once
        every commit of it is on the branch (so a record it lacks never reached git)."""
        for task, epoch in sorted(self._confirms):
            verdict = confirms.verdict(task, epoch, self.session)
            if verdict is None:
                continue
            self._confirms.discard((task, epoch))
            outputs.verdicts.append(verdict)
            if not verdict.confirmed:
                chain.claim_lost(task)
        verdicts, lost = self._reserved.take(reservations, self.session, now, settled)
        outputs.reservations.extend(verdicts)
        if lost:  # they leave this session's STATUS
            chain.reservations_lost(lost)
