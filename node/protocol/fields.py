"""The field types IFMessages are made of: timestamps, ids, capabilities, milestones, levels.

Each is an annotated type: the rule lives with the type, so a session id or a capability is
checked the same way wherever it appears (a payload, the envelope, a node's configuration). The
checks are plain functions (``_timestamp``, ``_check_capability``, ``_check_milestone``), which
the fast decoding path calls too (:mod:`ifmesh.node.protocol.fastdecode`). Error codes are
pydantic custom errors; :mod:`ifmesh.node.protocol.codec` turns them into the node's errors.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    Field,
    JsonValue,
    PlainSerializer,
    PlainValidator,
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

SessionId = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9._-]{0,63}$")]
TaskId = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")]
Destination = Annotated[str, Field(pattern=r"^(\*|[a-z0-9][a-z0-9._-]{0,63})$")]
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

Level = Literal["debug", "info", "warning", "error", "critical"]
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
