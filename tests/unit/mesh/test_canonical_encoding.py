"""The mesh's fast encoder (orjson walking the models) writes exactly what pydantic's dump does.

codec.encode sits on every broadcast's path, so it lets orjson serialize the models' fields
directly instead of going through ``model_dump``; these tests hold it to the reference encoder
on every fixture and on generated messages of every type.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings

from ifmesh.node import errors
from ifmesh.node.protocol import codec, messages
from ifmesh.node.protocol.fixtures import fixture_names, fixture_path, load_fixture, load_thread
from tests.unit.strategies import envelopes

T0 = datetime(2025, 11, 12, 14, 0, tzinfo=UTC)


@settings(max_examples=150, deadline=None)
@given(envelopes())
def test_fast_encoding_equals_pydantic_dump(message: messages.Envelope) -> None:
    assert codec.encode(message) == codec._encode_with_pydantic(message)


@pytest.mark.parametrize("name", fixture_names())
def test_fast_encoding_equals_pydantic_dump_on_fixtures(name: str) -> None:
    thread = fixture_path(name).suffix == ".jsonl"
    found = load_thread(name) if thread else [load_fixture(name)]
    for message in found:
        assert codec.encode(message) == codec._encode_with_pydantic(message)


def test_every_message_model_takes_the_fast_path() -> None:
    models = {*messages.ENVELOPES.values(), *messages.Payload.registry.values()}
    assert models <= set(codec._NULLABLE)


def test_nulls_inside_values_are_kept_and_none_fields_left_out() -> None:
    payload = messages.TaskClaim(
        task_id="A.1", epoch=0, swarm_id="a", timestamp=T0, metadata={"x": None, "l": [None]}
    )
    message = messages.make_message(payload, source="a", timestamp=T0)
    encoded = codec.encode(message)
    assert b'"metadata":{"l":[null],"x":null}' in encoded
    assert b"performative" not in encoded
    assert encoded == codec._encode_with_pydantic(message)


def test_what_orjson_cannot_write_gets_the_typed_error() -> None:
    payload = messages.TaskClaim(
        task_id="A.1", epoch=0, swarm_id="a", timestamp=T0, metadata={"big": 1 << 70}
    )
    message = messages.make_message(payload, source="a", timestamp=T0)
    with pytest.raises(errors.InvalidField, match="not representable as JSON"):
        codec.encode(message)
