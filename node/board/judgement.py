"""What a reducer handler returns: a refusal, nothing to do, or a commit to run.

Handlers judge an event against the board before changing anything, so the governor can fold
the accepted event with the board *before* it (see :func:`ifmesh.node.board.reducer.apply`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from ifmesh.node.board.effects import Effect, Rejected
from ifmesh.node.board.fold import FoldState
from ifmesh.node.board.governance import Governance
from ifmesh.node.board.state import BoardConfig
from ifmesh.node.protocol import messages as m

Commit = Callable[[], None]


class Refused:
    """Marker: the event was judged invalid and changes nothing."""


REFUSED: Final = Refused()
Outcome = Commit | Refused | None  # None: accepted, nothing to change (idempotent)
Handler = Callable[[FoldState, m.Envelope, BoardConfig, Governance, list[Effect]], Outcome]


def refuse(
    effects: list[Effect], event: m.Envelope, task_id: str, code: str, reason: str
) -> Refused:
    """Records why ``event`` is a no-op, for its sender, and returns :data:`REFUSED`."""
    effects.append(Rejected(event.id, event.source, event.type, task_id, code, reason))
    return REFUSED
