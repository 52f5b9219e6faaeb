"""What every benchmark does the same way: progress on stderr, percentiles, the checks of the
JSON contract (shared/CONVENTIONS.md): ``{"name", "value", "unit", "op", "target", "met"}``, and
the directory a run works in (``--keep DIR``, else a temporary one)."""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
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


@contextmanager
def work_directory(keep: Path | None, name: str) -> Iterator[Path]:
    """``keep`` (made if missing, left in place: ``--keep DIR``), else a temporary directory
    ``ifmesh-NAME-*`` removed afterwards."""
    with tempfile.TemporaryDirectory(prefix=f"ifmesh-{name}-") as scratch:
        directory = keep or Path(scratch)
        directory.mkdir(parents=True, exist_ok=True)
        yield directory
