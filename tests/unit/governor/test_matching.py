"""Matching and ranking: match = |required ∩ offered| / |required|, score = match ×
reputation ÷ cost, ties by swarm id."""

from __future__ import annotations

import math

from ifmesh.node.governor.matching import match_score, rank, score
from ifmesh.node.governor.registry import SwarmProfile


def profile(swarm_id: str, caps: set[str], cost: float, reputation: float) -> SwarmProfile:
    return SwarmProfile(swarm_id, frozenset(caps), cost, reputation, 10.0, "m", swarm_id)


def test_match_is_the_share_of_required_capabilities_offered() -> None:
    required = frozenset({"protocol:h323", "protocol:h245", "lang:python"})
    assert match_score(required, frozenset({"protocol:h323", "media:mcu"})) == 1 / 3
    assert match_score(frozenset(), frozenset()) == 1.0
    assert match_score(required, frozenset(required)) == 1.0


def test_rank_by_score_then_swarm_id_and_drop_the_ineligible() -> None:
    needs = frozenset({"docs:technical-writing", "test:fixtures"})
    swarms = [
        profile("session-5-cli", {"test:fixtures"}, 2.0, 0.8),  # 0.5 × 0.8 / 2 = 0.2
        profile("session-2-webrtc", {"docs:technical-writing", "test:fixtures"}, 1.2, 0.9),  # 0.75
        profile("session-9-b", {"docs:technical-writing"}, 1.0, 0.4),  # 0.5 × 0.4 / 1 = 0.2
        profile("session-1-ndi", {"protocol:ndi"}, 0.5, 1.0),  # match 0: ineligible
    ]
    ranked = rank(swarms, needs, 0.5)
    assert [c.swarm_id for c in ranked] == ["session-2-webrtc", "session-5-cli", "session-9-b"]
    assert ranked[0].score == 0.75


def test_free_swarms_rank_first_and_zero_reputation_last() -> None:
    free = profile("session-7-free", set(), 0.0, 0.5)
    assert score(1.0, free) == math.inf
    assert score(1.0, profile("x", set(), 0.0, 0.0)) == 0.0
    ranked = rank(
        [profile("a", set(), 1.0, 0.0), free, profile("b", set(), 1.0, 0.5)], frozenset(), 0.7
    )
    assert [c.swarm_id for c in ranked] == ["session-7-free", "b", "a"]
