"""Small boards and hand-stamped events for the board's unit tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import MappingProxyType
from typing import Any

from ifmesh.node.board.replica import Replica
from ifmesh.node.board.state import Board, BoardConfig, Task, TaskStatus
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


class Room:
    """Replicas of ``sessions`` on the chain board that see every event at once."""

    def __init__(self, sessions: tuple[str, ...], config: BoardConfig) -> None:
        self.replicas = {
            s: Replica(s, f"inc-{s}", initial=chain_board(), config=config) for s in sessions
        }

    def __getitem__(self, session: str) -> Replica:
        return self.replicas[session]

    def send(self, events: tuple[m.Envelope, ...]) -> None:
        for event in events:
            for replica in self.replicas.values():
                if replica.session_id != event.source:
                    replica.receive(event)

    def task(self, task_id: str = "A") -> Task:
        """The task as the last session sees it (every replica folds the same events)."""
        return list(self.replicas.values())[-1].board.tasks[task_id]

    def effects(self, session: str) -> list[object]:
        return list(self.replicas[session].effects())

    def told(self, session: str, kind: type) -> list[object]:
        """The effects of ``kind`` addressed to ``session``."""
        return [e for e in self.effects(session) if isinstance(e, kind) and e.session == session]
