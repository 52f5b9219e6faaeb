"""The capability registry: one :class:`SwarmProfile` per registered swarm.

A profile comes from a ``swarm.register`` event and is part of the folded state. The first
session to register a swarm id owns it: a later registration of that id from another session
is ignored (a session cannot rewrite another's budget or capabilities); the owner may
re-register to change its profile, e.g. to top up its budget.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from ifmesh.node.protocol.messages import SwarmRegister


@dataclass(frozen=True)
class SwarmProfile:
    swarm_id: str
    capabilities: frozenset[str]
    cost_per_hour: float
    reputation_score: float
    budget: float  # per budget period; what is left is the ledger's to say
    model: str
    registrar: str  # the session that registered it

    @classmethod
    def from_register(cls, payload: SwarmRegister, source: str) -> SwarmProfile:
        return cls(
            swarm_id=payload.swarm_id,
            capabilities=frozenset(payload.capabilities),
            cost_per_hour=payload.cost_per_hour,
            reputation_score=payload.reputation_score,
            budget=payload.budget,
            model=payload.model,
            registrar=source,
        )


def register(
    profiles: Mapping[str, SwarmProfile], payload: SwarmRegister, source: str
) -> Mapping[str, SwarmProfile]:
    """``profiles`` with this registration folded in (unchanged if another session owns it)."""
    existing = profiles.get(payload.swarm_id)
    if existing is not None and existing.registrar != source:
        return profiles
    updated = dict(profiles)
    updated[payload.swarm_id] = SwarmProfile.from_register(payload, source)
    return updated
