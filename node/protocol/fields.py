"""The field types IFMessages are made of: timestamps, ids, capabilities, milestones, levels,
signatures.

Each is an annotated type: the rule lives with the type, so a session id or a capability is
checked the same way wherever it appears (a payload, the envelope, a node's configuration). The
checks are plain functions (``_timestamp``, ``_check_capability``, ``_check_milestone``,
``_not_reserved``), which the fast decoding path calls too
(:mod:`ifmesh.node.protocol.fastdecode`). Error codes are pydantic custom errors;
:mod:`ifmesh.node.protocol.codec` turns them into the node's errors.

Two shapes meet here: ifmesh's and the origin's (the TypeScript mesh of dannystocker/infrafabric,
``if.api/communication/webrtc``), whose ``level`` is a number and whose ``signature`` is an
object. Both are read and kept as written, so a message re-encodes in its own shape; a union
over them is chosen by the JSON type of the value (:func:`json_kind`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    JsonValue,
    PlainSerializer,
    PlainValidator,
    Tag,
    WithJsonSchema,
)
from pydantic_core import PydanticCustomError

MILESTONES = (25, 50, 75, 100)


def _timestamp(value: Any) -> datetime:
    """RFC 3339 with a zone, or epoch seconds (the original IFMessage mocks used time.time());
    always UTC. One plain validator: it runs on every message a node receives, so it does the
    whole job in one call rather than a before- and an after-validator around pydantic's own."""
    if isinstance(value, bool):
        raise PydanticCustomError("timestamp_type", "a timestamp is a string or epoch seconds")
    if isinstance(value, int | float):
        try:
            return datetime.fromtimestamp(value, UTC)
        except (OverflowError, OSError, ValueError):  # beyond year 9999, or NaN
            raise PydanticCustomError(
                "timestamp_range", "epoch seconds out of range: {value}", {"value": value}
            ) from None
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            raise PydanticCustomError(
                "timestamp_format", "not an RFC 3339 timestamp: {value}", {"value": repr(value)}
            ) from None
    elif isinstance(value, datetime):
        parsed = value
    else:
        raise PydanticCustomError("timestamp_type", "a timestamp is a string or epoch seconds")
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise PydanticCustomError(
            "naive_timestamp",
            "timestamp has no time zone; add 'Z' or an offset such as '+00:00'",
        )
    try:
        return parsed.astimezone(UTC)
    except OverflowError:  # e.g. 0001-01-01T00:00:00+01:00 is before year 1 in UTC
        raise PydanticCustomError(
            "timestamp_range", "timestamp out of range in UTC: {value}", {"value": repr(value)}
        ) from None


def format_timestamp(value: datetime) -> str:
    """Canonical UTC form: ``2025-11-12T14:30:00Z``, microseconds only when present."""
    utc = value.astimezone(UTC)
    if utc.microsecond:
        return utc.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return utc.strftime("%Y-%m-%dT%H:%M:%SZ")


Timestamp = Annotated[
    datetime,
    PlainValidator(_timestamp),
    PlainSerializer(format_timestamp, return_type=str, when_used="json"),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "format": "date-time", "description": "RFC 3339 with a zone"},
                {"type": "number", "description": "epoch seconds (normalised to UTC)"},
            ]
        }
    ),
]

ORIGIN_BROADCAST = "broadcast"  # the origin's destination for every session (ifmesh's: *)


def _not_reserved(value: str) -> str:
    # The origin addresses everyone as "broadcast": no session may take that name, so a
    # destination "broadcast" can only ever mean every session.
    if value == ORIGIN_BROADCAST:
        raise PydanticCustomError(
            "reserved_session_id", "'broadcast' is not a session id: it addresses every session"
        )
    return value


SessionId = Annotated[
    str,
    Field(
        pattern=r"^[a-z0-9][a-z0-9._-]{0,63}$", json_schema_extra={"not": {"const": "broadcast"}}
    ),
    AfterValidator(_not_reserved),
]
TaskId = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")]
Destination = Annotated[
    str,
    Field(
        pattern=r"^(\*|[a-z0-9][a-z0-9._-]{0,63})$",
        description="'*' or 'broadcast' (the origin's spelling, kept as sent) for every session,"
        " else one session id",
    ),
]
AgentUri = Annotated[str, Field(pattern=r"^if://agent/[a-z0-9][a-z0-9._-]{0,63}$")]
NonEmptyText = Annotated[str, Field(min_length=1, max_length=4096)]
Text = Annotated[str, Field(max_length=65_536)]
Epoch = Annotated[int, Field(ge=0)]
Money = Annotated[float, Field(ge=0)]


def _check_capability(value: str) -> str:
    if not value.strip():
        raise PydanticCustomError("empty_capability", "a capability is a non-empty string")
    category, sep, name = value.partition(":")
    if not sep or not category or not name or value != value.strip():
        raise PydanticCustomError(
            "invalid_capability",
            "capability {value} is not 'category:name' (e.g. 'docs:technical-writing')",
            {"value": repr(value)},
        )
    return value


Capability = Annotated[
    str,
    AfterValidator(_check_capability),
    Field(max_length=128, json_schema_extra={"pattern": r"^[^\s:][^:]*:\S(.*\S)?$"}),
]
Capabilities = Annotated[list[Capability], Field(max_length=1024)]


def _check_milestone(value: int) -> int:
    if value not in MILESTONES:
        raise PydanticCustomError(
            "invalid_milestone",
            "percent {value} is not a milestone; use one of 25, 50, 75, 100",
            {"value": value},
        )
    return value


Percent = Annotated[
    int, AfterValidator(_check_milestone), Field(json_schema_extra={"enum": [25, 50, 75, 100]})
]

# Unions chosen by the JSON type of the value (json_kind), so an error names the field inside
# the branch that applies (signature.public_key) rather than every branch. The tags are not
# field names: codec drops them from error paths.
TEXT_TAG, NUMBER_TAG, OBJECT_TAG = "<text>", "<number>", "<object>"
UNION_TAGS = frozenset({TEXT_TAG, NUMBER_TAG, OBJECT_TAG})


def json_kind(value: Any) -> str | None:
    """The union tag of a value: a string, a number (not a boolean) or an object (a dict, or a
    model in Python mode); None for anything else."""
    if isinstance(value, str):
        return TEXT_TAG
    if isinstance(value, int | float) and not isinstance(value, bool):
        return NUMBER_TAG
    if isinstance(value, dict | BaseModel):
        return OBJECT_TAG
    return None


LevelName = Literal["debug", "info", "warning", "error", "critical"]
LEVEL_NAMES: tuple[LevelName, ...] = ("debug", "info", "warning", "error", "critical")
# The origin's numeric levels (its tests send 2), read on the scale of .NET's
# Microsoft.Extensions.Logging.LogLevel: Trace 0, Debug 1, Information 2, Warning 3, Error 4,
# Critical 5. ifmesh has no trace level: 0 reads as debug. (.NET's None, 6, logs nothing.)
LEVEL_NUMBERS: dict[int, LevelName] = {
    0: "debug", 1: "debug", 2: "info", 3: "warning", 4: "error", 5: "critical",
}  # fmt: skip
_LEVELS: dict[str | int, LevelName] = {name: name for name in LEVEL_NAMES}
_LEVELS.update((number, name) for number, name in LEVEL_NUMBERS.items())


def level_name(level: LevelName | int) -> LevelName:
    """What a level means: the origin's ``2`` and ifmesh's ``"info"`` are both ``"info"``."""
    return _LEVELS[level]


# Kept as sent, so a message re-encodes as sent: a word, or the origin's number.
Level = Annotated[
    Annotated[LevelName, Tag(TEXT_TAG)]
    | Annotated[
        int,
        Field(
            ge=0,
            le=5,
            description="the origin's: 0, 1 debug; 2 info; 3 warning; 4 error; 5 critical",
        ),
        Tag(NUMBER_TAG),
    ],
    Discriminator(
        json_kind,
        custom_error_type="invalid_level",
        custom_error_message="level is debug, info, warning, error, critical or a number 0-5",
    ),
]
Urgency = Literal["low", "medium", "high", "critical"]
BlockerType = Literal["dependency", "capability", "resource", "external", "technical"]
# FIPA-ACL communicative acts (FIPA SC00037J).
Performative = Literal[
    "accept-proposal", "agree", "cancel", "cfp", "confirm", "disconfirm", "failure", "inform",
    "inform-if", "inform-ref", "not-understood", "propagate", "propose", "proxy", "query-if",
    "query-ref", "refuse", "reject-proposal", "request", "request-when", "request-whenever",
    "subscribe",
]  # fmt: skip

Metadata = dict[str, JsonValue]


# --- signatures ---------------------------------------------------------------------------

# A public key is the origin's 32 bytes in hex, or ifmesh's base64 SubjectPublicKeyInfo DER
# (RFC 8410: a fixed 12-byte prefix, "MCowBQYDK2VwAyEA" in base64, then the 32 key bytes).
_PUBLIC_KEY = r"^([0-9a-fA-F]{64}|MCowBQYDK2VwAyEA[A-Za-z0-9+/]{43}=)$"
_HEX_SIGNATURE = r"^[0-9a-fA-F]{128}$"  # 64 bytes


class Ed25519Signature(BaseModel):
    """The v2.1 signature object, in the origin's shape: the Ed25519 public key (ifmesh's in
    base64 SPKI DER, the origin's in hex), the signature in hex, and the envelope fields it
    covers. Carried unchanged; its shape is checked here, its signature by the receiver."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)

    algorithm: Literal["ed25519"]
    public_key: Annotated[str, Field(pattern=_PUBLIC_KEY)]
    signature_bytes: Annotated[str, Field(pattern=_HEX_SIGNATURE)]
    signed_fields: Annotated[
        list[Annotated[str, Field(min_length=1, max_length=64)]],
        Field(min_length=1, max_length=64),
    ]


Signature = Annotated[
    Annotated[str, Field(min_length=1, max_length=4096), Tag(TEXT_TAG)]
    | Annotated[Ed25519Signature, Tag(OBJECT_TAG)],
    Discriminator(
        json_kind,
        custom_error_type="signature_type",
        custom_error_message="a signature is a string or the origin's signature object",
    ),
]
