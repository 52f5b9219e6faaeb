"""IFMessages in the origin's wire shape (the TypeScript mesh of dannystocker/infrafabric): read,
kept as sent, re-encoded canonically, refused with typed errors, and never folded as events."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest

from ifmesh.node import errors
from ifmesh.node.board.canonical import canonical_bytes
from ifmesh.node.board.log import EventLog
from ifmesh.node.protocol import codec, fixtures, messages
from ifmesh.node.protocol.fields import LEVEL_NUMBERS, Ed25519Signature, level_name
from ifmesh.node.protocol.messages import GenericPayload
from tests.unit.board.helpers import Stamper, at, chain_board, claim, progress

# As the origin's mesh test builds one (webrtc-agent-mesh tests): level 2, "broadcast", no type.
ORIGIN = (
    b'{"id":"mesh-msg-0","timestamp":"2025-11-12T14:00:00.250Z","level":2,'
    b'"source":"mesh-agent-0","destination":"broadcast","version":"2.1",'
    b'"payload":{"sendTime":1523.5,"messageIndex":0}}'
)
# What ifmesh's defaults add when it re-encodes a message that left them out.
DEFAULTS = {"type": "message", "ttl": 300, "lamport": 0, "seq": 0, "incarnation": ""}


def origin(**fields: Any) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(ORIGIN)
    document.update(fields)
    return document


def canonical(document: dict[str, Any]) -> bytes:
    return orjson.dumps(document, option=orjson.OPT_SORT_KEYS)


# --- round trip --------------------------------------------------------------------------


def test_origin_message_reencodes_with_every_field_as_sent() -> None:
    message = codec.decode(ORIGIN)
    document = json.loads(codec.encode(message))
    sent = json.loads(ORIGIN)
    # The one rewrite: timestamps in canonical UTC form (microseconds when not zero).
    assert document.pop("timestamp") == "2025-11-12T14:00:00.250000Z"
    del sent["timestamp"]
    assert document == sent | DEFAULTS
    assert document["level"] == 2 and document["destination"] == "broadcast"


def test_reencoding_is_byte_for_byte_stable() -> None:
    once = codec.encode(codec.decode(ORIGIN))
    assert codec.encode(codec.decode(once)) == once
    # An origin message already in canonical form (sorted, compact, UTC Z, defaults written)
    # comes back byte for byte.
    assert codec.encode(codec.decode(canonical(json.loads(once)))) == once


@pytest.mark.parametrize(
    "name", ["webrtc/message", "h323/message", "edge/origin-signature", "edge/origin-typed-event"]
)
def test_signature_object_round_trips_unchanged(name: str) -> None:
    sent = fixtures.load_document(name)
    message = codec.validate(sent)
    assert isinstance(message.signature, Ed25519Signature)
    encoded = codec.encode(message)
    assert canonical(sent["signature"]) in encoded  # the same bytes, in canonical form
    assert json.loads(encoded)["signature"] == sent["signature"]
    assert codec.decode(encoded) == message


def test_every_origin_field_survives_decode_and_encode() -> None:
    for name in fixtures.fixture_names():
        if not ("/message" in name or "/origin-" in name):
            continue
        path = fixtures.fixture_path(name)
        lines = path.read_text().splitlines() if path.suffix == ".jsonl" else [path.read_text()]
        for line in filter(str.strip, lines):
            sent = json.loads(line)
            document = json.loads(codec.encode(codec.decode(line)))
            for field, value in sent.items():
                if field != "timestamp":
                    assert document[field] == value, (name, field)


def test_a_string_signature_still_round_trips() -> None:
    message = codec.validate(origin(signature="ed25519:c2lnbmF0dXJl"))
    assert message.signature == "ed25519:c2lnbmF0dXJl"
    assert json.loads(codec.encode(message))["signature"] == "ed25519:c2lnbmF0dXJl"


# --- level -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("level", "meaning"),
    [(0, "debug"), (1, "debug"), (2, "info"), (3, "warning"), (4, "error"), (5, "critical")]
    + [(word, word) for word in ("debug", "info", "warning", "error", "critical")],
)
def test_level_is_kept_as_sent_and_read_on_one_scale(level: str | int, meaning: str) -> None:
    message = codec.decode(canonical(origin(level=level)))
    assert message.level == level and type(message.level) is type(level)
    assert message.severity == meaning == level_name(level)
    assert json.loads(codec.encode(message))["level"] == level


def test_the_levels_fixture_covers_zero_to_five() -> None:
    thread = fixtures.load_thread("edge/origin-levels")
    assert [m.level for m in thread] == [0, 1, 2, 3, 4, 5]
    assert [m.severity for m in thread] == [
        "debug", "debug", "info", "warning", "error", "critical"
    ]  # fmt: skip


@pytest.mark.parametrize("level", [6, -1, 2.0, 2.5, True, False, "2", "INFO", None, [2]])
def test_other_levels_are_refused_by_both_decoders(level: object) -> None:
    raw = canonical(origin(level=level))
    with pytest.raises(errors.InvalidField) as raised:
        codec.decode(raw)
    assert raised.value.path == "level"
    with pytest.raises(errors.InvalidField):
        codec.validate(json.loads(raw))


# --- destination ---------------------------------------------------------------------------


def test_broadcast_reads_as_everyone_and_is_kept_as_sent() -> None:
    message = codec.decode(ORIGIN)
    assert message.addressee == messages.BROADCAST
    assert message.destination == "broadcast"
    assert codec.decode(canonical(origin(destination="*"))).addressee == "*"
    direct = codec.decode(canonical(origin(destination="session-2-webrtc")))
    assert direct.addressee == "session-2-webrtc"


@pytest.mark.parametrize("field", ["source", "payload"])
def test_no_session_is_named_broadcast(field: str) -> None:
    if field == "source":
        document = origin(source="broadcast")
    else:  # a session id inside a payload is the same type
        document = json.loads(codec.encode(fixtures.load_fixture("cli/task.claim")))
        document["payload"]["swarm_id"] = "broadcast"
    with pytest.raises(errors.InvalidField, match="not a session id") as raised:
        codec.decode(canonical(document))
    assert raised.value.path == ("source" if field == "source" else "payload.swarm_id")


# --- generic messages ----------------------------------------------------------------------


def test_a_message_without_type_is_generic_with_its_free_payload() -> None:
    raw = canonical(origin(performative="query-ref", conversation_id="ask-1"))
    message = codec.decode(raw)
    assert message.type == messages.GENERIC_TYPE
    assert type(message) is messages.ENVELOPES[messages.GENERIC_TYPE]
    assert "type" not in message.model_fields_set
    assert message.performative == "query-ref" and message.conversation_id == "ask-1"
    assert isinstance(message.payload, GenericPayload)
    assert message.payload.model_extra == {"sendTime": 1523.5, "messageIndex": 0}
    # Naming the type changes nothing but the fields given.
    named = codec.decode(canonical(json.loads(raw) | {"type": "message"}))
    assert named == message and "type" in named.model_fields_set


def test_a_claim_without_type_is_not_a_claim() -> None:
    document = json.loads(codec.encode(fixtures.load_fixture("webrtc/task.claim")))
    del document["type"]
    message = codec.validate(document)
    assert isinstance(message.payload, GenericPayload)
    assert message.type not in messages.EVENT_TYPES


def test_free_payload_keeps_nulls_and_nesting_in_both_encoders() -> None:
    payload = GenericPayload.model_validate({"z": None, "a": [1, {"b": None}], "n": {"m": "é"}})
    message = messages.make_message(payload, source="mesh-agent-0", timestamp=at(0), level=2)
    encoded = codec.encode(message)
    assert b'"payload":{"a":[1,{"b":null}],"n":{"m":"\xc3\xa9"},"z":null}' in encoded
    assert encoded == codec._encode_with_pydantic(message)
    assert codec.decode(encoded) == message


def test_the_generic_type_is_the_only_type_that_is_not_an_event() -> None:
    assert set(messages.ENVELOPES) - messages.EVENT_TYPES == {messages.GENERIC_TYPE}


# --- typed errors --------------------------------------------------------------------------

SIGNATURE = fixtures.load_document("webrtc/message")["signature"]


@pytest.mark.parametrize(
    ("fields", "error", "path"),
    [
        ({"version": "3.0"}, errors.InvalidField, "version"),
        ({"version": 2.1}, errors.InvalidField, "version"),
        ({"traceId": ""}, errors.InvalidField, "traceId"),
        ({"traceid": "abc"}, errors.UnknownField, "traceid"),
        ({"citation_ids": "if://citation/1"}, errors.InvalidField, "citation_ids"),
        ({"citation_ids": ["ok", ""]}, errors.InvalidField, "citation_ids.1"),
        ({"signature": SIGNATURE | {"algorithm": "rsa"}}, errors.InvalidField,
         "signature.algorithm"),
        ({"signature": SIGNATURE | {"public_key": "ab"}}, errors.InvalidField,
         "signature.public_key"),
        ({"signature": SIGNATURE | {"signed_fields": []}}, errors.InvalidField,
         "signature.signed_fields"),
        ({"signature": SIGNATURE | {"extra": 1}}, errors.UnknownField, "signature.extra"),
        ({"signature": {"algorithm": "ed25519"}}, errors.MissingField, "signature.public_key"),
        ({"signature": 7}, errors.InvalidField, "signature"),
        ({"signature": ""}, errors.InvalidField, "signature"),
        ({"payload": [1, 2]}, errors.InvalidField, "payload"),
        ({"performative": "shout"}, errors.InvalidField, "performative"),
        ({"destination": "Broadcast"}, errors.InvalidField, "destination"),
        ({"type": "task.claimed"}, errors.UnknownMessageType, "type"),
        ({"type": None}, errors.UnknownMessageType, "type"),
    ],
)  # fmt: skip
def test_origin_shape_errors_are_typed_and_name_the_field(
    fields: dict[str, Any], error: type[errors.ProtocolError], path: str
) -> None:
    document = origin(**fields)
    with pytest.raises(error) as raised:
        codec.decode(canonical(document))
    assert raised.value.path == path
    with pytest.raises(error) as validated:
        codec.validate(document)
    assert validated.value.path == path


def test_missing_payload_is_still_missing() -> None:
    document = origin()
    del document["payload"]
    with pytest.raises(errors.MissingField) as raised:
        codec.decode(canonical(document))
    assert raised.value.path == "payload"


# --- the board -----------------------------------------------------------------------------


def test_a_generic_message_never_changes_the_board() -> None:
    ev = Stamper()
    log = EventLog(chain_board())
    log.add(ev("s1", claim("A", "s1"), lamport=1, when=at(0)))
    log.add(ev("s1", progress("A"), lamport=2, when=at(1)))
    before = canonical_bytes(log.board)
    # From the owner, later: were it folded, it would renew s1's lease and stamp its STATUS.
    chatter = ev("s1", GenericPayload.model_validate({"task_id": "A", "percent": 100}),
                 lamport=3, when=at(30), performative="inform")  # fmt: skip
    added = log.add(chatter)
    assert added.effects == ()
    assert canonical_bytes(log.board) == before
    assert log.board.folded == 2
    assert log.board.tasks["A"].owner_last_event_at == at(1)
    assert log.board.sessions["s1"].status_timestamp == at(1)


def test_an_origin_message_from_an_unknown_session_adds_no_session() -> None:
    log = EventLog(chain_board())
    before = canonical_bytes(log.board)
    log.add(codec.decode(ORIGIN))
    assert canonical_bytes(log.board) == before
    assert "mesh-agent-0" not in log.board.sessions


def test_typed_events_in_the_origins_dress_still_fold() -> None:
    event = fixtures.load_fixture("edge/origin-typed-event")
    assert event.type == "task.progress" and event.level == 2 and event.addressee == "*"
    ev = Stamper()
    log = EventLog(chain_board())
    log.add(ev("session-2-webrtc", claim("A", "session-2-webrtc"), lamport=1, when=at(0)))
    moved = event.model_copy(update={"payload": progress("A", percent=50)})
    log.add(moved)
    assert log.board.tasks["A"].percent == 50
    assert log.board.tasks["A"].owner_last_event_at == event.timestamp


def test_the_canonical_timestamp_differs_from_the_origins_signed_text() -> None:
    # Why a signature must be checked on the document as received: re-encoding rewrites the
    # timestamp text the origin signed ("….250Z" becomes "….250000Z").
    assert b"14:00:00.250Z" in ORIGIN
    assert b"14:00:00.250000Z" in codec.encode(codec.decode(ORIGIN))
    assert codec.decode(ORIGIN).timestamp == datetime(2025, 11, 12, 14, 0, 0, 250000, tzinfo=UTC)


# --- the docs ------------------------------------------------------------------------------

DOC = (Path(__file__).resolve().parents[2] / "docs" / "ifmessage.md").read_text(encoding="utf-8")


def test_the_doc_shows_the_re_encoding_the_codec_makes() -> None:
    shown = codec.encode(fixtures.load_fixture("edge/origin-broadcast")).decode()
    assert f"\n{shown}\n" in DOC


def test_the_docs_level_table_is_the_mapping() -> None:
    for number, meaning in LEVEL_NUMBERS.items():
        assert re.search(rf"^\| `{number}` \| `{meaning}`( \(trace\))? \|$", DOC, re.M), number
    assert "| `6` |" not in DOC
