"""The fast decode path gives pydantic's verdicts: the same message, or a refusal pydantic shares.

Every case is judged twice: by ``fastdecode.decode`` and by pydantic's ``validate_json`` (the
path it replaces). Accepted by both: equal, same type, same fields set, same encoding. Refused
by pydantic: the fast path declines too (returns None) and ``codec.decode`` raises pydantic's
typed error. The fast path may decline what pydantic accepts (it is allowed to be stricter),
but not valid messages of the shapes nodes send: those must take it.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from typing import Annotated, Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationError,
    model_validator,
)

from ifmesh.node import errors
from ifmesh.node.protocol import codec, fastdecode, fixtures, messages
from ifmesh.node.protocol.messages import MESSAGE_ADAPTER
from tests.unit.origin_strategies import origin_documents, signatures
from tests.unit.strategies import envelopes, json_values

T0 = datetime(2025, 11, 12, 14, 0, tzinfo=UTC)


def pydantic_verdict(raw: bytes) -> messages.Envelope | type[Exception]:
    """What decoding gave before the fast path: the message, or the error class it raised."""
    try:
        return MESSAGE_ADAPTER.validate_json(raw)
    except ValidationError as exc:
        return type(codec.protocol_error(exc))
    except Exception as exc:  # e.g. a timestamp datetime cannot represent
        return type(exc)


def assert_same_as_pydantic(raw: bytes) -> messages.Envelope | None:
    """Checks both paths agree on ``raw``; returns the fast path's message (None: declined)."""
    fast = fastdecode.decode(raw)
    expected = pydantic_verdict(raw)
    if isinstance(expected, type):
        assert fast is None, f"fast path accepted what pydantic refuses ({expected.__name__})"
        with pytest.raises(expected):
            codec.decode(raw)
        return None
    decoded = codec.decode(raw)
    assert_identical(decoded, expected)
    if fast is not None:
        assert_identical(fast, expected)
    return fast


def comparable(value: Any) -> Any:
    """``value`` with every NaN replaced by a marker: NaN != NaN, so two decodes of a message
    holding one (a free payload may) would never compare equal."""
    if isinstance(value, float) and math.isnan(value):
        return "<NaN>"
    if isinstance(value, dict):
        return {key: comparable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [comparable(item) for item in value]
    if isinstance(value, BaseModel):
        return (type(value), comparable(value.__dict__), comparable(value.__pydantic_extra__))
    return value


def assert_identical(actual: BaseModel, expected: BaseModel) -> None:
    assert type(actual) is type(expected)
    assert comparable(actual) == comparable(expected)
    assert list(actual.__dict__) == list(expected.__dict__)
    assert actual.model_fields_set == expected.model_fields_set
    assert actual.__pydantic_private__ == expected.__pydantic_private__
    for name, value in actual.__dict__.items():
        assert type(value) is type(expected.__dict__[name]), name
        if isinstance(value, BaseModel):
            assert_identical(value, expected.__dict__[name])
    assert comparable(actual.model_dump(mode="json")) == comparable(
        expected.model_dump(mode="json")
    )
    if isinstance(actual, messages.Envelope) and isinstance(expected, messages.Envelope):
        assert encoded(actual) == encoded(expected)


def encoded(message: messages.Envelope) -> bytes | type[Exception]:
    try:
        return codec.encode(message)
    except errors.ProtocolError as exc:  # NaN in metadata: pydantic reads it, JSON cannot say it
        return type(exc)


def claim_document(**fields: Any) -> dict[str, Any]:
    payload = messages.TaskClaim(task_id="P0.5.2", epoch=0, swarm_id="s-2", timestamp=T0)
    message = messages.make_message(payload, source="s-2", timestamp=T0, **fields)
    document: dict[str, Any] = json.loads(codec.encode(message))
    return document


def dumps(document: Any) -> bytes:
    # json, not orjson: it writes integers beyond 64 bits, and NaN (pydantic reads it).
    return json.dumps(document, ensure_ascii=False).encode()


# --- fixtures ------------------------------------------------------------------------------


def valid_raw_fixtures() -> list[tuple[str, bytes]]:
    cases = []
    for name in fixtures.fixture_names():
        path = fixtures.fixture_path(name)
        lines = path.read_bytes().splitlines() if path.suffix == ".jsonl" else [path.read_bytes()]
        cases += [(f"{name}:{i}", line) for i, line in enumerate(lines) if line.strip()]
    return cases


@pytest.mark.parametrize(("name", "raw"), valid_raw_fixtures(), ids=lambda v: str(v)[:40])
def test_every_valid_fixture_takes_the_fast_path_with_pydantic_result(
    name: str, raw: bytes
) -> None:
    # As written (indented, legacy epoch seconds, offsets) and in canonical form.
    for form in (raw, codec.encode(MESSAGE_ADAPTER.validate_json(raw))):
        assert assert_same_as_pydantic(form) is not None, f"{name}: fast path declined"


@pytest.mark.parametrize("case", fixtures.invalid_cases(), ids=lambda case: case.name)
def test_every_invalid_fixture_gets_pydantics_typed_error(case: fixtures.InvalidCase) -> None:
    raw = fixtures.fixture_path(case.name).read_bytes()
    if case.code != "too_large":  # the size bound is codec's, before either path
        assert fastdecode.decode(raw) is None
    with pytest.raises(errors.ProtocolError) as raised:
        codec.decode(raw)
    assert raised.value.code == case.code
    assert raised.value.path == case.path


@pytest.mark.parametrize("message_type", sorted(messages.ENVELOPES))
def test_every_message_type_takes_the_fast_path(message_type: str) -> None:
    for provider in fixtures.PROVIDERS:
        raw = codec.encode(fixtures.load_fixture(f"{provider}/{message_type}"))
        fast = assert_same_as_pydantic(raw)
        assert fast is not None and type(fast) is messages.ENVELOPES[message_type]


@settings(max_examples=150, deadline=None)
@given(envelopes())
def test_generated_messages_take_the_fast_path(message: messages.Envelope) -> None:
    raw = codec.encode(message)
    fast = assert_same_as_pydantic(raw)
    assert fast is not None
    assert fast == message  # fields set differ: None fields are not encoded


def test_decoded_message_is_frozen_like_pydantics() -> None:
    fast = fastdecode.decode(dumps(claim_document()))
    assert fast is not None
    with pytest.raises(ValidationError):
        fast.seq = 9
    with pytest.raises(ValidationError):
        fast.payload.epoch = 9  # type: ignore[attr-defined]


def test_default_factories_are_called_per_message() -> None:
    first, second = (fastdecode.decode(dumps(claim_document())) for _ in range(2))
    assert first is not None and second is not None
    assert first.payload.metadata == {}  # type: ignore[attr-defined]
    assert first.payload.metadata is not second.payload.metadata  # type: ignore[attr-defined]


def test_a_nan_in_a_free_payload_is_judged_alike_though_nan_equals_nothing() -> None:
    raw = (
        b'{"id": "m1", "timestamp": "2025-11-12T14:30:00Z", "level": "debug", "source": "s-2",'
        b' "destination": "*", "payload": {"*": NaN, "y": 1}}'
    )  # found by hypothesis, as a mutation
    assert_same_as_pydantic(raw)


def test_messages_of_one_shape_share_their_fields_set_and_a_copy_gets_its_own() -> None:
    """A board keeps thousands of events: one fields set per shape, not one per event."""
    first, second = (fastdecode.decode(dumps(claim_document())) for _ in range(2))
    assert first is not None and second is not None
    assert first.model_fields_set is second.model_fields_set
    assert first.payload.model_fields_set is second.payload.model_fields_set
    before = set(first.model_fields_set)
    changed = first.model_copy(update={"hops": 1})
    assert "hops" in changed.model_fields_set
    assert first.model_fields_set == before and second.model_fields_set == before


def test_recurring_ids_are_one_string() -> None:
    first, second = (fastdecode.decode(dumps(claim_document())) for _ in range(2))
    assert first is not None and second is not None
    assert first.source is second.source
    assert first.payload.task_id is second.payload.task_id  # type: ignore[attr-defined]


# --- mutations of valid messages -----------------------------------------------------------

# Values that sit on a rule's edge: strict types, bounds, anchors, zones, capabilities, tags.
# fmt: off
TRAPS: list[Any] = [
    None, True, False, 0, -1, 1.0, 2.5, -0.0, 2**63, 2**64 + 1, -(2**70), 10**40, 1e300,
    float("nan"), "", " ", "x\n", "\n", "*", "s-2", "s-2\n", "if://agent/s-2", "if://agent/s-3",
    "if://agent/s-2\n", "2025-11-12T14:30:00", "2025-11-12T14:30:00Z", "2025-11-12T14:30:00+05:30",
    "2025-11-12T14:30:00Z\n", "a:b", " a:b", "a:", ":b", "a:b ", "a: b", 25, 30, 100, 16, 17,
    86_400, 86_401, [], ["a:b"], ["a:b", ""], ["P1", "P1\n"], {}, {"k": [1, {"n": None}]}, "é",
    "日本", "\u0000", "\U0001f600", "task.claim", "task.fail", "no.such",
    # the origin's shape: levels at and past 0-5, its broadcast, versions, a signature object
    2, 5, 6, "message", "broadcast", "broadcast\n", "1.0", "2.1", "3.0", "info", "INFO",
    {"algorithm": "ed25519"}, {"algorithm": "rsa", "public_key": "00"},
]
# fmt: on
NASTY = st.one_of(st.sampled_from(TRAPS), json_values, signatures)


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    """A valid message's JSON with one or two defects (or none: some mutations are harmless):
    ifmesh's shape as encoded, or the origin's as sent."""
    ours = envelopes().map(lambda message: json.loads(codec.encode(message)))
    document = draw(st.one_of(ours, origin_documents()))
    for _ in range(draw(st.integers(min_value=1, max_value=2))):
        payload = document.get("payload")
        target = draw(
            st.sampled_from([document, payload] if isinstance(payload, dict) else [document])
        )
        if not target:
            break
        key = draw(st.sampled_from(sorted(target)))
        action = draw(st.sampled_from(["drop", "add", "set", "newline", "float", "dup"]))
        if action == "drop":
            del target[key]
        elif action == "add":
            target[draw(st.sampled_from(["extra", "Type", "payload2", key + " "]))] = draw(NASTY)
        elif action == "set":
            target[key] = draw(NASTY)
        elif action == "newline" and isinstance(target[key], str):
            target[key] += draw(st.sampled_from(["\n", "\r\n", " ", "\t"]))
        elif action == "float" and type(target[key]) is int:
            target[key] = float(target[key])
        elif action == "dup":
            # A key twice: the last one wins in both parsers; the first may be anything.
            first = dumps({key: draw(NASTY)})[1:-1]
            raw = dumps(document)
            return raw[:1] + first + b"," + raw[1:] if len(document) > 0 else raw
    return dumps(document)


# No shrinking: on this 2-core machine it can take minutes; the failing example is printed as is.
@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    phases=[Phase.explicit, Phase.generate],
)
@given(mutated())
def test_mutated_messages_get_pydantics_verdict(raw: bytes) -> None:
    assert_same_as_pydantic(raw)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("source", "s-2\n"),  # Rust's $ is the very end; Python's $ also matches before \n
        ("destination", "*\n"),
        ("sender", "if://agent/s-2\n"),
        ("sender", "if://agent/s-3"),
        ("lamport", True),
        ("lamport", 1.0),
        ("ttl", 2**64),
        ("timestamp", "2025-11-12T14:30:00"),
        ("timestamp", 1e300),
        ("timestamp", True),
        ("type", "task.fail"),
        ("level", "INFO"),
        ("level", 6),
        ("level", -1),
        ("level", True),  # == 1 in Python
        ("level", 2.0),  # == 2 in Python
        ("level", "2"),
        ("source", "broadcast"),  # reserved: it addresses everyone
        ("destination", "broadcast\n"),
        ("version", "3.0"),
        ("traceId", ""),
        ("citation_ids", [""]),
        ("signature", {"algorithm": "ed25519"}),
        ("signature", {"algorithm": "rsa"}),
        ("signature", 42),
        ("hops", 17),
        ("surplus", 1),
    ],
)
def test_each_named_trap_is_refused_by_both(field: str, value: Any) -> None:
    document = claim_document()
    document[field] = value
    assert assert_same_as_pydantic(dumps(document)) is None


# --- the origin's shape --------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(origin_documents())
def test_origin_shaped_messages_take_the_fast_path(document: dict[str, Any]) -> None:
    # Untyped ones through the untagged generic envelope: "type" is then not among the fields
    # set, as pydantic leaves it (assert_identical compares model_fields_set).
    fast = assert_same_as_pydantic(dumps(document))
    assert fast is not None
    assert fast.type == messages.GENERIC_TYPE
    assert ("type" in fast.model_fields_set) == ("type" in document)


@pytest.mark.parametrize("level", [0, 1, 2, 3, 4, 5, "debug", "critical"])
def test_numeric_and_word_levels_take_the_fast_path_as_sent(level: Any) -> None:
    fast = assert_same_as_pydantic(dumps(claim_document(level=level)))
    assert fast is not None and fast.level == level and type(fast.level) is type(level)


def test_a_typed_message_never_falls_to_the_untyped_decoder() -> None:
    # A typed message refused by its envelope must not be retried as a generic one.
    document = claim_document()
    document["payload"]["epoch"] = -1
    assert fastdecode.decode(dumps(document)) is None
    del document["type"]  # without its type it is a generic message: the payload is free
    fast = assert_same_as_pydantic(dumps(document))
    assert fast is not None and isinstance(fast.payload, messages.GenericPayload)


def test_a_tag_given_twice_with_two_values_is_judged_by_pydantic() -> None:
    # task.confirmed and claim.lost have the same payload fields: the last tag decides.
    payload = messages.TaskConfirmed(task_id="P1", epoch=1, winner="s-2")
    document = json.loads(codec.encode(messages.make_message(payload, source="s-2", timestamp=T0)))
    raw = dumps(document)
    raw = raw[:1] + b'"type": "claim.lost", ' + raw[1:]  # first the other tag, then its own
    assert_same_as_pydantic(raw)
    swapped = dumps(document)[:-1] + b', "type": "claim.lost"}'
    decoded = codec.decode(swapped)
    assert type(decoded) is messages.ENVELOPES["claim.lost"]
    assert_same_as_pydantic(swapped)


def test_pattern_memory_keeps_refusing_what_never_matched() -> None:
    # The verdicts remembered per pattern are of strings that matched; a miss is searched again.
    for _ in range(3):
        assert fastdecode.decode(dumps(claim_document() | {"source": "S-2"})) is None
        assert fastdecode.decode(dumps(claim_document() | {"source": "s-2\n"})) is None
        assert fastdecode.decode(dumps(claim_document())) is not None


# --- the generator refuses what it cannot reproduce ----------------------------------------


class _WithModelValidator(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")
    a: int

    @model_validator(mode="after")
    def _check(self) -> _WithModelValidator:
        return self


class _Stripping(BaseModel):
    model_config = ConfigDict(strict=True, str_strip_whitespace=True)
    a: str


class _DigitPattern(BaseModel):
    a: str = Field(pattern=r"^\d+$")


class _Aliased(BaseModel):
    a: int = Field(validation_alias="b")


class _Mutable(BaseModel):
    a: list[int] = [1]  # pydantic copies it per instance; the fast path would not


class _Allowing(BaseModel):
    model_config = ConfigDict(extra="allow")
    a: int


class _AllowingBesideFields(BaseModel):
    model_config = ConfigDict(extra="allow")
    a: int
    __pydantic_extra__: dict[str, int]


class _TypedExtras(BaseModel):
    model_config = ConfigDict(extra="allow")
    __pydantic_extra__: dict[str, int]


class _OtherDiscriminator(BaseModel):
    b: Annotated[
        Annotated[str, Tag("s")] | Annotated[int, Tag("m")],
        Discriminator(lambda v: "s" if isinstance(v, str) else "m"),
    ]


@pytest.mark.parametrize(
    "model",
    [_WithModelValidator, _Stripping, _DigitPattern, _Aliased, _Mutable, _Allowing,
     _AllowingBesideFields, _TypedExtras, _OtherDiscriminator],
)  # fmt: skip
def test_a_rule_the_generator_cannot_map_fails_loudly(model: type[BaseModel]) -> None:
    with pytest.raises(fastdecode.UnmappedSchema):
        fastdecode.model_plan(model)


def test_every_payload_model_is_mapped() -> None:
    for model in messages.Payload.registry.values():
        assert fastdecode.model_plan(model).cls is model
