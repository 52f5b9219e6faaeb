"""Who fits a task: capability match and the ranking every node computes alike.

match = |required ∩ offered| / |required| (1.0 when nothing is required); a swarm is eligible
at or above the policy's ``min_capability_match``. Eligible swarms rank by
match × reputation ÷ cost_per_hour, highest first; ties (and free swarms, whose score is
infinite) are broken by swarm id so that every node picks the same one.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from ifmesh.node.governor.registry import SwarmProfile


@dataclass(frozen=True)
class Candidate:
    swarm_id: str
    match: float
    score: float


def match_score(required: frozenset[str], offered: frozenset[str]) -> float:
    if not required:
        return 1.0
    return len(required & offered) / len(required)


def score(match: float, profile: SwarmProfile) -> float:
    value = match * profile.reputation_score
    if profile.cost_per_hour == 0:
        return math.inf if value > 0 else 0.0
    return value / profile.cost_per_hour


def rank(
    profiles: Iterable[SwarmProfile], required: frozenset[str], min_match: float
) -> list[Candidate]:
    """Eligible swarms, best first (ties by swarm id)."""
    candidates = []
    for profile in profiles:
        match = match_score(required, profile.capabilities)
        if match >= min_match:
            candidates.append(Candidate(profile.swarm_id, match, score(match, profile)))
    candidates.sort(key=lambda c: (-c.score, c.swarm_id))
    return candidates
