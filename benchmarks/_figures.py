"""What every benchmark prints the same way: progress on stderr, percentiles, and the checks of
the JSON contract (shared/CONVENTIONS.md): ``{"name", "value", "unit", "op", "target", "met"}``."""

from __future__ import annotations

import sys
from typing import Any


def progress(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def percentile(values: list[float], q: float) -> float:
    """The ``q`` quantile (0..1) of ``values``, nearest rank."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def check(name: str, value: float, unit: str, op: str, target: float) -> dict[str, Any]:
    met = value <= target if op == "<=" else value >= target
    return {"name": name, "value": round(value, 3), "unit": unit, "op": op, "target": target,
            "met": met}  # fmt: skip
