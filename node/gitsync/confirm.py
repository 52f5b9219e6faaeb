"""Git-tier claim confirmation: the first confirm record per (task, epoch) wins.

A confirm record is a STATUS file, changed by a commit on the coordination branch, that says
``claiming: TASK`` (with ``epoch:``; a seed session's record without one is epoch 0). Walking
the branch's first-parent history from its root, the first record for a (task, epoch) names
the winner; every later one lost. Every reader of the branch gets the same answer from git
alone. Two records for one (task, epoch) in a single commit: the lower session id wins.

The ledger is a pure fold of records in history order; the edge feeds it commit by commit and
rebuilds it from the root when the branch is force-pushed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from node.board.formats.status import StatusFile
from node.gitsync.paths import session_of_status
from node.messages import ClaimLost, TaskConfirmed

TaskEpoch = tuple[str, int]


@dataclass(frozen=True)
class ConfirmRecord:
    task: str
    epoch: int
    session: str
    commit: str


@dataclass(frozen=True)
class Verdict:
    """The git tier's answer for one session's claim on (task, epoch)."""

    task: str
    epoch: int
    session: str
    winner: str
    commit: str  # the commit holding the winning record

    @property
    def confirmed(self) -> bool:
        return self.winner == self.session

    def payload(self) -> TaskConfirmed | ClaimLost:
        if self.confirmed:
            return TaskConfirmed(task_id=self.task, epoch=self.epoch, winner=self.winner)
        return ClaimLost(task_id=self.task, epoch=self.epoch, winner=self.winner)


def records_in(commit: str, files: Iterable[tuple[str, StatusFile]]) -> list[ConfirmRecord]:
    """Confirm records of the STATUS files (path, parsed) one commit changed, lowest session
    first."""
    records = []
    for path, status in files:
        session = session_of_status(path)
        if session is None or status.claiming is None:
            continue
        records.append(ConfirmRecord(status.claiming, status.epoch or 0, session, commit))
    return sorted(records, key=lambda record: record.session)


class ConfirmLedger:
    def __init__(self) -> None:
        self._winners: dict[TaskEpoch, ConfirmRecord] = {}

    def apply(self, records: Iterable[ConfirmRecord]) -> list[ConfirmRecord]:
        """Folds the records of the next commit; returns the ones that won."""
        won = []
        for record in records:
            key = (record.task, record.epoch)
            if key not in self._winners:
                self._winners[key] = record
                won.append(record)
        return won

    def winner(self, task: str, epoch: int) -> ConfirmRecord | None:
        return self._winners.get((task, epoch))

    def verdict(self, task: str, epoch: int, session: str) -> Verdict | None:
        record = self._winners.get((task, epoch))
        if record is None:
            return None
        return Verdict(task, epoch, session, record.session, record.commit)

    def copy(self) -> ConfirmLedger:
        ledger = ConfirmLedger()
        ledger._winners = dict(self._winners)
        return ledger

    def winners(self) -> dict[TaskEpoch, ConfirmRecord]:
        return dict(self._winners)
