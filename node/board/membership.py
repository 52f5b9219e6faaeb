"""Who the room's members are, as judged in the fold: the sessions a claim on the mesh needs.

A member is a session whose node registered it (its ``swarm.register`` is in the fold, sent by
a node rather than read from a STATUS file, and no ``swarm.leave`` of its node came after)
and whose last event is within the lease at the time the question is asked. Every node that
holds the same events gives the same answer for the same time, which is the point: liveness
(pings) is each node's own view and may differ between two nodes, so it never decides who must
be asked. A member that stops speaking stops being one only once its last event is older than
the lease — until then claims are decided by git, since the mesh cannot hear from it
(docs/claims.md).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from ifmesh.node.board.state import Board


def members(board: Board, at: datetime, lease: timedelta) -> frozenset[str]:
    """The sessions registered by a node whose last event is within ``lease`` of ``at``."""
    return frozenset(
        session.session_id
        for session in board.sessions.values()
        if session.node
        and session.status_timestamp is not None
        and at - session.status_timestamp < lease
    )


def without_node(board: Board, at: datetime, lease: timedelta) -> frozenset[str]:
    """Sessions heard from within ``lease`` of ``at`` that no node registered: they claim
    through their STATUS files in git alone, so they can never ack a claim on the mesh."""
    return frozenset(
        session.session_id
        for session in board.sessions.values()
        if not session.node
        and session.status_timestamp is not None
        and at - session.status_timestamp < lease
    )
