"""Boards of fresh AVAILABLE tasks without dependencies, in the Phase-0 board's table shape: what
the benchmarks' rooms claim from (each claim takes a task nobody has claimed yet)."""

from __future__ import annotations

from pathlib import Path

COLUMNS = (
    "| ID | Task | Status | Owner | Dependencies | Deliverable | Est | Model |\n"
    "|----|------|--------|-------|--------------|-------------|-----|-------|\n"
)


def available_board(
    path: Path, heading: str, prefix: str, count: int, *, task: str = "Task"
) -> Path:
    """Writes ``count`` tasks ``PREFIX.1`` … ``PREFIX.count`` under ``# heading`` to ``path``."""
    deliverable = prefix.lower()
    rows = [
        f"| {prefix}.{n} | {task} {n} | 🔵 AVAILABLE | - | None | `{deliverable}{n}.md` | 1h"
        " | Haiku |\n"
        for n in range(1, count + 1)
    ]
    path.write_text(f"# {heading}\n\n" + COLUMNS + "".join(rows), encoding="utf-8")
    return path
