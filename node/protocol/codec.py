"""Canonical encoding of IFMessages, and the one place pydantic errors become ProtocolErrors.

Canonical means: keys sorted at every level, timestamps in UTC with ``Z``, no insignificant
whitespace, UTF-8 without escapes. Two nodes holding the same message hold the same bytes, so
logs, hashes and signatures can be compared byte for byte; ``decode(encode(m)) == m``.

Expiry is not decoding: :func:`check_live` (ttl against the receiver's ``now``) is called only
by the mesh on live delivery. Stored logs, fixtures and replays never expire.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import orjson
from pydantic import BaseModel, ValidationError

from ifmesh.node import errors
from ifmesh.node.protocol import fastdecode
from ifmesh.node.protocol.fields import UNION_TAGS, Ed25519Signature
from ifmesh.node.protocol.messages import (
    ENVELOPES,
    MAX_ENCODED_BYTES,
    MESSAGE_ADAPTER,
    Envelope,
    GenericPayload,
    Payload,
)

__all__ = [
    "MESSAGE_ADAPTER",
    "UNSIGNED_FIELDS",
    "check_live",
    "decode",
    "encode",
    "protocol_error",
    "signable_fields",
    "signing_bytes",
    "validate",
]

# pydantic error type → typed error. Anything unlisted is a wrong type or value.
_ERROR_TYPES: dict[str, type[errors.ProtocolError]] = {
    "missing": errors.MissingField,
    "extra_forbidden": errors.UnknownField,
    "union_tag_invalid": errors.UnknownMessageType,
    "naive_timestamp": errors.NaiveTimestamp,
    "invalid_milestone": errors.InvalidMilestone,
    "empty_capability": errors.EmptyCapability,
    "invalid_capability": errors.InvalidCapability,
    "sender_mismatch": errors.SenderMismatch,
    "json_invalid": errors.MalformedJSON,
    "json_type": errors.MalformedJSON,
}


def encode(message: Envelope) -> bytes:
    """The canonical bytes of ``message``; raises MessageTooLarge above 1 MiB."""
    # orjson walks the models itself (_fields_of): one C pass, no intermediate dicts of
    # pydantic's serializer; it sits on every broadcast's path. Its output equals
    # _encode_with_pydantic's (tests/unit/test_codec.py checks every fixture and type), and
    # anything it cannot represent goes through pydantic for the same error.
    try:
        data = orjson.dumps(message, default=_fields_of, option=_CANONICAL)
    except orjson.JSONEncodeError:
        data = _encode_with_pydantic(message)
    if len(data) > MAX_ENCODED_BYTES:
        raise errors.MessageTooLarge(
            f"encoded message is {len(data)} bytes; the limit is {MAX_ENCODED_BYTES}"
            " (send large content as a file in git and reference its path)"
        )
    return data


_CANONICAL = orjson.OPT_SORT_KEYS | orjson.OPT_UTC_Z


# What a signature never covers: itself, and the relay hop count a forwarder may lower.
UNSIGNED_FIELDS = frozenset({"signature", "hops"})


def signable_fields(message: Envelope) -> list[str]:
    """The fields ``message`` carries (None ones are absent) that a signature covers, sorted."""
    return sorted(name for name in _fields_of(message) if name not in UNSIGNED_FIELDS)


def signing_bytes(message: Envelope, fields: Iterable[str]) -> bytes:
    """What an Ed25519 signature covers: the canonical encoding (as :func:`encode`) of the
    object holding only the fields named in ``fields`` that ``message`` carries, never
    ``signature`` or ``hops``. A named field the message lacks is simply absent, so adding it
    later changes these bytes (ifmesh.node.identity.seal)."""
    present = _fields_of(message)
    document = {
        name: present[name] for name in fields if name in present and name not in UNSIGNED_FIELDS
    }
    try:
        return orjson.dumps(document, default=_fields_of, option=_CANONICAL)
    except orjson.JSONEncodeError:
        dumped = message.model_dump(exclude_none=True)
        if isinstance(message.payload, GenericPayload):  # free content keeps its nulls
            dumped["payload"] = message.payload.model_dump()
        kept = {name: dumped[name] for name in document}
        try:
            return orjson.dumps(kept, option=_CANONICAL)
        except orjson.JSONEncodeError as exc:
            raise errors.InvalidField(f"not representable as JSON: {exc}") from None


def _fields_of(value: object) -> dict[str, Any]:
    """A message model as orjson should write it: its fields, None ones left out (as
    ``model_dump(exclude_none=True)`` does: model fields only, not nulls inside values)."""
    nullable = _NULLABLE.get(type(value))
    if nullable is None:
        raise TypeError(f"{type(value).__name__} is not an IFMessage part")
    fields: dict[str, Any] = value.__dict__
    if not nullable:
        # orjson only reads it. A free payload (GenericPayload) is all extras, nulls included.
        return value.__pydantic_extra__ or fields  # type: ignore[attr-defined]
    kept = fields.copy()
    for name in nullable:  # only these can hold None; most are absent in most messages
        if kept[name] is None:
            del kept[name]
    return kept


def _encode_with_pydantic(message: Envelope) -> bytes:
    # Python-mode dump + orjson is about 3x faster than pydantic's JSON mode + json.dumps, and
    # orjson's UTC datetimes ("...:45.840107Z", fraction only when non-zero) are already the
    # canonical form fields.format_timestamp documents.
    document = message.model_dump(exclude_none=True)
    if isinstance(message.payload, GenericPayload):  # free content keeps its nulls
        document["payload"] = message.payload.model_dump()
    try:
        return orjson.dumps(document, option=_CANONICAL)
    except orjson.JSONEncodeError as exc:
        raise errors.InvalidField(f"not representable as JSON: {exc}") from None


def _plain(model: type[BaseModel]) -> bool:
    """True when a model's fields are written under their own names as their values (no
    aliases, exclusions or computed fields). Serializers are not inspected: the only ones
    (timestamps) act in JSON mode only, which the dump above does not use either; the codec
    tests compare both encoders on every fixture and every message type."""
    return not model.model_computed_fields and all(
        info.serialization_alias in (None, name) and info.alias in (None, name) and not info.exclude
        for name, info in model.model_fields.items()
    )


def _allows_none(annotation: object) -> bool:
    if annotation is None or annotation is type(None):
        return True
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _allows_none(typing.get_args(annotation)[0])
    if origin is typing.Union or origin is types.UnionType:
        return any(_allows_none(arg) for arg in typing.get_args(annotation))
    return False


_MODELS: tuple[type[BaseModel], ...] = (
    *ENVELOPES.values(),
    *Payload.registry.values(),
    Ed25519Signature,  # the origin's signature object, inside the envelope
)
# Per plain model: the fields that may hold None (the only ones _fields_of must look at).
_NULLABLE: dict[type, tuple[str, ...]] = {
    model: tuple(
        name
        for name, info in model.model_fields.items()
        if info.default is None or _allows_none(info.annotation)
    )
    for model in _MODELS
    if _plain(model)
}


def decode(data: bytes | str) -> Envelope:
    """Parses and validates one encoded IFMessage; raises a ProtocolError naming the field."""
    raw = data.encode() if isinstance(data, str) else data
    if len(raw) > MAX_ENCODED_BYTES:
        raise errors.MessageTooLarge(
            f"message is {len(raw)} bytes; the limit is {MAX_ENCODED_BYTES}"
        )
    if not raw or raw.isspace():
        raise errors.MalformedJSON("empty input; expected one JSON object")
    # Most messages take the fast path (same verdicts; 10-18 % cheaper than pydantic with
    # cold caches, as between messages on a busy machine); whatever it declines, pydantic
    # decides, and names the error.
    message = fastdecode.decode(raw)
    if message is not None:
        return message
    try:
        return MESSAGE_ADAPTER.validate_json(raw)
    except ValidationError as exc:
        raise protocol_error(exc) from None


def validate(document: Any) -> Envelope:
    """Validates an already-parsed JSON document (a dict) as an IFMessage."""
    if not isinstance(document, Mapping):
        raise errors.InvalidField(f"an IFMessage is a JSON object, not {type(document).__name__}")
    try:
        message = MESSAGE_ADAPTER.validate_python(_json_compatible(document))
    except ValidationError as exc:
        raise protocol_error(exc) from None
    encode(message)  # enforces the size bound on what we accept
    return message


def check_live(message: Envelope, now: datetime) -> None:
    """Raises MessageExpired when ``message`` is older than its ttl at ``now`` (live mesh only)."""
    expires = message.expires_at()
    if now > expires:
        age = (now - message.timestamp).total_seconds()
        raise errors.MessageExpired(
            f"message {message.id} is {age:.0f}s old; its ttl is {message.ttl}s",
            path="ttl",
        )


def protocol_error(exc: ValidationError) -> errors.ProtocolError:
    """The first problem pydantic found, as a typed error with a dotted field path."""
    first = exc.errors(include_url=False)[0]
    kind = str(first["type"])
    location = [str(part) for part in first["loc"]]
    # A discriminated union puts the chosen tag first in the location; it is not a field. Nor
    # are the tags of a union chosen by JSON type (level: a word or a number; signature: text
    # or an object).
    if location and location[0] in ENVELOPES:
        location = location[1:]
    path = ".".join(part for part in location if part not in UNION_TAGS)
    reason = str(first["msg"])
    cls = _ERROR_TYPES.get(kind, errors.InvalidField)
    if kind == "union_tag_invalid":
        known = ", ".join(sorted(ENVELOPES))
        reason = f"unknown message type {first['input'].get('type')!r}; known types: {known}"
        path = "type"
    elif kind == "union_tag_not_found":  # no object at all: a message without type is generic
        reason = "an IFMessage is a JSON object"
    elif kind == "missing":
        reason = "required field is missing"
    elif kind == "extra_forbidden":
        reason = "unknown field (check the spelling against `ifmesh schema`)"
    return cls(reason, path=path)


def _json_compatible(document: Mapping[str, Any]) -> Any:
    """Python input goes through the same rules as JSON: tuples are lists, keys strings."""

    def convert(value: Any) -> Any:
        if isinstance(value, Mapping):
            return {str(k): convert(v) for k, v in value.items()}
        if isinstance(value, Sequence) and not isinstance(value, str | bytes):
            return [convert(v) for v in value]
        return value

    return convert(document)
