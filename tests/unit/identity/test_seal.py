"""Signing and checking one IFMessage: what is covered, and every way a check fails."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ifmesh.node import errors
from ifmesh.node.identity import seal
from ifmesh.node.identity.errors import BadSignature, KeyMismatch, Unsigned
from ifmesh.node.protocol import codec
from ifmesh.node.protocol.fields import Ed25519Signature
from ifmesh.node.protocol.messages import Envelope
from tests.unit.identity.support import claim, key, signed_claim
from tests.unit.strategies import envelopes

KEY = key("session-a")


def test_a_signed_event_verifies_after_the_wire() -> None:
    message = signed_claim()
    received = codec.decode(codec.encode(message))
    seal.check(received, KEY.public)
    assert isinstance(received.signature, Ed25519Signature)
    assert received.signature.public_key == KEY.public.text
    assert received.signature.public_key.startswith("MCowBQYDK2VwAyEA")  # base64 SPKI DER
    assert set(seal.REQUIRED_FIELDS) <= set(received.signature.signed_fields)
    assert "signature" not in received.signature.signed_fields


def test_the_signed_fields_are_every_field_but_signature_and_hops() -> None:
    message = seal.sign(claim().model_copy(update={"hops": 3, "scope": "x"}), KEY)
    assert isinstance(message.signature, Ed25519Signature)
    assert message.signature.signed_fields == sorted(
        set(codec.signable_fields(message)) | {"scope"}
    )
    assert "hops" not in message.signature.signed_fields


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("id", "another-id"),
        ("timestamp", claim().timestamp.replace(minute=1)),
        ("destination", "session-b"),
        ("lamport", 99),
        ("seq", 99),
        ("incarnation", "inc-2"),
        ("ttl", 60),
        ("level", "error"),
        ("scope", "added later"),
    ],
)
def test_a_changed_field_breaks_the_signature(field: str, value: Any) -> None:
    tampered = signed_claim().model_copy(update={field: value})
    with pytest.raises((BadSignature, Unsigned)):
        seal.check(codec.decode(codec.encode(tampered)), KEY.public)


def test_a_changed_payload_breaks_the_signature() -> None:
    message = signed_claim()
    payload = message.payload.model_copy(update={"task_id": "P0.2"})
    with pytest.raises(BadSignature):
        seal.check(message.model_copy(update={"payload": payload}), KEY.public)


def test_the_hop_count_may_change_on_the_way() -> None:
    seal.check(signed_claim().model_copy(update={"hops": 2}), KEY.public)


def test_another_key_is_a_mismatch() -> None:
    with pytest.raises(KeyMismatch):
        seal.check(signed_claim(), key("session-b").public)


def test_a_signature_made_by_another_key_under_our_name_is_bad() -> None:
    forged = seal.sign(claim(), key("mallory"))
    assert isinstance(forged.signature, Ed25519Signature)
    disguised = forged.signature.model_copy(update={"public_key": KEY.public.text})
    with pytest.raises(BadSignature):
        seal.check(forged.model_copy(update={"signature": disguised}), KEY.public)


def test_no_signature_is_unsigned() -> None:
    with pytest.raises(Unsigned, match="no signature"):
        seal.check(claim(), KEY.public)


def test_a_signature_string_is_unsigned() -> None:
    with pytest.raises(Unsigned):
        seal.check(claim().model_copy(update={"signature": "ed25519:abc"}), KEY.public)


@pytest.mark.parametrize("left_out", sorted(seal.REQUIRED_FIELDS))
def test_signed_fields_that_leave_out_a_required_field_count_as_unsigned(left_out: str) -> None:
    message = claim()
    fields = [f for f in codec.signable_fields(message) if f != left_out]
    signature = Ed25519Signature(
        algorithm="ed25519",
        public_key=KEY.public.text,
        signature_bytes=KEY.sign(codec.signing_bytes(message, fields)).hex(),
        signed_fields=fields,
    )
    with pytest.raises(Unsigned, match=left_out) as caught:
        seal.check(message.model_copy(update={"signature": signature}), KEY.public)
    assert caught.value.code == "unsigned"
    assert caught.value.path == "signature.signed_fields"


def test_a_carried_field_left_out_of_signed_fields_counts_as_unsigned() -> None:
    message = claim().model_copy(update={"scope": "room"})
    fields = [f for f in codec.signable_fields(message) if f != "scope"]
    signature = Ed25519Signature(
        algorithm="ed25519",
        public_key=KEY.public.text,
        signature_bytes=KEY.sign(codec.signing_bytes(message, fields)).hex(),
        signed_fields=fields,
    )
    with pytest.raises(Unsigned, match="scope"):
        seal.check(message.model_copy(update={"signature": signature}), KEY.public)


def test_signing_is_deterministic() -> None:
    assert codec.encode(signed_claim()) == codec.encode(signed_claim())


def _without_hops(message: Envelope) -> Envelope:
    # hops is left out of the signature by design (a relay lowers it); nodes never set it.
    return message.model_copy(update={"hops": None})


@given(message=envelopes().map(_without_hops), data=st.data())
def test_any_single_byte_change_to_a_signed_message_is_refused(
    message: Envelope, data: st.DataObject
) -> None:
    """A changed byte either makes the message unreadable, or makes its signature fail, or
    leaves the very same message (another spelling the decoder normalises, such as a space
    for the T of a timestamp: what is folded is unchanged)."""
    original = seal.sign(message, KEY)
    wire = bytearray(codec.encode(original))
    position = data.draw(st.integers(min_value=0, max_value=len(wire) - 1), label="position")
    byte = data.draw(st.integers(min_value=0, max_value=255).filter(lambda b: b != wire[position]))
    wire[position] = byte
    try:
        received = codec.decode(bytes(wire))
    except (errors.ProtocolError, UnicodeDecodeError):
        return
    try:
        seal.check(received, KEY.public)
    except (Unsigned, BadSignature, KeyMismatch):
        return
    assert codec.encode(received) == codec.encode(original)
