"""What the MCP tools give back: one pydantic model per result, and the ``ifmesh://session``
resource's document.

A tool's output JSON Schema is its result model's schema (:mod:`.mcp_tools`): what a model is
told it gets back is the control API's document (docs/control-api.md), checked against the
model before it is returned. Results allow fields beyond those named here, so a newer node may
say more without breaking an older server.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from ifmesh.node.protocol.fields import SessionId


class Result(BaseModel):
    model_config = ConfigDict(extra="allow")


class EventSummary(Result):
    id: str
    type: str
    source: str
    seq: int
    lamport: int
    timestamp: str
    payload: dict[str, Any]


class Emitted(Result):
    events: list[EventSummary] = Field(
        default_factory=list, description="the events this call emitted"
    )


class QueueWaiter(Result):
    session: str
    urgency: str
    queued_at: str
    rank: float


class Ask(Result):
    asker: str
    reason: str
    asked_at: str
    grace_until: str


class TaskView(Result):
    id: str
    title: str
    status: str = Field(description="AVAILABLE, CLAIMED, BLOCKED, COMPLETED or STALE")
    owner: str | None
    epoch: int
    confirmed: bool = False
    percent: int = 0
    milestone: str | None = None
    dependencies: list[str] = Field(default_factory=list)
    deliverable: str | None = None
    required_capabilities: list[str] = Field(default_factory=list)
    queue: list[QueueWaiter] = Field(default_factory=list)
    queue_turn: str | None = None
    ask: Ask | None = None


class SessionView(Result):
    id: str
    capabilities: list[str] = Field(default_factory=list)
    current_task: str | None = None
    last_event_at: str | None = None
    presence: str = "absent"


class BlockerView(Result):
    session: str
    task: str
    blocked_on: list[str] = Field(default_factory=list)
    waiting: list[str] = Field(default_factory=list)
    required_capabilities: list[str] = Field(default_factory=list)
    description: str = ""


class HelpRequestView(Result):
    id: str
    requester: str
    task: str
    needs: list[str] = Field(default_factory=list)
    helpers: list[str] = Field(default_factory=list)
    offers: list[str] = Field(default_factory=list)
    escalated: bool = False
    deadline: str | None = None


class Reservation(Result):
    session: str
    task: str
    pattern: str
    exclusive: bool
    expires_at: str | None = None


class Board(Result):
    as_of: str
    tasks: list[TaskView]
    sessions: list[SessionView] = Field(default_factory=list)
    blockers: list[BlockerView] = Field(default_factory=list)
    help_requests: list[HelpRequestView] = Field(default_factory=list)
    reservations: list[Reservation] = Field(
        default_factory=list, description="path reservations in force"
    )


class Queued(Result):
    task: str
    position: int
    queue_length: int
    urgency: str
    holder: str | None = None
    turn: str | None = None


class AskedOfMe(Result):
    task: str
    asker: str
    reason: str
    grace_until: str


class MyAsk(Result):
    task: str
    holder: str | None
    grace_until: str


class Status(Result):
    session: str
    holding: list[str] = Field(default_factory=list)
    asked: list[AskedOfMe] = Field(default_factory=list)
    asking: list[MyAsk] = Field(default_factory=list)
    queued: list[Queued] = Field(default_factory=list)
    mesh: dict[str, Any] = Field(default_factory=dict)
    git: dict[str, Any] = Field(default_factory=dict)


class Peers(Result):
    session: str
    signaling_joined: bool
    peers: list[dict[str, Any]] = Field(default_factory=list)


class NextTasks(Result):
    tasks: list[TaskView] = Field(description="the best tasks for you, best first")
    queued: list[Queued] = Field(default_factory=list)


class Claimed(Emitted):
    task: str
    epoch: int
    won: bool | None = Field(default=None, description="true: the task is yours")
    provisional: bool | None = None
    decided_by: str | None = Field(default=None, description="mesh or git")
    confirmed: bool | None = None
    already_yours: bool = False
    taken_over_from: str | None = None
    queued: bool = Field(default=False, description="true: you joined the task's claim queue")
    position: int | None = None
    queue_length: int | None = None
    holder: str | None = None
    turn: str | None = None


class HelpAsked(Emitted):
    request_id: str
    helpers: list[str] = Field(description="the sessions the governor asked")


class Unqueued(Emitted):
    task: str


class ReleaseAsked(Emitted):
    task: str
    holder: str | None
    grace_until: str | None


class Kept(Emitted):
    task: str
    asked_by: str | None


class Waited(Result):
    task: TaskView
    until: str
    taken_over_from: str | None = None


class Reserved(Emitted):
    task: str
    epoch: int | None = None
    reserved: list[Reservation] = Field(
        description="your reservations of the task in force, this one included"
    )


class Unreserved(Emitted):
    task: str | None = None
    patterns: list[str] = Field(default_factory=list)
    reserved: list[Reservation] = Field(description="what you still reserve")


class PathConflict(Result):
    path: str
    holder: str
    task: str
    pattern: str
    exclusive: bool = True
    expires_at: str | None = None


class PathCheck(Result):
    ok: bool = Field(description="true: no other session holds these paths")
    conflicts: list[PathConflict] = Field(default_factory=list)
    guard: str | None = Field(default=None, description="the room's guard policy: open or closed")
    paths: list[str] = Field(default_factory=list, description="as checked, from the repo root")
    outside: list[str] = Field(
        default_factory=list, description="paths outside the working tree, never checked"
    )


class SessionState(Result):
    """The ``ifmesh://session`` resource: what this session holds and waits for."""

    session: SessionId
    tasks: list[TaskView] = Field(description="the tasks this session holds")
    queued: list[Queued] = Field(description="the claim queues it waits in")
    asked: list[AskedOfMe] = Field(description="asks to release tasks it holds")
    asking: list[MyAsk] = Field(description="its own open asks")
    blockers: list[BlockerView] = Field(description="what it said blocks it")
    help_requested: list[HelpRequestView] = Field(description="its own help requests")
    help_wanted: list[HelpRequestView] = Field(
        description="open requests the governor asked it to help with, not yet offered"
    )
    reservations: list[Reservation] = Field(description="its path reservations in force")
