"""Hypothesis strategies for IFMessages in the origin's shape (dannystocker/infrafabric's
TypeScript mesh): numeric levels, ``broadcast``, ``traceId``, ``version``, ``citation_ids``, the
signature object, and no ``type`` — as JSON documents, the way a peer would send them."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from ifmesh.node.protocol.fields import LEVEL_NAMES
from tests.unit.strategies import json_values, non_empty_text, session_ids, text, timestamps

hex_bytes = st.binary(min_size=1, max_size=64).map(bytes.hex)
signatures = st.fixed_dictionaries(
    {
        "algorithm": st.just("ed25519"),
        "public_key": st.binary(min_size=32, max_size=32).map(bytes.hex),
        "signature_bytes": st.binary(min_size=64, max_size=64).map(lambda b: b.hex().upper()),
        "signed_fields": st.lists(st.sampled_from(["id", "timestamp", "level", "payload"]),
                                  min_size=1, max_size=9),
    }
)  # fmt: skip
iso_timestamps = timestamps.map(
    lambda t: t if isinstance(t, float) else t.isoformat(timespec="milliseconds")
)


@st.composite
def origin_documents(draw: st.DrawFn) -> dict[str, Any]:
    """A valid origin-shape document (JSON-ready); keys in the origin's order."""
    source = draw(session_ids.filter(lambda s: s != "broadcast"))
    document: dict[str, Any] = {
        "id": draw(non_empty_text),
        "timestamp": draw(iso_timestamps),
        "level": draw(st.integers(min_value=0, max_value=5) | st.sampled_from(LEVEL_NAMES)),
        "source": source,
        "destination": draw(st.sampled_from(["broadcast", "*"]) | session_ids),
        "version": draw(st.sampled_from(["1.0", "2.1"])),
        "payload": draw(st.dictionaries(text, json_values, max_size=5)),
    }
    optional = {
        "performative": st.sampled_from(["inform", "request", "query-ref", "failure"]),
        "conversation_id": non_empty_text,
        "sequence_num": st.integers(min_value=0, max_value=2**53),
        "citation_ids": st.lists(non_empty_text, max_size=4),
        "traceId": hex_bytes,
        "signature": signatures | non_empty_text,
    }
    for name, values in optional.items():
        if draw(st.booleans()):
            document[name] = draw(values)
    if draw(st.integers(min_value=0, max_value=4)) == 0:
        document["type"] = "message"  # named, as ifmesh re-encodes it
    return document
