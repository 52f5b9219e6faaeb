"""The room's resource policy: the ``resource_policy`` YAML model, its defaults and its hash.

One policy serves a whole room (``.ifmesh/policy.yaml`` on the coordination branch). Claims
carry :attr:`Policy.hash`, computed over the *effective* policy (defaults filled in, durations
in seconds, every task-type override resolved against the base), so two files that decide
alike hash alike and any difference that changes a decision changes the hash.

Per-task-type overrides (``task_types: {integration: {...}}``) may set any of the
:class:`Limits` fields; the rest come from the base. Reading a file (with line numbers for
errors) lives in :mod:`ifmesh.node.governor.policy_file`.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field
from pydantic_core import PydanticCustomError

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d|w)\s*$")
_UNIT_SECONDS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}
_PERIODS = {"hourly": 3600.0, "daily": 86400.0, "weekly": 604800.0}


def _duration(value: Any) -> Any:
    """Seconds as a number, or a string such as ``90s``, ``15m``, ``2h``, ``1d``, ``1w``."""
    if isinstance(value, bool):
        raise PydanticCustomError("duration", "a duration is seconds or a string like '15m'")
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        match = _DURATION.match(value)
        if match is None:
            raise PydanticCustomError(
                "duration",
                "{value} is not a duration; write seconds or e.g. '90s', '15m', '2h', '1d'",
                {"value": repr(value)},
            )
        return float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    raise PydanticCustomError("duration", "a duration is seconds or a string like '15m'")


def _period(value: Any) -> Any:
    """``none`` (one period forever), ``hourly``/``daily``/``weekly``, or a duration."""
    if value is None or value == "none":
        return None
    if isinstance(value, str) and value in _PERIODS:
        return _PERIODS[value]
    return _duration(value)


Seconds = Annotated[float, BeforeValidator(_duration), Field(gt=0)]
Period = Annotated[Annotated[float, Field(gt=0)] | None, BeforeValidator(_period)]
Ratio = Annotated[float, Field(ge=0, le=1)]
Count = Annotated[int, Field(ge=1, le=1024)]
Dollars = Annotated[float, Field(ge=0)]
Hours = Annotated[float, Field(gt=0, le=10_000)]
TaskTypeName = Annotated[str, Field(min_length=1, max_length=4096)]
Takeover = Literal["offer", "auto", "never"]
"""What a node does with a task whose holder's lease ran out while the holder is absent from
its mesh (docs/claims.md, "Leases, staleness and takeovers"): ``offer`` it to its own session
(first in ``ifmesh next``; an explicit ``ifmesh claim`` takes it over), take it by itself when
idle and tell its session (``auto``), or leave it to its holder (``never``)."""

Guard = Literal["open", "closed"]
"""What the path guard does when it cannot check (docs/agents.md, "When the guard cannot
check"): let the edit or commit through with a warning (``open``), or refuse it (``closed``)."""
SessionEnd = Literal["release", "keep"]
"""What an agent's session end does with the tasks it holds (`ifmesh agent-hook SessionEnd`):
give them back at once (``release``), or keep them until the lease runs out (``keep``)."""

_CONFIG = ConfigDict(strict=True, extra="forbid", frozen=True, allow_inf_nan=False)


class LimitsOverride(BaseModel):
    """A task type's overrides; anything left out comes from the base policy."""

    model_config = _CONFIG

    max_swarms_per_task: Count | None = None
    max_cost_per_task: Dollars | None = None
    min_capability_match: Ratio | None = None
    circuit_breaker_failure_threshold: Count | None = None
    circuit_breaker_reset_timeout: Seconds | None = None
    circuit_breaker_half_open_probes: Count | None = None
    max_helpers_per_blocker: Count | None = None
    escalation_deadline: Seconds | None = None
    default_estimate_hours: Hours | None = None
    help_estimate_hours: Hours | None = None


class ResourcePolicy(BaseModel):
    """The ``resource_policy`` section, with the defaults a room gets when it says nothing."""

    model_config = _CONFIG

    max_swarms_per_task: Count = 3
    max_cost_per_task: Dollars = 10.0
    min_capability_match: Ratio = 0.7
    circuit_breaker_failure_threshold: Count = 3
    circuit_breaker_reset_timeout: Seconds = 300.0
    circuit_breaker_half_open_probes: Count = 1
    # The gang-up limit: however many helpers a request asks for, at most this many are sent.
    max_helpers_per_blocker: Count = 2
    escalation_deadline: Seconds = 600.0
    default_estimate_hours: Hours = 1.0
    help_estimate_hours: Hours = 0.5
    budget_period: Period = 86400.0
    budget_warning_ratio: Ratio = 0.8
    allow_unregistered: bool = False
    takeover: Takeover = "offer"
    # How long the holder of a task has to answer `ifmesh ask-release` (release or keep)
    # before its lease runs out and the task goes STALE (docs/claims.md, "Request-release").
    ask_release_grace: Seconds = 600.0
    # The path guard (agent hooks, the git pre-commit hook) when it cannot check: no node,
    # bad input, its own error (docs/agents.md).
    guard: Guard = "open"
    agent_session_end: SessionEnd = "keep"
    task_types: dict[TaskTypeName, LimitsOverride] = Field(default_factory=dict)


class PolicyDocument(BaseModel):
    """A policy file: one top-level key, ``resource_policy``."""

    model_config = _CONFIG

    resource_policy: ResourcePolicy


@dataclass(frozen=True)
class Limits:
    """The limits in force for one task type (base policy with that type's overrides)."""

    max_swarms_per_task: int
    max_cost_per_task: float
    min_capability_match: float
    circuit_breaker_failure_threshold: int
    circuit_breaker_reset_timeout: float
    circuit_breaker_half_open_probes: int
    max_helpers_per_blocker: int
    escalation_deadline: float
    default_estimate_hours: float
    help_estimate_hours: float


_LIMIT_FIELDS = tuple(LimitsOverride.model_fields)


@dataclass(frozen=True)
class Policy:
    """The effective policy the governor decides by. Build with :func:`policy_from_model`."""

    base: Limits
    task_types: Mapping[str, Limits]
    budget_period: float | None
    budget_warning_ratio: float
    allow_unregistered: bool
    takeover: Takeover = "offer"
    ask_release_grace: float = 600.0
    guard: Guard = "open"
    agent_session_end: SessionEnd = "keep"
    hash: str = field(default="", compare=False)

    def limits(self, task_type: str | None) -> Limits:
        if task_type is None:
            return self.base
        return self.task_types.get(task_type, self.base)

    def effective(self) -> dict[str, Any]:
        """Plain data of everything in force (defaults filled, seconds, overrides resolved)."""
        section: dict[str, Any] = asdict(self.base)
        section["budget_period"] = self.budget_period
        section["budget_warning_ratio"] = self.budget_warning_ratio
        section["allow_unregistered"] = self.allow_unregistered
        section["takeover"] = self.takeover
        section["ask_release_grace"] = self.ask_release_grace
        section["guard"] = self.guard
        section["agent_session_end"] = self.agent_session_end
        section["task_types"] = {
            name: asdict(limits) for name, limits in sorted(self.task_types.items())
        }
        return {"resource_policy": section}


def canonical_hash(effective: Mapping[str, Any]) -> str:
    """``sha256:<hex>`` of the canonical JSON (sorted keys, no spaces, UTF-8) of ``effective``."""
    text = json.dumps(effective, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def policy_from_model(model: ResourcePolicy) -> Policy:
    base_values = {name: getattr(model, name) for name in _LIMIT_FIELDS}
    base = Limits(**base_values)
    task_types: dict[str, Limits] = {}
    for name, override in model.task_types.items():
        values = dict(base_values)
        values.update(override.model_dump(exclude_none=True))
        task_types[name] = Limits(**values)
    policy = Policy(
        base=base,
        task_types=task_types,
        budget_period=model.budget_period,
        budget_warning_ratio=model.budget_warning_ratio,
        allow_unregistered=model.allow_unregistered,
        takeover=model.takeover,
        ask_release_grace=model.ask_release_grace,
        guard=model.guard,
        agent_session_end=model.agent_session_end,
    )
    return replace(policy, hash=canonical_hash(policy.effective()))


DEFAULT_POLICY = policy_from_model(ResourcePolicy())
"""What a room without ``.ifmesh/policy.yaml`` runs."""
