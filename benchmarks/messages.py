"""Encode+decode round trips per second of IFMessages, on one core.

Target (foundation issue): at least 30,000 round trips/s for task.claim and help.request.
Baseline measured in the same run: plain ``json.dumps``/``json.loads`` of the same document
(no validation), to read the figure against this machine's speed today.
Run: .venv/bin/python benchmarks/messages.py
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ifmesh.node.protocol import codec, fixtures

TARGET_ROUND_TRIPS = 30_000
DURATION_S = 2.0


def rate(operation: Callable[[], object]) -> float:
    """Best of three timed runs of ``DURATION_S`` / 3 each: operations per second."""
    best = 0.0
    for _ in range(3):
        count, start = 0, time.perf_counter()
        deadline = start + DURATION_S / 3
        while time.perf_counter() < deadline:
            for _ in range(200):
                operation()
            count += 200
        best = max(best, count / (time.perf_counter() - start))
    return best


def main() -> None:
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core, as the target says
    figures: dict[str, float] = {}
    checks = []
    for message_type in ("task.claim", "help.request"):
        message = fixtures.load_fixture(f"webrtc/{message_type}")
        encoded = codec.encode(message)
        document = json.loads(encoded)
        round_trips = rate(lambda m=message: codec.decode(codec.encode(m)))
        baseline = rate(lambda d=document: json.loads(json.dumps(d, sort_keys=True)))
        figures[f"{message_type}.round_trips_per_s"] = round(round_trips)
        figures[f"{message_type}.encoded_bytes"] = len(encoded)
        figures[f"{message_type}.baseline_json_round_trips_per_s"] = round(baseline)
        figures[f"{message_type}.ratio_to_plain_json"] = round(round_trips / baseline, 3)
        checks.append(
            {
                "name": f"{message_type} encode+decode round trips",
                "value": round(round_trips),
                "unit": "round_trips/s",
                "op": ">=",
                "target": TARGET_ROUND_TRIPS,
                "met": round_trips >= TARGET_ROUND_TRIPS,
            }
        )
    print(json.dumps({"benchmark": "messages", "figures": figures, "checks": checks}))


if __name__ == "__main__":
    main()
