"""The shipped IFMessage fixtures: every provider, every type, edge and negative cases."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest

from ifmesh.node import errors
from ifmesh.node.protocol import codec, fixtures, messages
from ifmesh.node.protocol.fields import Ed25519Signature
from ifmesh.node.protocol.messages import MAX_ENCODED_BYTES


@pytest.mark.parametrize("provider", fixtures.PROVIDERS)
def test_every_provider_has_every_message_type(provider: str) -> None:
    names = {name.split("/", 1)[1] for name in fixtures.fixture_names(provider)}
    assert names == set(messages.ENVELOPES)


def documents(name: str) -> list[Any]:
    """Every message of a fixture as raw JSON: one for .json, one per line for .jsonl."""
    path = fixtures.fixture_path(name)
    if path.suffix == ".jsonl":
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return [fixtures.load_document(name)]


@pytest.mark.parametrize("name", fixtures.fixture_names())
def test_every_valid_fixture_decodes(name: str) -> None:
    if fixtures.fixture_path(name).suffix == ".jsonl":
        thread = fixtures.load_thread(name)
        assert len(thread) >= 3
    else:
        thread = [fixtures.load_fixture(name)]
    for message in thread:
        assert codec.decode(codec.encode(message)) == message


@pytest.mark.parametrize("provider", fixtures.PROVIDERS)
def test_every_provider_speaks_the_origins_shape(provider: str) -> None:
    # Its generic message is written as the origin sends one: no type, a numeric level,
    # a version, keys in the order the origin's code sets them (not sorted).
    name = f"{provider}/{messages.GENERIC_TYPE}"
    sent = fixtures.load_document(name)
    assert "type" not in sent and isinstance(sent["level"], int)
    assert sent["version"] in ("1.0", "2.1")
    assert list(sent)[:5] == ["id", "timestamp", "level", "source", "destination"]
    message = fixtures.load_fixture(name)
    assert isinstance(message.payload, messages.GenericPayload)
    assert message.source == f"session-{fixtures.PROVIDERS.index(provider) + 1}-{provider}"
    if sent["version"] == "2.1":
        assert message.traceId and message.sequence_num is not None
        assert isinstance(message.signature, Ed25519Signature)


def test_origin_edge_fixtures_cover_what_the_origin_sends() -> None:
    broadcast = fixtures.load_fixture("edge/origin-broadcast")
    assert (broadcast.destination, broadcast.addressee, broadcast.level) == ("broadcast", "*", 2)
    assert fixtures.load_fixture("edge/origin-trace-id").traceId
    assert fixtures.load_fixture("edge/origin-citations").citation_ids
    generic = fixtures.load_fixture("edge/origin-generic-performative")
    assert (generic.type, generic.performative) == (messages.GENERIC_TYPE, "query-ref")
    signed = fixtures.load_fixture("edge/origin-signature").signature
    assert isinstance(signed, Ed25519Signature) and signed.algorithm == "ed25519"
    typed = fixtures.load_fixture("edge/origin-typed-event")
    assert typed.type in messages.EVENT_TYPES and isinstance(typed.signature, Ed25519Signature)


def test_loader_finds_fixtures_by_provider_and_type() -> None:
    blocker = fixtures.load_fixture("h323/blocker")
    assert isinstance(blocker.payload, messages.Blocker)
    assert blocker.source == "session-3-h323"
    assert blocker.sender == messages.agent_uri("session-3-h323")
    with pytest.raises(FileNotFoundError, match="no fixture"):
        fixtures.load_fixture("h323/no-such-type")


def test_legacy_epoch_seconds_timestamp_is_normalised() -> None:
    raw = fixtures.load_document("ndi/task.claim")
    assert isinstance(raw["payload"]["timestamp"], float)
    claim = fixtures.load_fixture("ndi/task.claim")
    assert isinstance(claim.payload, messages.TaskClaim)
    assert claim.payload.timestamp.utcoffset() is not None


def test_conversation_is_one_ordered_thread() -> None:
    thread = fixtures.load_thread("edge/conversation")
    assert len({m.conversation_id for m in thread}) == 1
    assert [m.sequence_num for m in thread] == list(range(1, len(thread) + 1))
    request = next(m for m in thread if m.type == "help.request")
    offers = [m for m in thread if isinstance(m.payload, messages.HelpOffer)]
    assert offers and all(o.payload.request_id == request.id for o in offers)  # type: ignore[attr-defined]


def test_size_bound_fixture_is_exactly_one_mebibyte() -> None:
    path = fixtures.fixture_path("edge/at-size-limit")
    assert path.stat().st_size == MAX_ENCODED_BYTES
    assert len(codec.encode(fixtures.load_fixture("edge/at-size-limit"))) == MAX_ENCODED_BYTES


def test_ttl_bounds_and_many_capabilities() -> None:
    assert fixtures.load_fixture("edge/ttl-min").ttl == 1
    assert fixtures.load_fixture("edge/ttl-max").ttl == messages.MAX_TTL_SECONDS
    many = fixtures.load_fixture("edge/many-capabilities").payload
    assert isinstance(many, messages.SwarmRegister)
    assert len(many.capabilities) == 1024


@pytest.mark.parametrize("case", fixtures.invalid_cases(), ids=lambda c: c.name)
def test_negative_case_fails_with_its_documented_error(case: fixtures.InvalidCase) -> None:
    with pytest.raises(errors.ProtocolError) as caught:
        codec.validate(case.document)
    assert (caught.value.code, caught.value.path) == (case.code, case.path)
    assert case.why, "every negative case says why it is invalid"
    if isinstance(case.document, dict):
        with pytest.raises(errors.ProtocolError) as via_bytes:
            codec.decode(json.dumps(case.document, ensure_ascii=False))
        assert via_bytes.value.code == case.code


def test_committed_schema_accepts_fixtures_and_rejects_negative_cases() -> None:
    validator = jsonschema.Draft202012Validator(
        messages.json_schema(), format_checker=jsonschema.FormatChecker()
    )
    for name in fixtures.fixture_names():
        for document in documents(name):
            validator.validate(document)
    # Two rules need more than a schema: sender/source agreement and the encoded size.
    beyond_schema = {"sender_mismatch", "too_large"}
    for case in fixtures.invalid_cases():
        assert validator.is_valid(case.document) == (case.code in beyond_schema), case.name
