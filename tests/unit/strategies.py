"""Hypothesis strategies for every IFMessage type, built from the payload models' field names.

A payload field whose name has no strategy here makes ``payloads()`` fail loudly, so a new
message type cannot silently escape the property tests.
"""

from __future__ import annotations

from datetime import UTC, timedelta, timezone
from typing import Any

from hypothesis import strategies as st

from ifmesh.node.protocol import messages
from ifmesh.node.protocol.fields import MILESTONES

session_ids = st.from_regex(r"\A[a-z0-9][a-z0-9._-]{0,20}\Z")
task_ids = st.from_regex(r"\A[A-Za-z0-9][A-Za-z0-9._:-]{0,12}\Z")
capabilities = st.builds(
    lambda c, n: f"{c}:{n}",
    st.from_regex(r"\A[a-z][a-z0-9-]{0,10}\Z"),
    st.from_regex(r"\A[a-z0-9][a-z0-9.+-]{0,14}\Z"),
)
text = st.text(st.characters(exclude_categories=("Cs",)), max_size=40)
non_empty_text = text.filter(lambda s: len(s) >= 1)
zones = st.sampled_from(
    [UTC, timezone(timedelta(hours=5, minutes=30)), timezone(-timedelta(hours=8))]
)
aware_datetimes = st.datetimes(timezones=zones).filter(lambda d: 1 < d.year < 9999)
epoch_seconds = st.floats(min_value=0, max_value=4e9, allow_nan=False, allow_infinity=False)
timestamps = st.one_of(aware_datetimes, epoch_seconds)
json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    text,
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(text, inner, max_size=4),
    max_leaves=12,
)
money = st.floats(min_value=0, max_value=1e6, allow_nan=False)

FIELD_STRATEGIES: dict[str, st.SearchStrategy[Any]] = {
    "task_id": task_ids,
    "epoch": st.integers(min_value=0, max_value=2**31),
    "swarm_id": session_ids,
    "task_type": non_empty_text,
    "metadata": st.dictionaries(text, json_values, max_size=4),
    "timestamp": timestamps,
    "policy_hash": text,
    "priority": st.sampled_from(["low", "medium", "high", "critical"]),
    "urgency": st.sampled_from(["low", "medium", "high", "critical"]),
    "assigned_at": timestamps,
    "percent": st.sampled_from(MILESTONES),
    "milestone": text,
    "deliverable": text,
    "tests_pass": st.booleans(),
    "actual_hours": st.none() | st.floats(min_value=0, max_value=1e4, allow_nan=False),
    "reason": non_empty_text,
    "previous_owner": session_ids,
    "winner": session_ids,
    "task_ids": st.lists(task_ids, max_size=5),
    "blocked_on": st.lists(task_ids, max_size=5),
    "blocker_type": st.sampled_from(["dependency", "capability", "resource", "external"]),
    "required_capabilities": st.lists(capabilities, max_size=6),
    "capabilities": st.lists(capabilities, max_size=6),
    "description": text,
    "detected_at": timestamps,
    "resolution": text,
    "blocked_swarm_id": session_ids,
    "max_helpers": st.integers(min_value=1, max_value=64),
    "max_cost_per_helper": money,
    "deadline": timestamps,
    "request_id": non_empty_text,
    "helper_swarm_id": session_ids,
    "estimated_cost": money,
    "message": text,
    "cost_per_hour": money,
    "reputation_score": st.floats(min_value=0, max_value=1),
    "budget": money,
    "model": non_empty_text,
    "grace_seconds": st.floats(min_value=0.001, max_value=86_400, allow_nan=False),
    "patterns": st.lists(non_empty_text, min_size=1, max_size=4),
    "exclusive": st.booleans(),
    "ttl_seconds": st.floats(min_value=0.001, max_value=604_800, allow_nan=False),
    "witnesses": st.none() | st.lists(non_empty_text, max_size=4),
    "broad": st.none() | st.lists(non_empty_text, max_size=2),
}


def payloads(cls: type[messages.Payload]) -> st.SearchStrategy[messages.Payload]:
    fields = {}
    for name in cls.model_fields:
        if name not in FIELD_STRATEGIES:
            raise KeyError(f"no strategy for payload field {cls.__name__}.{name}")
        fields[name] = FIELD_STRATEGIES[name]
    return st.fixed_dictionaries(fields).map(lambda d: cls.model_validate(d))


def envelopes() -> st.SearchStrategy[messages.Envelope]:
    any_payload = st.one_of([payloads(cls) for cls in messages.Payload.registry.values()])

    @st.composite
    def build(draw: st.DrawFn) -> messages.Envelope:
        source = draw(session_ids)
        optional = {
            "performative": draw(st.none() | st.sampled_from(["inform", "request", "cfp"])),
            "sender": draw(st.sampled_from([None, messages.agent_uri(source)])),
            "receiver": draw(st.none() | session_ids.map(messages.agent_uri)),
            "conversation_id": draw(st.none() | non_empty_text),
            "sequence_num": draw(st.none() | st.integers(min_value=0, max_value=2**40)),
            "nonce": draw(st.none() | non_empty_text),
            "scope": draw(st.none() | non_empty_text),
            "signature": draw(st.none() | non_empty_text),
            "hops": draw(st.none() | st.integers(min_value=0, max_value=16)),
        }
        return messages.make_message(
            draw(any_payload),
            source=source,
            timestamp=draw(timestamps),
            id=draw(non_empty_text),
            level=draw(st.sampled_from(["debug", "info", "warning", "error", "critical"])),
            destination=draw(st.sampled_from(["*"]) | session_ids),
            ttl=draw(st.integers(min_value=1, max_value=messages.MAX_TTL_SECONDS)),
            lamport=draw(st.integers(min_value=0, max_value=2**62)),
            seq=draw(st.integers(min_value=0, max_value=2**62)),
            incarnation=draw(text),
            **{k: v for k, v in optional.items() if v is not None},
        )

    return build()
