"""The board's seam for IF.governor: the board records, the governor decides.

The reducer calls a :class:`Governance` for every event, in the total order, with the board as
it was *before* that event: ``admit`` for claims and steals (a refusal makes the event a no-op
on every node alike), ``fold`` so the governor keeps its own part of the state (registrations,
reservations, breakers) inside the same pure fold, and ``route_help`` to choose helpers for a
``help.request``. Everything is judged at the event's own timestamp, never a node's clock.

Precisely, per event: the board first runs its own checks (unknown task, held by another,
stale epoch, dependencies, lease); only a claim or steal that passes them reaches ``admit``.
``route_help`` is asked for a ``help.request`` before it is folded. ``fold`` then sees every
event the board accepts — not a claim refused by ``admit``, not a claim that lost the mesh
contest, not progress from a fenced owner — always before the board applies it. A git verdict
(``task.confirmed`` / ``claim.lost``) naming another winner than the mesh's is folded too, so a
reservation made by the mesh loser can be released there.

The board never imports the governor; the runtime passes one in. ``PERMISSIVE`` admits
everything and keeps no state: the board's default until a governor is wired.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from ifmesh.node.protocol.messages import Envelope


@dataclass(frozen=True)
class Admission:
    """The governor's verdict on one claim or steal.

    ``code`` is the refusal's error code (``policy_denied``, ``budget_exhausted``,
    ``circuit_open``), ``retry_after`` the seconds until a breaker may let a probe through.
    """

    admitted: bool
    reason: str = ""
    code: str = ""
    retry_after: float | None = None


ADMITTED = Admission(admitted=True)


class Governance(Protocol):
    """What the reducer needs from a governor. ``part`` is the governor's own folded state;
    ``board`` is the board state before ``event`` (read-only)."""

    def initial(self) -> Any: ...

    # A governance may set ``folds = False`` when its ``fold`` returns ``part`` unchanged for
    # every event; the reducer then skips the call (optional, read with getattr).

    def admit(self, part: Any, board: Any, event: Envelope) -> Admission: ...

    def fold(self, part: Any, board: Any, event: Envelope) -> Any: ...

    def route_help(self, part: Any, board: Any, request: Envelope) -> tuple[str, ...]: ...


class Permissive:
    """Admits every claim and steal and keeps no state of its own.

    Its helper choice is the plainest deterministic one: registered sessions other than the
    requester that offer at least one required capability, best coverage first, ties by id,
    at most ``max_helpers``. The real governor replaces all of this.
    """

    folds = False  # fold() is the identity: the reducer need not call it

    def initial(self) -> Any:
        return None

    def admit(self, part: Any, board: Any, event: Envelope) -> Admission:
        return ADMITTED

    def fold(self, part: Any, board: Any, event: Envelope) -> Any:
        return part

    def route_help(self, part: Any, board: Any, request: Envelope) -> tuple[str, ...]:
        payload = request.payload
        required = set(getattr(payload, "required_capabilities", ()))
        limit = int(getattr(payload, "max_helpers", 3))
        requester = getattr(payload, "blocked_swarm_id", request.source)
        ranked = []
        for session_id, session in board.sessions.items():
            if session_id == requester:
                continue
            covered = len(required & set(session.capabilities))
            if covered:
                ranked.append((-covered, session_id))
        return tuple(session_id for _, session_id in sorted(ranked)[:limit])


PERMISSIVE: Governance = Permissive()
