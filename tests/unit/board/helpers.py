"""Small boards and hand-stamped events for the board's unit tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import MappingProxyType
from typing import Any

from ifmesh.node.board.state import Board, Task, TaskStatus
from ifmesh.node.protocol import messages as m

T0 = datetime(2025, 11, 12, 14, 0, tzinfo=UTC)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def board(*tasks: Task) -> Board:
    return Board(tasks=MappingProxyType({t.task_id: t for t in tasks}))


def chain_board() -> Board:
    """A ← B ← C (B depends on A, C on B), plus a free filler F."""
    return board(
        Task("A", title="first"),
        Task("B", title="second", status=TaskStatus.BLOCKED, dependencies=("A",)),
        Task("C", title="third", status=TaskStatus.BLOCKED, dependencies=("B",)),
        Task("F", title="filler"),
    )


class Stamper:
    """Stamps events per source with increasing seq and the Lamport times a test chooses."""

    def __init__(self) -> None:
        self.seqs: dict[str, int] = {}

    def __call__(
        self,
        source: str,
        payload: m.Payload,
        *,
        lamport: int,
        when: datetime = T0,
        incarnation: str = "i1",
        **fields: Any,
    ) -> m.Envelope:
        seq = self.seqs.get(source, 0) + 1
        self.seqs[source] = seq
        return m.make_message(
            payload,
            source=source,
            timestamp=when,
            seq=seq,
            lamport=lamport,
            incarnation=incarnation,
            **fields,
        )


def claim(task_id: str, source: str, epoch: int = 0, **extra: Any) -> m.TaskClaim:
    return m.TaskClaim(task_id=task_id, epoch=epoch, swarm_id=source, timestamp=T0, **extra)


def progress(task_id: str, epoch: int = 0, percent: int = 50) -> m.TaskProgress:
    return m.TaskProgress(task_id=task_id, epoch=epoch, percent=percent)


def complete(task_id: str, epoch: int = 0) -> m.TaskComplete:
    return m.TaskComplete(task_id=task_id, epoch=epoch, tests_pass=True)
