"""Canonical encoding: round trips, byte-level canonical form, typed errors, TTL."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import orjson
import pytest
from hypothesis import given, settings

from ifmesh.node import errors
from ifmesh.node.protocol import codec, messages
from ifmesh.node.protocol.messages import MAX_ENCODED_BYTES, TaskClaim, TaskProgress
from tests.unit.origin_strategies import origin_documents
from tests.unit.strategies import envelopes

T0 = datetime(2025, 11, 12, 14, 0, tzinfo=UTC)


def claim(**fields: object) -> messages.Envelope:
    payload = TaskClaim(task_id="P0.5.2", epoch=0, swarm_id="session-2-webrtc", timestamp=T0)
    return messages.make_message(payload, source="session-2-webrtc", timestamp=T0, **fields)


@settings(max_examples=400, deadline=None)
@given(envelopes())
def test_decode_inverts_encode_for_every_valid_message(message: messages.Envelope) -> None:
    encoded = codec.encode(message)
    decoded = codec.decode(encoded)
    assert decoded == message
    assert type(decoded) is type(message)
    assert codec.encode(decoded) == encoded


@settings(max_examples=200, deadline=None)
@given(envelopes())
def test_encoding_is_canonical(message: messages.Envelope) -> None:
    encoded = codec.encode(message)

    def keys_sorted(pairs: list[tuple[str, object]]) -> dict[str, object]:
        keys = [key for key, _ in pairs]
        assert keys == sorted(keys)
        return dict(pairs)

    document = json.loads(encoded, object_pairs_hook=keys_sorted)
    # Compact: re-serialising the parsed document without whitespace gives the same bytes.
    assert orjson.dumps(document) == encoded
    assert b"\n" not in encoded
    assert document["timestamp"].endswith("Z")


@settings(max_examples=300, deadline=None)
@given(origin_documents())
def test_origin_shape_round_trips_keeping_what_was_sent(document: dict[str, object]) -> None:
    # The origin's shape (numeric level, "broadcast", signature object, no type...) is read
    # and re-encoded canonically: every field it sent comes back with the same value, the
    # timestamp in canonical UTC form, and ifmesh's defaults written out; re-encoding the
    # encoding changes nothing.
    message = codec.decode(json.dumps(document, ensure_ascii=False))
    assert message == codec.validate(document)
    encoded = codec.encode(message)
    reencoded = json.loads(encoded)
    for field, value in document.items():
        if field != "timestamp":
            assert reencoded[field] == value, field
    assert reencoded["type"] == "message"
    decoded = codec.decode(encoded)
    assert decoded == message
    assert codec.encode(decoded) == encoded


def test_timestamps_normalise_to_utc_z() -> None:
    ist = datetime(2025, 11, 13, 1, 0, tzinfo=timezone(timedelta(hours=5, minutes=30)))
    payload = TaskClaim(task_id="P0.5.2", epoch=0, swarm_id="session-2-webrtc", timestamp=ist)
    message = messages.make_message(payload, source="session-2-webrtc", timestamp=ist)
    assert message.timestamp.tzinfo is UTC
    document = json.loads(codec.encode(message))
    assert document["timestamp"] == "2025-11-12T19:30:00Z"


def test_epoch_seconds_are_accepted_and_normalised() -> None:
    document = json.loads(codec.encode(claim()))
    document["payload"]["timestamp"] = 1762956000.25
    message = codec.validate(document)
    assert isinstance(message.payload, TaskClaim)
    assert message.payload.timestamp == datetime(2025, 11, 12, 14, 0, 0, 250000, tzinfo=UTC)
    assert json.loads(codec.encode(message))["payload"]["timestamp"] == (
        "2025-11-12T14:00:00.250000Z"
    )


@pytest.mark.parametrize(
    ("where", "value"),
    [("payload", 1e20), ("payload", -1e20), ("envelope", "0001-01-01T00:00:00+01:00")],
)
def test_timestamps_out_of_range_are_a_typed_error(where: str, value: object) -> None:
    document = json.loads(codec.encode(claim()))
    (document["payload"] if where == "payload" else document)["timestamp"] = value
    with pytest.raises(errors.InvalidField, match="out of range") as raised:
        codec.decode(orjson.dumps(document))
    assert raised.value.path.endswith("timestamp")


def test_sender_uri_is_derived_from_source() -> None:
    assert claim(sender="if://agent/session-2-webrtc").sender == messages.agent_uri(
        "session-2-webrtc"
    )


@pytest.mark.parametrize(
    ("mutate", "error", "path"),
    [
        (lambda d: d.update(type="task.unknown"), errors.UnknownMessageType, "type"),
        (lambda d: d.pop("id"), errors.MissingField, "id"),
        (lambda d: d["payload"].update(epoch=1.5), errors.InvalidField, "payload.epoch"),
        (lambda d: d.update(timestamp="2025-11-12T14:00:00"), errors.NaiveTimestamp, "timestamp"),
        (lambda d: d.update(extra=1), errors.UnknownField, "extra"),
        (lambda d: d["payload"].update(swarm_id=""), errors.InvalidField, "payload.swarm_id"),
        (lambda d: d.update(lamport=True), errors.InvalidField, "lamport"),
    ],
)
def test_errors_are_typed_and_name_the_field(mutate, error, path) -> None:  # type: ignore[no-untyped-def]
    document = json.loads(codec.encode(claim()))
    mutate(document)
    with pytest.raises(error) as caught:
        codec.validate(document)
    assert caught.value.path == path
    with pytest.raises(error):
        codec.decode(json.dumps(document))


def test_progress_percent_must_be_a_milestone() -> None:
    with pytest.raises(Exception, match="not a milestone"):
        TaskProgress(task_id="P0.5.2", epoch=0, percent=60, milestone="")


@pytest.mark.parametrize("raw", [b"", b"   ", b"{not json", b"[]", b'"text"', b"null"])
def test_malformed_input_is_a_protocol_error(raw: bytes) -> None:
    with pytest.raises(errors.ProtocolError) as caught:
        codec.decode(raw)
    assert caught.value.code in {"malformed_json", "invalid_field"}


def test_size_bound_is_enforced_on_both_sides() -> None:
    big = claim().model_copy(deep=True)
    overhead = len(codec.encode(big))
    at_limit = messages.make_message(
        TaskClaim(
            task_id="P0.5.2",
            epoch=0,
            swarm_id="session-2-webrtc",
            timestamp=T0,
            metadata={"blob": "x" * (MAX_ENCODED_BYTES - overhead - len('"blob":""'))},
        ),
        source="session-2-webrtc",
        timestamp=T0,
        id=big.id,
    )
    encoded = codec.encode(at_limit)
    assert len(encoded) == MAX_ENCODED_BYTES
    assert codec.decode(encoded) == at_limit
    over = encoded.replace(b'"blob":"', b'"blob":"x', 1)
    with pytest.raises(errors.MessageTooLarge):
        codec.decode(over)
    with pytest.raises(errors.MessageTooLarge):
        codec.encode(codec.MESSAGE_ADAPTER.validate_json(over))


def test_ttl_is_checked_only_on_live_delivery() -> None:
    message = claim(ttl=60)
    codec.check_live(message, now=T0 + timedelta(seconds=60))
    with pytest.raises(errors.MessageExpired) as caught:
        codec.check_live(message, now=T0 + timedelta(seconds=61))
    assert caught.value.path == "ttl"
    # Decoding never expires: a year-old stored message still decodes.
    assert codec.decode(codec.encode(message)) == message
