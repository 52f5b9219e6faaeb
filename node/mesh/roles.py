"""Roles on the mesh: who may send which IFMessages, judged by the server-stamped roster.

The signaling server admits every member with a role from its join token (node, observer or
operator) and stamps it on the roster it pushes, but it never sees a data-channel frame, so the
nodes enforce the roles (docs/dashboard.md, "Roles"):

- a **node** (a session) sends anything: every message is judged by the board, as before;
- an **observer** (the dashboard) changes nothing: it may send the generic ``message`` (no
  board effect) and no event at all;
- an **operator** is an observer that may offer help (``help.offer``, folded as its own event)
  and answer an ask-release (``task.release`` or ``task.keep`` naming the task and the
  holder's epoch). Only the holder may answer in the fold, so an operator's answer is never
  folded as sent: the holder's node answers in its place, as its own event
  (:mod:`ifmesh.node.runtime.operator_answers`), and every other node lets it pass unfolded.

An operator's events must also be signed by an operator key the node pins in its local
configuration (``signatures``, set by the runtime when it signs: the identity gate's
:meth:`~ifmesh.node.identity.gate.Gate.operator_signed`). That is checked here, before an answer
goes to the holder's node, which never sees the operator's signature otherwise, and so that a
page whose key the node does not pin is told why.

A refused message is dropped before the board sees it: it is not folded, acked or answered,
counts in the peer's ``refused`` metric, is logged once per peer and reason, and its sender is
told why in a ``role.refused`` hint, so that a page can say why its action failed.

Roles are remembered after a member leaves the roster (until it joins again with another role):
an observer or operator heard from in the fold is *excused* from claims for good, so it is
never asked for an ack nor taken for a session without a node (``Mesh.excused``,
``node/claims/asking.py``). A session not yet seen on the roster is judged a node: on one server
its roster entry always reaches us before its offer does.
"""

from __future__ import annotations

import contextlib
import enum
from collections import deque
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

import structlog

from ifmesh.node.errors import ProtocolError
from ifmesh.node.mesh.errors import (
    AnswerRefused,
    OperatorNotAllowed,
    PeerUnavailable,
    ReadOnlyRole,
    RoleRefused,
)
from ifmesh.node.mesh.frame_writer import FrameWriter
from ifmesh.node.protocol import messages as m
from ifmesh.signaling.protocol import Member

if TYPE_CHECKING:
    from ifmesh.node.mesh.pair import Pair
    from ifmesh.node.mesh.peer import PeerLink

log = structlog.get_logger(__name__)

ANSWERS_REMEMBERED = 1024
REFUSED_TOPIC = "role.refused"
"""The hint a node sends the peer whose message it refused (docs/mesh-protocol.md, §9)."""


class Role(enum.StrEnum):
    NODE = "node"
    OBSERVER = "observer"
    OPERATOR = "operator"


OPERATOR_EVENTS = frozenset({"help.offer"})
"""Events an operator sends as its own, folded like any session's."""

OPERATOR_ANSWERS = frozenset({"task.release", "task.keep"})
"""An operator's answers to an ask-release: given by the holder's node on its behalf."""

OperatorAnswerHandler = Callable[[str, m.Envelope], AnswerRefused | None]
"""Given (operator, answer): the holder's node answers for it and returns None, or says why it
will not (``AnswerRefused``); a node that does not hold the task returns None and does
nothing."""

SignatureCheck = Callable[[str, m.Envelope], ProtocolError | None]
"""Given (peer, an operator's message): None when it is signed as an operator's must be, else
why not (its ``code`` and ``reason`` go into the hint)."""


class Judgement(enum.Enum):
    ADMIT = "admit"  # deliver it, as any message
    ANSWER = "answer"  # an operator's answer: for the holder's node to give, never folded


def judge(role: Role, message: m.Envelope) -> Judgement | RoleRefused:
    """What a node does with ``message`` from a peer with ``role``."""
    kind = message.type
    if role is Role.NODE or kind not in m.EVENT_TYPES:  # the generic message changes nothing
        return Judgement.ADMIT
    if role is Role.OBSERVER:
        return ReadOnlyRole(
            f"{message.source} is an observer (its join token's role): it may not send"
            f" {kind}; observers change nothing in the room"
        )
    if kind in OPERATOR_ANSWERS:
        return Judgement.ANSWER
    payload = message.payload
    if kind in OPERATOR_EVENTS and getattr(payload, "helper_swarm_id", None) == message.source:
        return Judgement.ADMIT
    allowed = ", ".join(sorted(OPERATOR_EVENTS | OPERATOR_ANSWERS))
    if kind in OPERATOR_EVENTS:
        return OperatorNotAllowed(
            f"an operator offers help as itself: helper_swarm_id must be {message.source}"
        )
    return OperatorNotAllowed(
        f"{message.source} is an operator: it may send {allowed} (to answer an ask-release),"
        f" not {kind}"
    )


class RoomRoles:
    """Each session's role as the signaling server last stamped it on the roster."""

    def __init__(self) -> None:
        self._roles: dict[str, Role] = {}
        # Sessions last seen with another role than node: the only ones the gate judges.
        self.restricted: frozenset[str] = frozenset()

    def seen(self, session: str, role: str | None) -> None:
        """``session`` is on the roster with ``role`` (absent: node)."""
        self._roles[session] = Role(role or Role.NODE)
        self.restricted = frozenset(s for s, r in self._roles.items() if r is not Role.NODE)

    def role_of(self, session: str) -> Role:
        return self._roles.get(session, Role.NODE)

    def joined(self, roster: Iterable[Member], me: str) -> None:
        """A whole roster (our join): every member's role. This node itself admitted as
        anything but a node is a mistake worth saying: the others refuse all its events."""
        for member in roster:
            self.seen(member.session, member.role)
        if self.role_of(me) is not Role.NODE:
            log.warning(
                "joined_as_non_node", session=me, role=self.role_of(me).value,
                note="the join token's role is not node: the other nodes refuse this node's"
                " events; mint a node token (`ifmesh token` without --role)",
            )  # fmt: skip


class RoleGate:
    """Judges each message by its sender's role before the inbox delivers it."""

    def __init__(self, writer: FrameWriter) -> None:
        self.writer = writer
        self.roles = RoomRoles()
        self.answer: OperatorAnswerHandler | None = None
        self.signatures: SignatureCheck | None = None  # None: a room without signing
        self._logged: set[tuple[str, str]] = set()
        # Answers already given, by id: a message may come twice (it is judged before the
        # inbox's dedupe), an answer is given once.
        self._answered: deque[str] = deque(maxlen=ANSWERS_REMEMBERED)

    def admits(self, pair: Pair, link: PeerLink, message: m.Envelope) -> bool:
        """Whether to deliver ``message``; a refusal is counted, logged once and hinted."""
        if pair.peer not in self.roles.restricted:  # a node: the path every message takes
            return True
        role = self.roles.role_of(pair.peer)
        verdict = judge(role, message)
        if isinstance(verdict, RoleRefused):
            self._refuse(pair, link, message, role, verdict)
            return False
        # Checked before an answer is remembered as given: a forged copy of an answer's id
        # must not keep the genuine, signed answer out.
        unsigned = self._unsigned(pair.peer, message) if role is Role.OPERATOR else None
        if unsigned is not None:
            self._refuse(pair, link, message, role, unsigned)
            return False
        if verdict is Judgement.ADMIT:
            return True
        # An operator's answer: the holder's node gives it, once, and nobody folds it as sent.
        if message.id not in self._answered:
            self._answered.append(message.id)
            refusal = self._answer(pair.peer, message)
            if refusal is not None:
                self._refuse(pair, link, message, role, refusal)
        return False

    def _unsigned(self, peer: str, message: m.Envelope) -> ProtocolError | None:
        check = self.signatures
        if check is None:
            return None
        try:
            return check(peer, message)
        except Exception:  # a bug in the check must not take the channel down; refuse (safe)
            log.exception("operator_signature_check_failed", peer=peer, id=message.id)
            return RoleRefused("the node failed to check the signature; see its log")

    def _answer(self, operator: str, message: m.Envelope) -> AnswerRefused | None:
        if self.answer is None:  # a mesh without a board (tests, benchmarks): nothing to do
            return None
        try:
            return self.answer(operator, message)
        except Exception:  # a bug in the handler must not take the channel down
            log.exception("operator_answer_failed", operator=operator, id=message.id)
            return AnswerRefused("the node failed to answer; see its log")

    def _refuse(
        self, pair: Pair, link: PeerLink, message: m.Envelope, role: Role, refusal: ProtocolError
    ) -> None:
        pair.metrics.refused += 1
        if (pair.peer, refusal.code) not in self._logged:
            self._logged.add((pair.peer, refusal.code))
            log.warning(
                "role_refused", peer=pair.peer, role=role.value, type=message.type,
                code=refusal.code, reason=refusal.reason, note="logged once per peer and code",
            )  # fmt: skip
        data: dict[str, object] = {
            "id": message.id,
            "type": message.type,
            "code": refusal.code,
            "role": role.value,
            "reason": refusal.reason,
        }
        # A hint: sent now if the channel has room, else lost (the refusal stands anyway).
        with contextlib.suppress(PeerUnavailable):
            link.try_send([self.writer.hint(REFUSED_TOPIC, data)])
