"""The example board as a model: how each row is written and the reading it must have; render
it to text, and write down what the reader must make of it (the rules of
node/board/formats/taskboard.py, dependencies.py and cells.py, written again from their
docstrings). Mutations (cells.py, layout.py here) change both at once.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "phase0"
PRIMARY = ("id", "title", "status", "owner", "deps", "deliverable", "est", "model")
BADGE = {"AVAILABLE": "🔵", "CLAIMED": "🟡", "COMPLETED": "🟢", "BLOCKED": "🔴"}
HOURS = {"2h": 2.0, "1.5h": 1.5, "1h": 1.0, "30m": 0.5}


@dataclass
class Row:
    """A task row: the text of each cell as written, and the reading it must have."""

    cells: dict[str, str]
    task: str
    status: str
    owner: str | None
    deps: tuple[str, ...] | str  # ids, or a group: "above", "prefix:P0.2", "named:…", "manual:…"
    est: float | None
    kind: str = "primary"
    stale: bool = False
    problems: list[str] = field(default_factory=list)  # a word of each problem on its line
    kept: bool = True  # False: the reader leaves the row out (its problems still stand)
    raw: str | None = None  # the whole line, when a mutation writes it by hand
    gap: bool = False  # a blank line just above the row: it and the rows below are outside
    cells_off: int = 0  # -1: written without its last cell; 1: with one cell too many
    line: int = 0


@dataclass
class Table:
    before: list[str]
    heading: str
    columns: list[str]
    names: dict[str, str]
    rows: list[Row]
    kind: str = "primary"
    after: list[str] = field(default_factory=lambda: [""])
    separator: str | None = None
    as_list: bool = False  # written as a bulleted list, not a table


@dataclass
class Board:
    preamble: list[str]
    tables: list[Table]
    tail: list[str]
    sections: list[str]
    style: str = "plain"  # how rows are written: plain, aligned, tabs, tight, open-end
    newline: str = "\n"
    bom: bool = False
    trailing: tuple[str, ...] = ("",)
    no_table: bool = False  # the reader finds no task table: one problem without a line


def _cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("|").split("|")]


def example_board() -> Board:
    """The example board as a model that renders back to the file byte for byte."""
    lines = (EXAMPLE / "PHASE-0-TASK-BOARD.md").read_text(encoding="utf-8").split("\n")
    primary, filler, details = (
        lines.index(h) for h in ("## Primary Tasks", "## Filler Tasks", "## Task Details")
    )

    def table(start: int, end: int, keys: tuple[str, ...], kind: str) -> Table:
        header = next(i for i in range(start, end) if lines[i].startswith("| ID"))
        names = dict(zip(keys, _cells(lines[header]), strict=True))
        rows = []
        for line in lines[header + 2 : end]:
            if not line.startswith("|"):
                continue
            cells = dict(zip(keys, _cells(line), strict=True))
            owner = cells.get("owner", "-")
            deps = cells.get("deps", "None")
            rows.append(
                Row(
                    cells=cells,
                    task=cells["id"],
                    status=cells["status"].split()[1] if "status" in cells else "AVAILABLE",
                    owner=None if owner == "-" else owner,
                    deps=() if deps == "None" else tuple(deps.split(", ")),
                    est=HOURS[cells["est"]],
                    kind=kind,
                )
            )
        heading = lines[start].lstrip("# ")
        return Table(lines[start:header], heading, list(keys), names, rows, kind)

    board = Board(
        preamble=lines[:primary],
        tables=[
            table(primary, filler, PRIMARY, "primary"),
            table(filler, details, ("id", "title", "description", "est"), "filler"),
        ],
        tail=lines[details:],
        sections=[line[4:].split(":")[0] for line in lines[details:] if line.startswith("### ")],
    )
    for table_ in board.tables:
        table_.before = table_.before[:-1] if table_.before[-1] == "" else table_.before
        table_.before.append("")
    return board


# --- rendering ----------------------------------------------------------------------------


def row_text(board: Board, cells: list[str], widths: list[int]) -> str:
    if board.style == "aligned":
        cells = [c + " " * (w - len(c)) for c, w in zip(cells, [*widths, 0], strict=False)]
    if board.style == "tabs":
        return "|\t" + "\t|\t".join(cells) + "\t|"
    if board.style == "tight":
        return "|" + "|".join(cells) + "|"
    if board.style == "open-end":
        return "| " + " | ".join(cells)
    return "| " + " | ".join(cells) + " |"


def render(board: Board) -> str:
    out = list(board.preamble)
    for table in board.tables:
        out += table.before
        if table.as_list:
            out += [
                f"- **{r.task}** — {r.cells.get('title', '')} ({r.cells.get('status', '')})"
                for r in table.rows
            ]
            out += table.after
            continue
        header = [table.names[k] for k in table.columns]
        body = [[r.cells.get(k, "") for k in table.columns] for r in table.rows]
        widths = [max(len(c) for c in column) for column in zip(header, *body, strict=True)]
        out.append(row_text(board, header, widths))
        if table.separator is not None:
            out.append(table.separator)
        elif board.style == "aligned":
            out.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
        else:
            out.append("|" + "|".join("-" * (len(n) + 2) for n in header) + "|")
        for row in table.rows:
            if row.gap:
                out.append("")
            row.line = len(out) + 1
            cells = [row.cells.get(k, "") for k in table.columns]
            cells = cells[:-1] if row.cells_off < 0 else cells + ["see #41"] * row.cells_off
            out.append(row.raw if row.raw is not None else row_text(board, cells, widths))
        out += table.after
    out += board.tail
    ends = board.trailing
    text = board.newline.join(
        line + (ends[i % len(ends)] if line and i < len(out) - 1 else "")
        for i, line in enumerate(out)
    )
    return ("\ufeff" if board.bom else "") + text


# --- the expected reading -----------------------------------------------------------------


def _singular(word: str) -> str:
    return word[:-1] if word.endswith("s") and len(word) > 3 else word


def _resolve(row: Row, table: Table, board: Board, known: list[str]) -> tuple[list[str], str]:
    """The dependencies.py rules, written again from its docstring."""
    primaries = [t for t in board.tables if t.kind == "primary"]
    ids_of = {id(t): [r.task for r in t.rows if r.kept] for t in board.tables}
    if isinstance(row.deps, tuple):
        missing = [d for d in row.deps if d not in known]
        if missing:
            return [], f"{', '.join(row.deps)} ({', '.join(missing)} not on this board)"
        return list(row.deps), ""
    kind, _, value = row.deps.partition(":")
    if kind == "manual":
        return [], value
    if kind == "above":
        own = ids_of[id(table)]
        found = own[: own.index(row.task)]
        name = "All above"
    elif kind == "prefix":
        found = [t for t in known if t.startswith(value + ".") and t != row.task]
        name = f"All {value} tasks"
    elif kind == "components":
        found = [t for p in primaries if p is not table for t in ids_of[id(p)]]
        name = "All components"
    else:  # named: the tables whose heading has these words
        words = {_singular(w) for w in value.lower().split()}
        found = [
            t
            for p in primaries
            if words <= {_singular(w) for w in re.findall(r"[\w.]+", p.heading.lower())}
            for t in ids_of[id(p)]
            if t != row.task
        ]
        name = f"All {value}"
    return (found, "") if found else ([], f"{name} (names no task on this board)")


def _outside(board: Board) -> None:
    """Rows below a blank line in a table are outside it: left out, reported when they name a
    task; the rows of a board that is all code or bullets are simply not there."""
    for table in board.tables:
        gap = False
        for row in table.rows:
            gap = gap or row.gap
            if board.no_table or table.as_list:
                row.kept, row.problems = False, []
            elif gap:
                named = any(DOTTED.match(_plain(c)) for c in row.cells.values())
                row.kept, row.problems = False, ["outside"] if named else []


DOTTED = re.compile(r"^[A-Za-z]+\d*(?:\.\d+)+$")


def _plain(cell: str) -> str:
    return re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", cell).strip("*`: ")


def expected_reading(board: Board, text: str) -> dict[str, Any]:
    """What the reader must make of ``render(board)``: tasks, problems (line and a word of the
    reason), sections."""
    _outside(board)
    seen: set[str] = set()
    known: list[str] = []
    for table in board.tables:
        for row in table.rows:
            if row.kept and row.task not in seen:
                seen.add(row.task)
                known.append(row.task)
    tasks: dict[str, dict[str, Any]] = {}
    problems: list[tuple[int | None, str]] = [(None, "no task table")] if board.no_table else []
    for table in board.tables:
        for row in table.rows:
            problems += [(row.line, word) for word in row.problems]
            if not row.kept:
                continue
            deps, manual = _resolve(row, table, board, known)
            if manual:
                problems.append((row.line, "manual"))
            reading: dict[str, Any] = {"line": row.line, "status": row.status}
            if row.owner is not None:
                reading["owner"] = row.owner
            if deps:
                reading["deps"] = deps
            if manual:
                reading["manual"] = manual
            if row.est is not None:
                reading["est"] = row.est
            if row.kind != "primary":
                reading["kind"] = row.kind
            if row.stale:
                reading["stale"] = True
            tasks[row.task] = reading
    return {
        "tasks": tasks,
        "problems": [{"line": line, "word": word} for line, word in sorted(problems, key=_order)],
        "sections": board.sections,
    }


def _order(problem: tuple[int | None, str]) -> tuple[int, str]:
    return (problem[0] or 0, problem[1])


# --- mutations: each rewrites how the board is written, and what it then means --------------

Mutation = Callable[[Board], None]
MUTATIONS: dict[str, Mutation] = {}


def mutation(function: Mutation) -> Mutation:
    MUTATIONS[function.__name__.replace("_", "-")] = function
    return function


def rows_of(board: Board, kind: str = "primary") -> Iterable[Row]:
    return (r for t in board.tables if t.kind == kind for r in t.rows)


def row_of(board: Board, task: str) -> Row:
    return next(r for t in board.tables for r in t.rows if r.task == task and r.kept)


def table_of(board: Board, task: str) -> Table:
    return next(t for t in board.tables if any(r.task == task for r in t.rows))
