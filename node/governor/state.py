"""The governor's part of the folded state, and what it needs to know about a task.

:class:`GovernorState` is a value: the reducer returns a new one per event and never changes
one, so a re-fold from any earlier snapshot is safe. Mappings are kept canonical (no closed,
failure-free breakers, no zero totals, no finished help cases), so two nodes that folded the
same events hold equal states.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ifmesh.node.governor.breaker import CLOSED_BREAKER, Breaker
from ifmesh.node.governor.ledger import Ledger
from ifmesh.node.governor.registry import SwarmProfile

SWARM_WIDE = ""  # the task-type slot of a breaker key that guards a whole swarm
BreakerKey = tuple[str, str]  # (swarm_id, task_type or SWARM_WIDE)


@dataclass(frozen=True)
class TaskDemand:
    """What a task asks of whoever takes it (from the board's task, or the claim itself)."""

    task_id: str
    task_type: str = "general"
    required_capabilities: frozenset[str] = frozenset()
    estimate_hours: float | None = None  # None: the policy's default_estimate_hours
    completed: bool = False  # the board has it COMPLETED: nobody works on it any more


@dataclass(frozen=True)
class HelpCase:
    """An open ``help.request`` (keyed by the request message's id) and who was sent."""

    request_id: str
    task_id: str
    blocked_swarm_id: str
    requester: str
    helpers: tuple[str, ...]
    deadline: float  # epoch seconds
    offers: frozenset[str] = frozenset()
    escalated: bool = False


@dataclass(frozen=True)
class GovernorState:
    profiles: Mapping[str, SwarmProfile] = field(default_factory=dict)
    ledger: Ledger = field(default_factory=Ledger)
    breakers: Mapping[BreakerKey, Breaker] = field(default_factory=dict)
    help: Mapping[str, HelpCase] = field(default_factory=dict)
    # session → the policy hash its last claim carried, while it differs from ours
    policy_mismatches: Mapping[str, str] = field(default_factory=dict)

    def breaker(self, key: BreakerKey) -> Breaker:
        return self.breakers.get(key, CLOSED_BREAKER)

    def as_dict(self) -> dict[str, Any]:
        """Plain, order-independent data (sorted), for comparing and rendering states."""
        ledger = self.ledger
        return {
            "profiles": {
                sid: {
                    "capabilities": sorted(p.capabilities),
                    "cost_per_hour": p.cost_per_hour,
                    "reputation_score": p.reputation_score,
                    "budget": p.budget,
                    "model": p.model,
                    "registrar": p.registrar,
                }
                for sid, p in sorted(self.profiles.items())
            },
            "reservations": [
                [*key, r.session, r.amount, r.task_type]
                for key, r in sorted(ledger.reservations.items())
            ],
            "spent": {sid: [s.period, s.amount] for sid, s in sorted(ledger.spent.items())},
            "settled_by_swarm": dict(sorted(ledger.settled_by_swarm.items())),
            "settled_by_task": dict(sorted(ledger.settled_by_task.items())),
            "breakers": [
                [*key, b.state.value, b.failures, b.opened_at, b.probes]
                for key, b in sorted(self.breakers.items())
            ],
            "help": {
                rid: {
                    "task_id": c.task_id,
                    "blocked_swarm_id": c.blocked_swarm_id,
                    "requester": c.requester,
                    "helpers": list(c.helpers),
                    "deadline": c.deadline,
                    "offers": sorted(c.offers),
                    "escalated": c.escalated,
                }
                for rid, c in sorted(self.help.items())
            },
            "policy_mismatches": dict(sorted(self.policy_mismatches.items())),
        }
