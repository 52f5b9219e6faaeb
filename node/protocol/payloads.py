"""The typed payloads of IFMessages: one pydantic model per message type.

A payload model is registered by its wire ``type`` when it is defined (``message_type="x.y"``);
:mod:`ifmesh.node.protocol.messages` builds the envelope class, the discriminated union, the JSON
Schema and the codec's tables from that registry, and re-exports every model here, so callers
keep writing ``messages.TaskClaim``. Field types come from :mod:`ifmesh.node.protocol.fields`.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, JsonValue

from ifmesh.node.protocol.fields import (
    BlockerType,
    Capabilities,
    Epoch,
    Metadata,
    Money,
    NonEmptyText,
    Percent,
    SessionId,
    TaskId,
    Text,
    Timestamp,
    Urgency,
)

GENERIC_TYPE = "message"  # the type of a message that names none (the origin's)
MAX_ASK_GRACE_SECONDS = 86_400.0

_STRICT = ConfigDict(strict=True, extra="forbid", frozen=True, allow_inf_nan=False)


class Payload(BaseModel):
    """Base of every payload; a subclass names its wire ``type`` and is registered by it."""

    model_config = _STRICT
    message_type: ClassVar[str] = ""
    registry: ClassVar[dict[str, type[Payload]]] = {}

    def __init_subclass__(cls, message_type: str = "", **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if message_type:
            if message_type in Payload.registry:
                raise TypeError(f"message type {message_type!r} registered twice")
            cls.message_type = message_type
            Payload.registry[message_type] = cls


class TaskClaim(Payload, message_type="task.claim"):
    task_id: TaskId
    epoch: Epoch
    swarm_id: SessionId
    task_type: NonEmptyText = "general"
    metadata: Metadata = Field(default_factory=dict)
    timestamp: Timestamp
    policy_hash: str = ""


class TaskBroadcast(Payload, message_type="task.broadcast"):
    task_id: TaskId
    task_type: NonEmptyText = "general"
    priority: Urgency = "medium"
    metadata: Metadata = Field(default_factory=dict)
    assigned_at: Timestamp


class TaskProgress(Payload, message_type="task.progress"):
    task_id: TaskId
    epoch: Epoch
    percent: Percent
    milestone: Text = ""


class TaskComplete(Payload, message_type="task.complete"):
    task_id: TaskId
    epoch: Epoch
    deliverable: Text = ""
    tests_pass: bool
    actual_hours: Annotated[float, Field(ge=0)] | None = None


class TaskFail(Payload, message_type="task.fail"):
    task_id: TaskId
    epoch: Epoch
    reason: NonEmptyText


class TaskRelease(Payload, message_type="task.release"):
    task_id: TaskId
    epoch: Epoch


class TaskSteal(Payload, message_type="task.steal"):
    """Takes over a task whose owner's lease expired; ``epoch`` is the new epoch (old + 1)."""

    task_id: TaskId
    epoch: Epoch
    previous_owner: SessionId


class TaskConfirmed(Payload, message_type="task.confirmed"):
    """The git tier's verdict: ``winner`` holds (task, epoch) by the first confirm record."""

    task_id: TaskId
    epoch: Epoch
    winner: SessionId


class ClaimLost(Payload, message_type="claim.lost"):
    task_id: TaskId
    epoch: Epoch
    winner: SessionId


class LeaseRenew(Payload, message_type="lease.renew"):
    """Keeps the sender's claims alive; emitted every lease/3 while it holds any."""

    task_ids: Annotated[list[TaskId], Field(max_length=1024)]


class Blocker(Payload, message_type="blocker"):
    swarm_id: SessionId
    task_id: TaskId
    blocked_on: Annotated[list[TaskId], Field(max_length=256)] = Field(default_factory=list)
    blocker_type: BlockerType = "dependency"
    required_capabilities: Capabilities = Field(default_factory=list)
    description: Text = ""
    urgency: Urgency = "medium"
    detected_at: Timestamp


class BlockerResolved(Payload, message_type="blocker.resolved"):
    swarm_id: SessionId
    task_id: TaskId
    resolution: Text = ""


class HelpRequest(Payload, message_type="help.request"):
    blocked_swarm_id: SessionId
    task_id: TaskId
    required_capabilities: Capabilities
    description: Text = ""
    urgency: Urgency = "medium"
    max_helpers: Annotated[int, Field(ge=1, le=64)] = 3
    max_cost_per_helper: Money = 10.0
    deadline: Timestamp


class HelpOffer(Payload, message_type="help.offer"):
    """A helper's answer; ``request_id`` is the id of the help.request message."""

    request_id: NonEmptyText
    task_id: TaskId
    helper_swarm_id: SessionId
    capabilities: Capabilities = Field(default_factory=list)
    estimated_cost: Money = 0.0
    message: Text = ""


class HelpEscalate(Payload, message_type="help.escalate"):
    """An unanswered help.request past its deadline, raised to every session."""

    request_id: NonEmptyText
    task_id: TaskId
    blocked_swarm_id: SessionId
    reason: Text = ""


class SwarmRegister(Payload, message_type="swarm.register"):
    swarm_id: SessionId
    capabilities: Capabilities
    cost_per_hour: Money
    reputation_score: Annotated[float, Field(ge=0, le=1)] = 0.5
    budget: Money
    model: NonEmptyText = "unspecified"


class SwarmLeave(Payload, message_type="swarm.leave"):
    """A node stops for good (its session ends, ``ifmesh node`` told to stop): the session is no
    longer a member of the room, so claims stop waiting for its ack (docs/claims.md). A later
    ``swarm.register`` from its node makes it a member again."""

    swarm_id: SessionId
    reason: NonEmptyText = "session ended"


class BreakerReset(Payload, message_type="breaker.reset"):
    """An operator closes a circuit breaker: for a swarm, or a swarm's task type."""

    swarm_id: SessionId
    task_type: NonEmptyText | None = None
    reason: Text = ""


class GenericPayload(Payload, message_type=GENERIC_TYPE):
    """The free content of a generic message: any JSON object (the origin's payload, a
    Record<string, unknown>), kept whole as the model's extras."""

    model_config = ConfigDict(strict=True, extra="allow", frozen=True, allow_inf_nan=False)
    __pydantic_extra__: dict[str, JsonValue]


# --- claim queues and request-release (docs/claims.md, "Claim queues") ----------------------


class TaskQueue(Payload, message_type="task.queue"):
    """Joins the queue of a task (held by another, or free while another waiter has the turn).
    Sent again with another ``urgency``, it changes the urgency and keeps the place in time."""

    task_id: TaskId
    epoch: Epoch
    urgency: Urgency = "medium"


class TaskUnqueue(Payload, message_type="task.unqueue"):
    task_id: TaskId


class TaskAskRelease(Payload, message_type="task.ask_release"):
    """Asks the holder of (task, epoch) to release it: its lease shortens to ``grace_seconds``
    after this event (the room's ``resource_policy.ask_release_grace``)."""

    task_id: TaskId
    epoch: Epoch
    reason: NonEmptyText
    grace_seconds: Annotated[float, Field(gt=0, le=MAX_ASK_GRACE_SECONDS)]


class TaskKeep(Payload, message_type="task.keep"):
    """The holder's answer to an ask-release: it keeps the task, and its lease is restored."""

    task_id: TaskId
    epoch: Epoch
    reason: NonEmptyText


# --- path reservations (docs/agents.md, "Path reservations") ----------------------------------

MAX_RESERVATION_TTL_SECONDS = 7 * 86_400.0
PathPattern = Annotated[str, Field(min_length=1, max_length=1024)]
PathPatterns = Annotated[list[PathPattern], Field(max_length=256)]
MAX_WITNESSES = 1024  # tracked paths one paths.reserve carries (node.board.reservations)


class PathsReserve(Payload, message_type="paths.reserve"):
    """The holder of (task, epoch) reserves paths for it: gitignore-style ``patterns``,
    relative to the repository's root. ``exclusive`` ones keep other sessions from editing what
    they match; shared ones only keep others from reserving it exclusively. A reservation ends
    ``ttl_seconds`` after this event, or with the holder's tenure of the task, if sooner.

    ``witnesses``: paths git tracks in the sender's working tree that the patterns match, so
    that every node and git judge overlap through them alike; ``broad``: the patterns that
    matched more of them than one event carries, judged by the directory they are anchored in
    instead (:mod:`ifmesh.node.board.reservations`). Absent in events of earlier versions."""

    task_id: TaskId
    epoch: Epoch
    patterns: Annotated[list[PathPattern], Field(min_length=1, max_length=256)]
    exclusive: bool = True
    ttl_seconds: Annotated[float, Field(gt=0, le=MAX_RESERVATION_TTL_SECONDS)]
    # None, not empty lists, when there are none: an event without them encodes as before.
    witnesses: Annotated[list[PathPattern], Field(max_length=MAX_WITNESSES)] | None = None
    broad: Annotated[list[PathPattern], Field(max_length=256)] | None = None


class PathsRelease(Payload, message_type="paths.release"):
    """Ends the sender's own reservations: those of ``task_id`` (every task when absent) whose
    pattern is in ``patterns`` (every pattern when empty)."""

    task_id: TaskId | None = None
    patterns: PathPatterns = Field(default_factory=list)
