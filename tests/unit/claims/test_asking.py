"""Whom a decision asks, against a node's mesh and fold (node.claims.asking): observers and
operators the server stamped so are never asked, and one heard from in the fold is no session
claiming through git."""

from __future__ import annotations

from dataclasses import dataclass

from ifmesh.node.claims import asking
from tests.unit.board.helpers import Stamper, at
from tests.unit.claims.test_rules import register
from tests.unit.control.support import StandInNode


@dataclass
class RolesMesh:
    roster: frozenset[str]
    excused: frozenset[str]
    decidable: frozenset[str]


def node_with(mesh: RolesMesh, *heard_through_git: str) -> StandInNode:
    node = StandInNode()
    stamp = Stamper()
    for n, session in enumerate(heard_through_git, start=1):  # STATUS files, no node
        node.replica.receive(stamp(session, register(session), lamport=n, when=at(0),
                                   incarnation="git:abc"))  # fmt: skip
    node.mesh = mesh  # type: ignore[assignment]
    return node


def test_an_operator_heard_from_in_the_fold_is_no_session_claiming_through_git() -> None:
    mesh = RolesMesh(frozenset({"s2", "operator"}), frozenset({"operator"}), frozenset({"s2"}))
    node = node_with(mesh, "operator")
    claim = node.replica.claim("A", at(1))[0]
    asked, why_git = asking.route(node, claim)
    assert (asked, why_git) == ({"s2"}, "")
    # A session without a node that is no operator still sends the claim to git.
    node = node_with(mesh, "operator", "poller")
    asked, why_git = asking.route(node, node.replica.claim("A", at(1))[0])
    assert "poller" in why_git and "operator" not in why_git
