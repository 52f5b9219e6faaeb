"""Git-tier claim confirmation: the first confirm record per (task, epoch) wins.

A confirm record is a STATUS file, changed by a commit on the coordination branch, that says
``claiming: TASK`` (with ``epoch:``; a seed session's record without one is epoch 0). Walking
the branch's first-parent history from its root, the first record for a (task, epoch) names
the winner; every later one lost. Every reader of the branch gets the same answer from git
alone. Two records for one (task, epoch) in a single commit: the lower session id wins.

One commit may carry several records of one session: ``claiming:`` names one, and
``also_claiming: [TASK@EPOCH, ...]`` the others. The bridge writes that when it squashes
commits queued behind a lost push race into one (see :mod:`ifmesh.node.gitsync.chain`).

The ledger is a pure fold of records in history order; the edge feeds it commit by commit and
rebuilds it from the root when the branch is force-pushed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from ifmesh.node.board.formats.status import StatusFile
from ifmesh.node.protocol.messages import ClaimLost, TaskConfirmed

TaskEpoch = tuple[str, int]
ALSO_CLAIMING = "also_claiming"
_RECORD = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._:-]{0,63})@(\d{1,9})$")


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


def also_claiming(status: StatusFile) -> list[tuple[str, int]]:
    """The further records a STATUS carries when one commit holds several of its session's
    claims (``also_claiming: [F2.1@0, ...]``); malformed entries are ignored."""
    entries = status.extra.get(ALSO_CLAIMING)
    if not isinstance(entries, list):
        return []
    found = []
    for entry in entries:
        match = _RECORD.match(str(entry))
        if match:
            found.append((match.group(1), int(match.group(2))))
    return found


def records_in(commit: str, files: Iterable[tuple[str, StatusFile]]) -> list[ConfirmRecord]:
    """Confirm records of the STATUS files (path, parsed) one commit changed, lowest session
    first (``claiming:`` before the session's ``also_claiming:`` entries)."""
    records = []
    for _path, status in files:
        session = status.session
        if status.claiming is not None:
            records.append(ConfirmRecord(status.claiming, status.epoch or 0, session, commit))
        for task, epoch in also_claiming(status):
            records.append(ConfirmRecord(task, epoch, session, commit))
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
