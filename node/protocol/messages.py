"""IFMessage: the envelope every ifmesh node speaks, around the payloads of
:mod:`ifmesh.node.protocol.payloads` (re-exported here).

Compatibility. An IFMessage v1.0 carries ``id``, ``timestamp``, ``level``, ``source``,
``destination`` and ``payload``; those stay required. The v2.1 fields (``performative``,
``sender``/``receiver`` URIs, ``conversation_id``, ``sequence_num``, ``nonce``, ``ttl``,
``scope``, ``signature``) are optional. The mesh adds ``type`` (which payload this is),
``lamport``, ``seq``, ``incarnation`` and ``hops``.

The origin's shape (the TypeScript mesh of dannystocker/infrafabric) is read too, and kept as
sent: a numeric ``level`` (:attr:`Envelope.severity` says what it means), ``traceId``,
``version``, ``citation_ids``, a ``signature`` object, ``destination: "broadcast"``
(:attr:`Envelope.addressee` reads it as ``*``), and no ``type``: such a message is a
:data:`GENERIC_TYPE` message whose payload is free. A generic message is not an event: it is not
in :data:`EVENT_TYPES` and never changes the board.

Identity. ``source`` is the session id (``session-2-webrtc``); with ``lamport`` and ``seq`` it is
the ordering key ``(lamport, source, seq)`` of the board. ``sender`` is derived from it
(``if://agent/session-2-webrtc``) and, when present, must agree with it.

Adding a message type is one payload model in :mod:`ifmesh.node.protocol.payloads`: subclass
:class:`Payload` with ``message_type="x.y"``. The envelope class for it, the discriminated
union, the JSON Schema and the codec all follow from that registration.

Validation lives in the models (pydantic, strict types, unknown fields refused), built from
the field types of :mod:`ifmesh.node.protocol.fields`; turning pydantic's errors into
:mod:`ifmesh.node.errors` happens once, in :mod:`ifmesh.node.protocol.codec`.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal, Union

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    TypeAdapter,
    ValidationInfo,
    create_model,
    field_validator,
)
from pydantic_core import PydanticCustomError

from ifmesh.node.protocol import payloads as _payloads
from ifmesh.node.protocol.fields import (
    ORIGIN_BROADCAST,
    AgentUri,
    Destination,
    Level,
    LevelName,
    NonEmptyText,
    Performative,
    SessionId,
    Signature,
    Timestamp,
    level_name,
)

# The payload models, re-exported: callers write ``messages.TaskClaim``.
Payload = _payloads.Payload
TaskClaim = _payloads.TaskClaim
TaskBroadcast = _payloads.TaskBroadcast
TaskProgress = _payloads.TaskProgress
TaskComplete = _payloads.TaskComplete
TaskFail = _payloads.TaskFail
TaskRelease = _payloads.TaskRelease
TaskSteal = _payloads.TaskSteal
TaskConfirmed = _payloads.TaskConfirmed
ClaimLost = _payloads.ClaimLost
LeaseRenew = _payloads.LeaseRenew
Blocker = _payloads.Blocker
BlockerResolved = _payloads.BlockerResolved
HelpRequest = _payloads.HelpRequest
HelpOffer = _payloads.HelpOffer
HelpEscalate = _payloads.HelpEscalate
SwarmRegister = _payloads.SwarmRegister
SwarmLeave = _payloads.SwarmLeave
BreakerReset = _payloads.BreakerReset
GenericPayload = _payloads.GenericPayload
TaskQueue = _payloads.TaskQueue
TaskUnqueue = _payloads.TaskUnqueue
TaskAskRelease = _payloads.TaskAskRelease
TaskKeep = _payloads.TaskKeep
PathsReserve = _payloads.PathsReserve
PathsRelease = _payloads.PathsRelease
GENERIC_TYPE = _payloads.GENERIC_TYPE

MAX_ENCODED_BYTES = 1 << 20  # an encoded IFMessage is at most 1 MiB (DESIGN.md)
DEFAULT_TTL_SECONDS = 300
MAX_TTL_SECONDS = 86_400
AGENT_URI_PREFIX = "if://agent/"
BROADCAST = "*"

_STRICT = ConfigDict(strict=True, extra="forbid", frozen=True, allow_inf_nan=False)


# --- envelope -------------------------------------------------------------------------------


def new_message_id() -> str:
    return str(uuid.uuid4())


def agent_uri(session: str) -> str:
    return f"{AGENT_URI_PREFIX}{session}"


class Envelope(BaseModel):
    """Fields every IFMessage carries; one subclass per payload type is generated below."""

    model_config = _STRICT

    # IFMessage v1.0: required on the wire (make_message fills id, level and destination).
    id: NonEmptyText
    timestamp: Timestamp
    level: Level
    source: SessionId
    destination: Destination
    type: str
    payload: Payload
    # IFMessage v2.1 (optional)
    performative: Performative | None = None
    sender: AgentUri | None = None
    receiver: AgentUri | None = None
    conversation_id: NonEmptyText | None = None
    sequence_num: Annotated[int, Field(ge=0)] | None = None
    nonce: NonEmptyText | None = None
    ttl: Annotated[int, Field(ge=1, le=MAX_TTL_SECONDS)] = DEFAULT_TTL_SECONDS
    scope: NonEmptyText | None = None
    signature: Signature | None = None
    # the origin's (dannystocker/infrafabric), carried as given
    traceId: NonEmptyText | None = None  # the origin's spelling
    version: Literal["1.0", "2.1"] | None = None
    citation_ids: Annotated[list[NonEmptyText], Field(max_length=1024)] | None = None
    # mesh ordering and relay
    lamport: Annotated[int, Field(ge=0)] = 0
    seq: Annotated[int, Field(ge=0)] = 0
    incarnation: Annotated[str, Field(max_length=128)] = ""
    hops: Annotated[int, Field(ge=0, le=16)] | None = None

    @field_validator("sender")
    @classmethod
    def _sender_is_source(cls, sender: str | None, info: ValidationInfo) -> str | None:
        # A field validator, not a model one: it runs only when a sender is present.
        source = info.data.get("source")  # absent when the source itself was refused
        if sender is not None and source is not None and sender != agent_uri(source):
            raise PydanticCustomError(
                "sender_mismatch",
                "sender {sender} does not name source {source}",
                {"sender": repr(sender), "source": repr(source)},
            )
        return sender

    def expires_at(self) -> datetime:
        return self.timestamp + timedelta(seconds=self.ttl)

    @property
    def severity(self) -> LevelName:
        """What ``level`` means, whichever shape sent it: ``2`` reads as ``"info"``."""
        return level_name(self.level)

    @property
    def addressee(self) -> str:
        """``*`` (every session) or one session id: the origin's ``"broadcast"`` reads as ``*``
        (no session may be named so); ``destination`` keeps what was sent."""
        return BROADCAST if self.destination == ORIGIN_BROADCAST else self.destination


def _envelope_for(message_type: str, payload: type[Payload]) -> type[Envelope]:
    name = payload.__name__.removesuffix("Payload") + "Message"
    # Only the generic type may go unnamed on the wire (the origin names none).
    tag = message_type if message_type == GENERIC_TYPE else ...
    model: type[Envelope] = create_model(
        name,
        __base__=Envelope,
        __module__=__name__,
        __doc__=f"An IFMessage of type {message_type!r}.",
        type=(Literal[message_type], tag),  # type: ignore[arg-type]
        payload=(payload, ...),
    )
    return model


ENVELOPES: dict[str, type[Envelope]] = {
    message_type: _envelope_for(message_type, payload)
    for message_type, payload in Payload.registry.items()
}

EVENT_TYPES = frozenset(ENVELOPES) - {GENERIC_TYPE}
"""The types that change shared state: the board folds these, and nothing else."""

IFMessage = Envelope
"""Every decoded message is an instance of one of ``ENVELOPES``; annotate with this."""


def message_type_of(value: Any) -> str | None:
    """The union's tag: ``type``, or the generic type when a message names none (None for
    what is no object at all)."""
    if isinstance(value, dict):
        tag = value.get("type", GENERIC_TYPE)
    elif isinstance(value, Envelope):
        tag = value.type
    else:
        return None
    return tag if isinstance(tag, str) else repr(tag)


_union = Union[tuple(Annotated[e, Tag(t)] for t, e in ENVELOPES.items())]  # type: ignore[valid-type]  # noqa: UP007
MESSAGE_ADAPTER: TypeAdapter[Envelope] = TypeAdapter(
    Annotated[_union, Discriminator(message_type_of)]  # type: ignore[arg-type]
)


def make_message(payload: Payload, *, source: str, timestamp: datetime, **fields: Any) -> Envelope:
    """Builds a validated IFMessage around ``payload`` (the envelope type follows from it).

    Defaults: a fresh uuid4 ``id``, ``level="info"``, ``destination="*"`` (everyone).
    """
    envelope = ENVELOPES[payload.message_type]
    fields.setdefault("id", new_message_id())
    fields.setdefault("level", "info")
    fields.setdefault("destination", BROADCAST)
    return envelope(
        type=payload.message_type,
        payload=payload,
        source=source,
        timestamp=timestamp,
        **fields,
    )


def json_schema() -> dict[str, Any]:
    """The JSON Schema of an IFMessage (all types), as committed in fixtures/schema/."""
    schema = MESSAGE_ADAPTER.json_schema(mode="validation")
    # pydantic writes no discriminator for a tag computed in Python; state it for readers (the
    # generic message's type is optional: one without type is that one).
    schema["discriminator"] = {
        "propertyName": "type",
        "mapping": {t: f"#/$defs/{e.__name__}" for t, e in sorted(ENVELOPES.items())},
    }
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://ifmesh.dev/schema/ifmessage.schema.json"
    schema["title"] = "IFMessage"
    return schema
