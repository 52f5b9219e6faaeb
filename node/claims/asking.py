"""Whom a decision asks, and whether git must decide before it is even sent: the rules of
:mod:`ifmesh.node.claims.rules` against the node's live mesh and board. Claims
(:mod:`ifmesh.node.claims.decider`) and path reservations (:mod:`ifmesh.node.claims.reserving`)
are decided among the same sessions.

Observers and operators are *excused* (the signaling server stamped their role,
:mod:`ifmesh.node.mesh.roles`): every node refuses their claims, so a decision needs no ack
from them, and one heard from in the fold (an operator's help offer) is no session claiming
through git either.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from ifmesh.node.board.membership import members, without_node
from ifmesh.node.board.replica import Replica
from ifmesh.node.claims import rules
from ifmesh.node.protocol.messages import Envelope


class AskingMesh(Protocol):
    @property
    def roster(self) -> frozenset[str]: ...
    @property
    def excused(self) -> frozenset[str]: ...
    @property
    def decidable(self) -> frozenset[str]: ...


class AskingNode(Protocol):
    @property
    def session(self) -> str: ...
    @property
    def mesh(self) -> AskingMesh | None: ...
    def replica_or_fail(self) -> Replica: ...


def route(node: AskingNode, event: Envelope) -> tuple[frozenset[str], str]:
    """The sessions ``event`` (a claim, steal or reservation, already folded) must be acked
    by, judged at its timestamp; and why git must decide it instead ("" when the mesh can)."""
    mesh, me = node.mesh, node.session
    excused = mesh.excused if mesh is not None else frozenset()
    asked = asked_at(node, event.timestamp)
    # Views, not ``Replica.board``: that copies every task after each fold (~1 ms on a board
    # of 20,000 tasks), and this runs on the claim's path before it is sent.
    board, lease = node.replica_or_fail().log.view(), node.replica_or_fail().config.lease
    nodeless = without_node(board, event.timestamp, lease) - excused - {me}
    decidable = mesh.decidable if mesh is not None else frozenset()
    return asked, rules.git_before(event, asked, decidable, nodeless)


def asked_at(node: AskingNode, at: datetime) -> frozenset[str]:
    """Whom a decision made at ``at`` asks, as the fold and the roster say now (asked again
    once the acks are in: a session that joined meanwhile sends the decision to git)."""
    replica, mesh = node.replica_or_fail(), node.mesh
    roster = mesh.roster if mesh is not None else frozenset()
    excused = mesh.excused if mesh is not None else frozenset()
    here = members(replica.log.view(), at, replica.config.lease)
    return rules.must_ask(here, roster, node.session, excused)
