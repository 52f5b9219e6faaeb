"""What the MCP tools take: one pydantic model per tool's arguments.

A tool's input JSON Schema is its model's schema (:mod:`.mcp_tools`), so what a model is told
it may send is what is checked, before the node is called. Unknown fields are refused: a
misspelt argument is a ``bad_request``, never silently dropped. Field types are the
protocol's own (:mod:`ifmesh.node.protocol.fields`): a task id, a capability, a milestone and
an urgency are checked here exactly as the node checks them. What the tools give back is in
:mod:`.mcp_results`.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from ifmesh.node.protocol.fields import (
    Capability,
    NonEmptyText,
    Percent,
    TaskId,
    Text,
    Urgency,
)
from ifmesh.node.protocol.payloads import MAX_RESERVATION_TTL_SECONDS

WaitUntil = Literal["completed", "unblocked", "assigned", "mine", "asked"]


class Args(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- arguments ---------------------------------------------------------------------------------


class NoArgs(Args):
    pass


class TaskArgs(Args):
    task: TaskId = Field(description="the task's id on the board, e.g. P0.1.4")


class ClaimArgs(TaskArgs):
    queue: bool = Field(
        default=False,
        description="if another session holds the task (or it is another waiter's turn), join"
        " its claim queue instead of failing; a free task is simply claimed",
    )
    urgency: Urgency = Field(default="medium", description="your place in the queue (queue)")
    provisional: bool = Field(
        default=False,
        description="answer at once, before the claim is decided (you may still lose it)",
    )
    confirmed: bool = Field(
        default=False, description="after the decision, wait until git confirms it too"
    )
    force: bool = Field(
        default=False,
        description="claim despite dependencies not completed, or another waiter's queue turn;"
        " only when a person told you to",
    )
    timeout: float = Field(
        default=60.0,
        gt=0,
        le=3600,
        description="seconds to wait for the decision; then the claim is withdrawn"
        " (claim_undecided)",
    )


class ProgressArgs(TaskArgs):
    percent: Percent = Field(description="the milestone reached: 25, 50, 75 or 100")
    milestone: Text = Field(default="", description="what was reached, in a few words")


class CompleteArgs(TaskArgs):
    deliverable: Text = Field(default="", description="path of what you delivered")
    tests_pass: bool = Field(default=False, description="true when the task's tests pass")


class FailArgs(TaskArgs):
    reason: NonEmptyText = Field(description="why the task failed")


class BlockArgs(TaskArgs):
    on: list[TaskId] = Field(default_factory=list, description="tasks you wait for")
    reason: Text = Field(default="", description="what blocks you, when it is not a task")
    need: list[Capability] = Field(
        default_factory=list,
        description="capabilities ('category:name') of the help you need; also opens a help"
        " request",
    )
    urgency: Urgency = "medium"


class HelpArgs(TaskArgs):
    need: list[Capability] = Field(
        min_length=1, description="capabilities ('category:name', e.g. 'lang:python') you need"
    )
    description: Text = Field(default="", description="what you need help with")
    urgency: Urgency = "medium"


class OfferArgs(Args):
    request: NonEmptyText = Field(description="the help request's id (board: help_requests[].id)")
    message: Text = Field(default="", description="what you offer, for the requester")


class ReasonArgs(TaskArgs):
    reason: NonEmptyText = Field(description="why, in a sentence: the other session reads it")


class WaitArgs(Args):
    task: TaskId | None = Field(
        default=None, description="the task (optional with until 'assigned' or 'asked')"
    )
    until: WaitUntil = Field(
        default="completed",
        description="completed: the task is COMPLETED; unblocked: what you wait on for it is"
        " done; mine: the task is yours, decided (after claim with queue); assigned: a task"
        " your node took over for you; asked: someone asks you to release a task you hold",
    )
    timeout: float | None = Field(
        default=None, gt=0, description="seconds; without it, as long as it takes"
    )


class ReserveArgs(Args):
    patterns: list[NonEmptyText] = Field(
        min_length=1, description="gitignore-style globs of the paths you will edit"
    )
    task: TaskId = Field(description="the task you hold the paths for")
    exclusive: bool = Field(
        default=True, description="false: shared (conflicts only with exclusive reservations)"
    )
    ttl_seconds: float | None = Field(
        default=None,
        gt=0,
        le=MAX_RESERVATION_TTL_SECONDS,
        description="how long the reservation lasts, in seconds (default 2 hours, at most a"
        " week); it also ends with the task",
    )
    timeout: float = Field(
        default=60.0,
        gt=0,
        le=3600,
        description="seconds to wait for the decision; then the reservation is withdrawn"
        " (reservation_undecided)",
    )


class UnreserveArgs(Args):
    patterns: list[NonEmptyText] | None = Field(
        default=None, description="the patterns to give back (default: all of the task's)"
    )
    task: TaskId | None = Field(default=None, description="the task whose reservations to drop")


class CheckPathsArgs(Args):
    paths: list[NonEmptyText] = Field(min_length=1, description="paths you are about to edit")
