"""``PHASE-0-TASK-BOARD.md``: read a task board as sessions really write it, and re-render only
its Status and Owner cells.

Reading never fails. A board grows by hand and by agents: several tables per phase, long
per-task sections between them, extra or reordered columns, cells with or without emoji, owners
with ``@`` or bold, CRLF, a BOM, tabs. Every table whose header names an ID column and at least
one other column the reader knows (or whose first column holds task ids) is a task table: an
ID column alone, as in ``| # | Session | Branch |``, does not make tasks. Its columns are found
by name (:data:`COLUMNS`; a header's emoji and notes in parentheses do not count). A table
without a Status column, or under a heading that says "filler", holds filler tasks.
What cannot be read fully is reported as a :class:`ReadProblem` with file and line: a cell read
partly leaves its row on the board with a warning mark; a row without a task id, a second row
for one id, or a row naming a task outside any table (a blank line ends a table) is left out.
The file itself is never changed by reading. Rendering Status and Owner cells back into it is
:mod:`ifmesh.node.board.formats.cellrender`.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from ifmesh.node.board.formats import cells, dependencies
from ifmesh.node.board.formats.markdown import (
    SPACE,
    cell_texts,
    heading,
    is_separator,
    is_table_row,
    plain,
    split_cells,
    text_lines,
)
from ifmesh.node.board.formats.problems import ReadProblem
from ifmesh.node.board.formats.sections import Milestone, TaskSection, parse_sections
from ifmesh.node.board.state import TaskKind, TaskStatus

__all__ = [
    "CellUpdate",
    "Milestone",
    "ReadProblem",
    "TaskBoardDocument",
    "TaskCells",
    "TaskRow",
    "TaskSection",
    "parse_task_board",
]

STATUS_BADGES = {
    TaskStatus.AVAILABLE: "🔵 AVAILABLE",
    TaskStatus.CLAIMED: "🟡 CLAIMED",
    TaskStatus.COMPLETED: "🟢 COMPLETED",
    TaskStatus.BLOCKED: "🔴 BLOCKED",
}
STALE_BADGE = "🟠 STALE"
NO_OWNER = "-"

# Header words → the column they name (compared lower-cased, without dress or a final colon).
COLUMNS: dict[str, frozenset[str]] = {
    "id": frozenset({"id", "task id", "taskid", "#", "no", "no.", "ref"}),
    "title": frozenset({"task", "title", "name", "task name", "summary"}),
    "status": frozenset({"status", "state"}),
    "owner": frozenset({"owner", "assignee", "assigned", "assigned to", "claimed by", "who"}),
    "dependencies": frozenset(
        {"dependencies", "dependency", "depends on", "deps", "blocked by", "requires"}
        | {"prerequisites", "prereqs", "blocked until"}
    ),
    "deliverable": frozenset({"deliverable", "deliverables", "output", "artifact", "file"}),
    "estimate": frozenset({"est", "est.", "estimate", "hours", "time", "effort", "eta"}),
    "model": frozenset({"model", "llm"}),
    "description": frozenset({"description", "details", "notes"}),
}
_HEADER_DRESS = re.compile(r"\([^)]*\)|[^\w\s#./-]")  # "Owner (session)", "Status 🚦"
_DOTTED_ID = re.compile(r"^[A-Za-z]+\d*(?:\.\d+)+$")  # what names a task outside a table


@dataclass(frozen=True, slots=True)
class TaskRow:
    """A task-table row as read. ``problems`` says which cells were read only partly (the row
    shows a warning mark); ``manual_dependency`` holds a dependency cell that names no task."""

    task_id: str
    title: str
    status: TaskStatus
    owner: str | None
    dependencies: tuple[str, ...]
    deliverable: str
    estimate_hours: float | None
    model: str
    line: int
    kind: TaskKind = TaskKind.PRIMARY
    shown_stale: bool = False
    description: str = ""
    manual_dependency: str = ""
    problems: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class CellUpdate:
    status: TaskStatus
    owner: str | None
    stale: bool = False

    def badge(self) -> str:
        return STALE_BADGE if self.stale else STATUS_BADGES[self.status]


@dataclass(frozen=True, slots=True)
class TaskCells:
    """A task row's Status and Owner cells: where they are (the text between the pipes,
    [start, end) of the row's line, which starts at ``line_start`` in the board's text; -1 for
    a column the table lacks) and what they say, as much as rendering needs (kept for every
    row, so a few ints and flags)."""

    line_start: int
    status_start: int
    status_end: int
    owner_start: int
    owner_end: int
    status: TaskStatus
    shown_stale: bool
    owner: str | None
    status_unread: bool  # read only partly: rewritten even when it seems to say the same
    owner_unread: bool


@dataclass(frozen=True, slots=True)
class TaskBoardDocument:
    text: str
    path: str
    rows: tuple[TaskRow, ...]
    fillers: tuple[TaskRow, ...]
    sections: Mapping[str, TaskSection]
    cells: Mapping[str, TaskCells]
    problems: tuple[ReadProblem, ...] = ()

    def all_rows(self) -> tuple[TaskRow, ...]:
        return self.rows + self.fillers


@dataclass
class _Table:
    """A task table being read: its columns, heading and rows."""

    columns: dict[str, int]
    width: int
    heading: str
    kind: TaskKind
    rows: list[tuple[TaskRow, str]] = field(default_factory=list)  # (row, dependency cell)


def _columns(header: list[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for index, name in enumerate(header):
        key = " ".join(_HEADER_DRESS.sub(" ", plain(name).lower()).split()).rstrip(":").strip()
        for part in (key, *(p.strip() for p in key.split("/"))):  # "Dependencies / Blocked by"
            for column, names in COLUMNS.items():
                if part in names and column not in found:
                    found[column] = index
    return found


def _task_table(header: list[str], first_row: list[str], above: str) -> _Table | None:
    columns = _columns(header)
    if "id" not in columns:
        # A table whose first column holds task ids, under whatever header.
        if not first_row or cells.task_id(first_row[0]) is None or "." not in first_row[0]:
            return None
        if not ({"title", "status", "dependencies"} & columns.keys()):
            return None
        columns["id"] = 0
    elif len(columns) == 1:
        return None  # "| # | Session | Branch |": numbered, but nothing says these are tasks
    filler = "status" not in columns or "filler" in above.lower()
    kind = TaskKind.FILLER if filler else TaskKind.PRIMARY
    return _Table(columns, len(header), above, kind)


def _row(table: _Table, texts: list[str], number: int) -> tuple[TaskRow, list[str]] | str:
    """The row and its partly-read cells, or why it is not a task row at all."""
    problems: list[str] = []
    if len(texts) != table.width:
        problems.append(f"row has {len(texts)} cells; the table has {table.width}")

    def cell(column: str) -> str:
        index = table.columns.get(column)
        return texts[index] if index is not None and index < len(texts) else ""

    task_id = cells.task_id(cell("id"))
    if task_id is None:
        return f"{cell('id')!r} is not a task id; row left out"
    status, stale, status_problem = (
        cells.status(cell("status"))
        if "status" in table.columns
        else (TaskStatus.AVAILABLE, False, None)
    )
    owner, owner_problem = cells.owner(cell("owner"))
    estimate, estimate_problem = cells.estimate(cell("estimate"))
    problems += [p for p in (status_problem, owner_problem, estimate_problem) if p]
    description = plain(cell("description"))
    row = TaskRow(
        task_id=task_id,
        title=plain(cell("title")) or description,
        status=status,
        owner=owner,
        dependencies=(),
        deliverable=plain(cell("deliverable")) or description,
        estimate_hours=estimate,
        model=plain(cell("model")),
        line=number,
        kind=table.kind,
        shown_stale=stale,
        description=description,
    )
    return row, problems


def parse_task_board(text: str, path: str = "PHASE-0-TASK-BOARD.md") -> TaskBoardDocument:
    """Reads the board; what it cannot read is in ``problems``, never raised."""
    lines = text_lines(text)
    starts = list(itertools.accumulate(map(len, lines), initial=0))  # where each line begins
    reader = _Reader(path)
    current: _Table | None = None
    in_table = False  # in a table, a task table (``current``) or another
    above = ""
    in_code = False
    index = 0
    while index < len(lines):
        raw = lines[index]
        if raw.lstrip(" \t\ufeff").startswith("```"):
            in_code = not in_code
        if in_code or not is_table_row(raw):
            current, in_table = None, False
            found = None if in_code else heading(raw)
            above = found[1] if found is not None else above
            index += 1
            continue
        if in_table:
            if current is not None:
                reader.row(current, raw, index, starts[index])
            index += 1
            continue
        # A header row is followed by its separator row; the first body row helps decide.
        separator = cell_texts(lines[index + 1]) if index + 1 < len(lines) else []
        if not is_separator(separator):
            reader.outside(raw, index)
            index += 1
            continue
        first = cell_texts(lines[index + 2]) if index + 2 < len(lines) else []
        current, in_table = _task_table(cell_texts(raw), first, above), True
        if current is not None:
            reader.tables.append(current)
        index += 2
    rows, fillers = _resolve(reader.tables, path, lines, reader.problems)
    if not reader.tables:
        reader.problems.append(
            ReadProblem(
                path,
                None,
                "no task table found (a table whose header has an ID column, e.g. "
                "| ID | Task | Status | Owner | Dependencies |); the board starts empty",
                partial=False,
            )
        )
    return TaskBoardDocument(
        text=text,
        path=path,
        rows=tuple(rows),
        fillers=tuple(fillers),
        sections=parse_sections(lines),
        cells=reader.cells,
        problems=tuple(sorted(reader.problems, key=lambda p: (p.line or 0, p.reason))),
    )


class _Reader:
    """What reading the rows of every task table collects."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.problems: list[ReadProblem] = []
        self.tables: list[_Table] = []
        self.cells: dict[str, TaskCells] = {}
        self.seen: dict[str, int] = {}

    def outside(self, raw: str, index: int) -> None:
        """A table row with no header and separator above it: left out, and said so when it
        names a task (a blank line inside a table ends the table there)."""
        named = [t for t in map(plain, cell_texts(raw)) if _DOTTED_ID.match(t)]
        if named:
            reason = (
                f"a row naming {named[0]} outside any table (a table starts with a header row"
                " and a |---| row, and a blank line ends it); the row is left out"
            )
            verbatim = raw.rstrip("\r\n")
            self.problems.append(
                ReadProblem(self.path, index + 1, reason, verbatim, named[0], partial=False)
            )

    def row(self, table: _Table, raw: str, index: int, start: int) -> None:
        number, verbatim = index + 1, raw.rstrip("\r\n")
        spans = split_cells(raw)
        texts = [raw[a:b].strip(SPACE) for a, b in spans]  # cell_texts(raw)
        read = _row(table, texts, number)
        if isinstance(read, str):
            self.problems.append(ReadProblem(self.path, number, read, verbatim, partial=False))
            return
        row, row_problems = read
        if row.task_id in self.seen:
            reason = (
                f"task {row.task_id} appears twice (first on line {self.seen[row.task_id]});"
                " this row is left out"
            )
            self.problems.append(
                ReadProblem(self.path, number, reason, verbatim, row.task_id, partial=False)
            )
            return
        self.seen[row.task_id] = number

        def span(column: str) -> tuple[int, int]:
            at = table.columns.get(column)
            return spans[at] if at is not None and at < len(spans) else (-1, -1)

        unread = {reason.split(" ", 1)[0] for reason in row_problems}  # "status", "owner", …
        self.cells[row.task_id] = TaskCells(
            start, *span("status"), *span("owner"), row.status, row.shown_stale, row.owner,
            "status" in unread, "owner" in unread,
        )  # fmt: skip
        deps_at = table.columns.get("dependencies")
        table.rows.append(
            (row, texts[deps_at] if deps_at is not None and deps_at < len(texts) else "")
        )
        self.problems += [
            ReadProblem(self.path, number, reason, verbatim, row.task_id) for reason in row_problems
        ]


def _resolve(
    tables: list[_Table], path: str, lines: list[str], problems: list[ReadProblem]
) -> tuple[list[TaskRow], list[TaskRow]]:
    """Every row with its dependencies resolved against the whole board."""
    index = [
        dependencies.TableIndex(t.heading, tuple(r.task_id for r, _ in t.rows))
        for t in tables
        if t.kind is TaskKind.PRIMARY
    ]
    primary_of = {id(t): i for i, t in enumerate(t for t in tables if t.kind is TaskKind.PRIMARY)}
    known = {row.task_id: n for n, table in enumerate(tables) for row, _ in table.rows}
    partly: dict[str, list[str]] = {}  # task → why its row was read only partly
    for problem in problems:
        if problem.partial and problem.task is not None:
            partly.setdefault(problem.task, []).append(problem.reason)
    rows: list[TaskRow] = []
    fillers: list[TaskRow] = []
    for table in tables:
        for row, cell in table.rows:
            reading = dependencies.read(cell)
            position = primary_of.get(id(table), -1)
            deps, manual = dependencies.resolve(reading, row.task_id, position, index, known)
            if manual:
                reason = (
                    f"dependency {manual!r} names no task: a manual dependency"
                    " (BLOCKED until claimed with --force)"
                )
                verbatim = lines[row.line - 1].rstrip("\r\n")
                problems.append(ReadProblem(path, row.line, reason, verbatim, row.task_id))
                partly.setdefault(row.task_id, []).append(reason)
            reasons = tuple(partly.get(row.task_id, ()))
            done = replace(row, dependencies=deps, manual_dependency=manual, problems=reasons)
            (rows if table.kind is TaskKind.PRIMARY else fillers).append(done)
    return rows, fillers
