"""Roles on the mesh: what an observer or operator peer may send, how a node refuses the rest
(counted, logged once, told to the sender), that such peers are never asked for a claim, and
how the holder's node gives an operator's answer to an ask-release as its own event."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import structlog

from ifmesh.node.board.state import BoardConfig
from ifmesh.node.claims import rules
from ifmesh.node.errors import ProtocolError
from ifmesh.node.identity import seal
from ifmesh.node.identity.keys import SessionKey
from ifmesh.node.mesh.errors import AnswerRefused, OperatorNotAllowed, ReadOnlyRole
from ifmesh.node.mesh.events import PeerMetrics
from ifmesh.node.mesh.frame_reader import FrameReader
from ifmesh.node.mesh.frame_writer import FrameWriter
from ifmesh.node.mesh.framing import HintArrived
from ifmesh.node.mesh.roles import (
    REFUSED_TOPIC,
    Judgement,
    Role,
    RoleGate,
    RoomRoles,
    judge,
)
from ifmesh.node.protocol import messages as m
from ifmesh.node.runtime import operator_answers
from tests.unit.board.helpers import Room, at

NOW = datetime(2026, 1, 5, 9, 30, tzinfo=UTC)


def message(payload: m.Payload, source: str = "watcher", **fields: object) -> m.Envelope:
    return m.make_message(payload, source=source, timestamp=NOW, **fields)


def claim(source: str = "watcher") -> m.Envelope:
    return message(m.TaskClaim(task_id="A", epoch=0, swarm_id=source, timestamp=NOW), source)


def offer(helper: str, source: str = "watcher") -> m.Envelope:
    payload = m.HelpOffer(request_id="r-1", task_id="A", helper_swarm_id=helper)
    return message(payload, source)


def chat() -> m.Envelope:
    return message(m.GenericPayload(text="hello"))


# --- what each role may send -------------------------------------------------------------------


def test_a_node_may_send_anything() -> None:
    assert judge(Role.NODE, claim()) is Judgement.ADMIT


def test_an_observer_sends_no_event_at_all() -> None:
    for sent in (claim(), offer("watcher"), message(m.TaskRelease(task_id="A", epoch=0))):
        verdict = judge(Role.OBSERVER, sent)
        assert isinstance(verdict, ReadOnlyRole), sent.type
        assert verdict.code == "observer_read_only" and "observer" in str(verdict)


def test_a_generic_message_changes_nothing_so_anyone_may_send_it() -> None:
    assert judge(Role.OBSERVER, chat()) is Judgement.ADMIT
    assert judge(Role.OPERATOR, chat()) is Judgement.ADMIT


def test_an_operator_offers_help_as_itself_and_nothing_else_of_its_own() -> None:
    assert judge(Role.OPERATOR, offer("watcher")) is Judgement.ADMIT
    as_another = judge(Role.OPERATOR, offer("session-2-webrtc"))
    assert isinstance(as_another, OperatorNotAllowed) and "helper_swarm_id" in str(as_another)
    claimed = judge(Role.OPERATOR, claim())
    assert isinstance(claimed, OperatorNotAllowed) and claimed.code == "operator_not_allowed"


def test_an_operators_release_or_keep_is_an_answer_for_the_holders_node() -> None:
    keep = message(m.TaskKeep(task_id="A", epoch=0, reason="almost done"))
    assert judge(Role.OPERATOR, keep) is Judgement.ANSWER
    assert judge(Role.OPERATOR, message(m.TaskRelease(task_id="A", epoch=0))) is Judgement.ANSWER


# --- roles on the roster, and claims -------------------------------------------------------------


def test_roles_are_remembered_after_leaving_until_a_join_says_otherwise() -> None:
    roles = RoomRoles()
    roles.seen("session-2", None)
    roles.seen("watcher", "observer")
    assert roles.role_of("session-2") is Role.NODE and roles.role_of("unknown") is Role.NODE
    assert roles.restricted == {"watcher"}
    roles.seen("watcher", "node")  # it came back with a node's token
    assert roles.restricted == frozenset()


def test_a_claim_never_asks_an_observer_or_operator() -> None:
    roster = {"session-3", "watcher", "operator"}
    excused = {"watcher", "operator", "gone"}
    asked = rules.must_ask({"session-2", "session-4", "gone"}, roster, "session-2", excused)
    assert asked == frozenset({"session-3", "session-4"})
    # No roles known: everyone on the roster is asked, as before roles existed.
    assert rules.must_ask((), {"session-3", "watcher"}, "me") == {"session-3", "watcher"}


# --- the gate in front of the inbox --------------------------------------------------------------


@dataclass(eq=False)
class Link:
    sent: list[bytes] = field(default_factory=list)

    def try_send(self, frames: list[bytes], size: int = -1) -> bool:
        self.sent += frames
        return True


@dataclass
class Pair:
    peer: str
    metrics: PeerMetrics = field(default_factory=PeerMetrics)


def _hints(link: Link) -> list[dict[str, object]]:
    events = [e for f in link.sent for e in FrameReader().read(f)]
    return [e.data for e in events if isinstance(e, HintArrived) and e.topic == REFUSED_TOPIC]


def gate_with(role: str) -> RoleGate:
    gate = RoleGate(FrameWriter())
    gate.roles.seen("watcher", role)
    return gate


def test_a_refused_message_is_counted_told_and_logged_once() -> None:
    gate, pair, link = gate_with("observer"), Pair("watcher"), Link()
    with structlog.testing.capture_logs() as logs:
        assert not gate.admits(pair, link, claim())  # type: ignore[arg-type]
        assert not gate.admits(pair, link, claim())  # type: ignore[arg-type]
    assert pair.metrics.refused == 2
    assert [entry["event"] for entry in logs] == ["role_refused"]
    hints = _hints(link)
    assert len(hints) == 2
    assert hints[0]["code"] == "observer_read_only" and hints[0]["role"] == "observer"
    assert hints[0]["type"] == "task.claim" and "observer" in str(hints[0]["reason"])


def test_a_node_passes_without_a_look() -> None:
    gate, link = gate_with("observer"), Link()
    assert gate.admits(Pair("session-2"), link, claim("session-2"))  # type: ignore[arg-type]
    assert link.sent == []


def test_an_operators_answer_goes_to_the_handler_once_and_its_refusal_to_the_page() -> None:
    gate, pair, link = gate_with("operator"), Pair("watcher"), Link()
    answered: list[str] = []

    def answer(operator: str, sent: m.Envelope) -> AnswerRefused | None:
        answered.append(sent.type)
        return AnswerRefused("nobody asked session-2 to release A")

    gate.answer = answer
    keep = message(m.TaskKeep(task_id="A", epoch=0, reason="no"))
    assert not gate.admits(pair, link, keep)  # type: ignore[arg-type]
    assert not gate.admits(pair, link, keep)  # type: ignore[arg-type]  # the same id again
    assert answered == ["task.keep"]
    assert [h["code"] for h in _hints(link)] == ["answer_refused"]
    assert gate.admits(pair, link, offer("watcher"))  # type: ignore[arg-type]


def test_an_operators_unsigned_answer_is_refused_before_the_holder_sees_it() -> None:
    """With signing on, the node checks an operator's signature first: a refused answer never
    reaches the holder's node, the page is told why, and a forged copy of an answer's id does
    not keep the genuine answer out."""
    gate, pair, link = gate_with("operator"), Pair("watcher"), Link()
    answered: list[str] = []
    gate.answer = lambda operator, sent: answered.append(sent.id)  # type: ignore[func-returns-value]
    signed: set[str] = set()

    def signatures(peer: str, sent: m.Envelope) -> ProtocolError | None:
        return None if sent.nonce in signed else ProtocolError("not signed", path="signature")

    gate.signatures = signatures
    keep = message(m.TaskKeep(task_id="A", epoch=0, reason="no"), id="k-1", nonce="n")
    assert not gate.admits(pair, link, keep)  # type: ignore[arg-type]
    assert not gate.admits(pair, link, offer("watcher"))  # type: ignore[arg-type]
    assert answered == [] and pair.metrics.refused == 2
    assert [h["reason"] for h in _hints(link)] == ["not signed", "not signed"]
    signed.add("n")
    assert not gate.admits(pair, link, keep)  # type: ignore[arg-type]
    assert answered == ["k-1"]
    # An observer is refused for its role, whatever its signature.
    observer = gate_with("observer")
    observer.signatures = signatures
    assert not observer.admits(Pair("watcher"), Link(), claim())  # type: ignore[arg-type]


# --- the holder's node answers for the operator --------------------------------------------------


def asked_room() -> Room:
    room = Room(("s1", "s2"), BoardConfig(lease=timedelta(minutes=15)))
    room.send(room["s1"].claim("A", at(0)))
    room.send(room["s2"].queues.ask_release("A", "I need it", at(1), grace=timedelta(minutes=5)))
    return room


def test_the_holders_node_keeps_the_task_for_the_operator_as_its_own_event() -> None:
    room = asked_room()
    keep = message(m.TaskKeep(task_id="A", epoch=0, reason="done today"), "op")
    assert operator_answers.answer(room["s2"], "op", keep, at(2)) == ((), None)  # not s2's
    events, refused = operator_answers.answer(room["s1"], "op", keep, at(2))
    assert refused is None and [(e.type, e.source) for e in events] == [("task.keep", "s1")]
    assert isinstance(events[0].payload, m.TaskKeep)
    assert events[0].payload.reason == "done today (answered by operator op)"
    room.send(events)
    assert room.task().ask is None and room.task().owner == "s1"


def test_a_signed_keep_names_the_operator_key_that_answered() -> None:
    room, operator = asked_room(), SessionKey.generate()
    keep = seal.sign(message(m.TaskKeep(task_id="A", epoch=0, reason="mine"), "op"), operator)
    events, _ = operator_answers.answer(room["s1"], "op", keep, at(2))
    assert isinstance(events[0].payload, m.TaskKeep)
    assert (
        events[0].payload.reason == f"mine (answered by operator op, key {operator.public.short})"
    )


def test_the_holders_node_releases_the_task_for_the_operator() -> None:
    room = asked_room()
    release = message(m.TaskRelease(task_id="A", epoch=0), "op")
    events, refused = operator_answers.answer(room["s1"], "op", release, at(2))
    room.send(events)
    assert refused is None and room.task().owner is None


def test_an_answer_naming_another_epoch_is_refused() -> None:
    room = asked_room()
    release = message(m.TaskRelease(task_id="A", epoch=3), "op")
    events, refused = operator_answers.answer(room["s1"], "op", release, at(2))
    assert events == () and refused is not None and "epoch 3" in str(refused)


def test_an_operator_answers_only_an_ask_it_does_not_take_tasks_away() -> None:
    room = Room(("s1",), BoardConfig())
    room.send(room["s1"].claim("A", at(0)))
    release = message(m.TaskRelease(task_id="A", epoch=0), "op")
    events, refused = operator_answers.answer(room["s1"], "op", release, at(1))
    assert events == () and refused is not None and "nobody asked" in str(refused)
    assert room["s1"].board.tasks["A"].owner == "s1"


def test_hint_data_is_json() -> None:
    gate, link = gate_with("observer"), Link()
    gate.admits(Pair("watcher"), link, claim())  # type: ignore[arg-type]
    assert json.loads(link.sent[0][1:])["topic"] == REFUSED_TOPIC
