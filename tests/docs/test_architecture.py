"""docs/architecture.md names modules and functions at every step of a claim: each must exist,
so the walk-through fails the build the day a rename leaves it behind."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DOC = REPO / "docs" / "architecture.md"
# `control/handlers.py: Handlers.claim`, `mesh/pair.py`, `ifmesh.node.cli.main:main`
STEP = re.compile(r"`([a-z_]+/[a-z_/]*\.py)(?::\s*([A-Za-z_][\w.]*))?`")
ROW = re.compile(r"^\| `((?:node|signaling)/[a-z_]*/?)` \|.*\| (.*) \|$", re.M)


def _module(path: str) -> Path:
    for base in (REPO / "node", REPO):
        if (base / path).is_file():
            return base / path
    raise AssertionError(f"docs/architecture.md names {path}, which does not exist")


def test_every_module_and_function_the_walkthrough_names_exists() -> None:
    text = DOC.read_text(encoding="utf-8")
    named = STEP.findall(text)
    assert len(named) > 20
    for path, name in named:
        source = _module(path).read_text(encoding="utf-8")
        for part in name.split(".") if name else ():
            assert re.search(rf"^\s*(?:async\s+)?(?:def|class)\s+{part}\b", source, re.M), (
                f"docs/architecture.md: {path} has no {part}"
            )


def test_every_file_the_table_says_to_start_at_exists() -> None:
    rows = ROW.findall(DOC.read_text(encoding="utf-8"))
    assert len(rows) >= 10
    for folder, files in rows:
        for name in re.findall(r"`([\w.]+\.py)`", files):
            assert (REPO / folder / name).is_file(), f"{folder}{name}"


def test_every_layer_folder_is_in_the_table() -> None:
    text = DOC.read_text(encoding="utf-8")
    for folder in sorted(p for p in (REPO / "node").iterdir() if (p / "__init__.py").is_file()):
        assert f"`node/{folder.name}/`" in text, f"node/{folder.name}/ is missing from the table"


def test_no_module_needs_a_scroll_bar() -> None:
    """CONVENTIONS.md: keep modules under about 400 lines; a longer one holds two ideas."""
    long = {
        str(path.relative_to(REPO)): lines
        for folder in ("node", "signaling")
        for path in (REPO / folder).rglob("*.py")
        if (lines := path.read_text(encoding="utf-8").count("\n")) > 400
    }
    assert not long, f"split these modules: {long}"
