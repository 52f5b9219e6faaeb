"""Writes the generated half of tests/unit/board/corpus/: messy task boards and STATUS files
made from examples/phase0/ by the mutations sessions really apply (CRLF, a BOM, trailing
spaces, tabs, aligned or reordered or extra columns, status cells with and without emoji,
dressed owners, dependency cells in every style, several tables per phase with long per-task
sections between them, broken rows; STATUS files in the shapes of board_corpus/status*.py),
singly and in combination, each with its expected reading in a sibling ``.expected.yaml``.

The expected reading is not the reader's output: board_corpus/ knows what each mutation means
(a row rewritten as ``✅ Done`` is still COMPLETED; a row after a blank line is outside any
table) and writes that down, with the lines where it put things. The rules it applies are the
readers' docstrings (node/board/formats/); tests/unit/board/test_corpus.py holds the readers to
them, and checks that the committed corpus is what this script writes. Deterministic.

Run: .venv/bin/python scripts/make_board_corpus.py   (--check: exit 1 if the corpus differs)
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

import yaml
from board_corpus import cells, layout, status, status_breaks  # this directory is on sys.path
from board_corpus.model import EXAMPLE, MUTATIONS, example_board, expected_reading, render

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "unit" / "board" / "corpus"
BANNER = "# Written by scripts/make_board_corpus.py: edit the script, not this file."
MODULES = (cells, layout, status, status_breaks)  # imported for the cases they register

# --- the cases ------------------------------------------------------------------------------

BOARD_CASES: dict[str, tuple[str, ...]] = {name: (name,) for name in MUTATIONS} | {
    "crlf-bom-trailing": ("crlf", "bom", "trailing-spaces"),
    "crlf-aligned-plain-words": ("crlf", "aligned", "emoji-off"),
    "reordered-extra-synonyms-owners": (
        "columns-reordered",
        "columns-extra",
        "header-synonyms",
        "owners-dressed",
    ),
    "phases-sections-groups": ("split-phases", "sections-between", "dependency-groups"),
    "phases-groups-crlf": ("split-phases", "dependency-groups", "crlf"),
    "tabs-words-estimates-ids": ("tabs", "status-words", "estimates-written", "ids-dressed"),
    "aligned-dressed-headers": ("aligned", "header-dressed", "owners-spelled", "dependency-styles"),
    "long-with-problems": ("long-preamble", "manual-dependencies", "unknown-words", "cell-counts"),
    "crlf-bom-left-out": ("crlf", "bom", "left-out-rows", "blank-line-in-table"),
    "legend-phases-reordered": (
        "legend-and-sessions",
        "split-phases",
        "sections-between",
        "columns-reordered",
        "trailing-spaces",
    ),
    "hurried-agent": (
        "crlf",
        "bom",
        "trailing-spaces",
        "open-end",
        "emoji-only",
        "owners-dressed",
        "dependency-styles",
        "ids-dressed",
        "columns-extra",
    ),
    "phases-stale-fillers-html": (
        "split-phases",
        "stale-badge",
        "filler-with-status",
        "escaped-pipes-and-html",
    ),
    "aligned-extra-cells": ("aligned", "columns-extra", "cell-counts", "left-out-rows"),
}


def board_case(name: str, mutations: tuple[str, ...]) -> dict[str, bytes]:
    board = example_board()
    for mutation_name in mutations:
        MUTATIONS[mutation_name](board)
    text = render(board)
    doc = MUTATIONS[mutations[0]].__doc__ if len(mutations) == 1 else None
    about = " ".join((doc or "; ".join(mutations)).split())
    expected = {"case": f"gen-{name}", "about": about, "mutations": list(mutations)}
    expected |= expected_reading(board, text)
    return {
        f"boards/gen-{name}.md": text.encode("utf-8"),
        f"boards/gen-{name}.expected.yaml": _document(expected).encode("utf-8"),
    }


def status_case(case: status.Case) -> dict[str, bytes]:
    out = {f"status/gen-{case.name}/{n}": t.encode("utf-8") for n, t in case.files.items()}
    expected = {
        "case": f"gen-{case.name}",
        "about": case.about,
        "mutations": case.mutations,
        "files": case.readings,
        "sessions": case.sessions,
        "dropped": case.dropped,
    }
    out[f"status/gen-{case.name}/expected.yaml"] = _document(expected).encode("utf-8")
    return out


# --- expected readings as YAML a reviewer can read: one task, one problem per line -----------

_PLAIN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._/@()+-]*$")


def _flow(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_flow(k)}: {_flow(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_flow(v) for v in value) + "]"
    text = str(value)
    if _PLAIN.match(text) and text == text.strip() and yaml.safe_load(text) == text:
        return text
    return json.dumps(text, ensure_ascii=False)


def _document(expected: dict[str, Any]) -> str:
    out = [BANNER]
    for key, value in expected.items():
        if key in ("tasks", "files", "sessions") and value:
            out.append(f"{key}:")
            for name, item in value.items():
                if key == "files":
                    out.append(f"  {_flow(name)}:")
                    out += [f"    {k}: {_flow(v)}" for k, v in item.items()]
                else:
                    out.append(f"  {_flow(name)}: {_flow(item)}")
        elif key == "problems" and value:
            out.append("problems:")
            out += [f"  - {_flow(p)}" for p in value]
        else:
            out.append(f"{key}: {_flow(value)}")
    return "\n".join(out) + "\n"


def generated_files() -> list[Path]:
    """The gen-* files now in the corpus."""
    return sorted([*CORPUS.glob("boards/gen-*"), *CORPUS.glob("status/gen-*/*")])


def corpus() -> dict[str, bytes]:
    """Every generated file, by path under tests/unit/board/corpus/."""
    files: dict[str, bytes] = {}
    for name, mutations in BOARD_CASES.items():
        files |= board_case(name, mutations)
    for make in status.CASES:
        files |= status_case(make())
    return files


def main() -> int:
    base = example_board()
    text = (EXAMPLE / "PHASE-0-TASK-BOARD.md").read_text(encoding="utf-8")
    assert render(base) == text, "the board model no longer renders the example byte for byte"
    files = corpus()
    present = {str(p.relative_to(CORPUS)): p.read_bytes() for p in generated_files()}
    if "--check" in sys.argv:
        stale = sorted(set(files) ^ set(present) | {k for k in files if present.get(k) != files[k]})
        print("\n".join(stale) or "the corpus is what this script writes")
        return 1 if stale else 0
    for path in present.keys() - files.keys():
        (CORPUS / path).unlink()
    for path, data in files.items():
        (CORPUS / path).parent.mkdir(parents=True, exist_ok=True)
        (CORPUS / path).write_bytes(data)
    for folder in CORPUS.glob("status/gen-*"):
        if not any(folder.iterdir()):
            folder.rmdir()
    print(f"{len(files)} files in {CORPUS.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
