"""``PHASE-0-TASK-BOARD.md``: parse the seed's task board, and re-render only its Status and
Owner cells.

The file is a projection that people also edit, so rendering is surgical: the main table
``| ID | Task | Status | Owner | Dependencies | Deliverable | Est | Model |`` keeps every byte
except the two cells that changed (padding is kept when the new text fits). Everything the
board needs is parsed: the rows, the filler table ``| ID | Task | Description | Est |`` and the
per-task ``### P0.x.y: Title`` sections (milestones, acceptance criteria, and the optional
``**Task type:**`` / ``**Required capabilities:**`` / ``**Model:**`` lines).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from ifmesh.node.board.errors import TaskBoardError
from ifmesh.node.board.state import TaskKind, TaskStatus

MAIN_HEADER = ("ID", "Task", "Status", "Owner", "Dependencies", "Deliverable", "Est", "Model")
FILLER_HEADER = ("ID", "Task", "Description", "Est")
STATUS_BADGES = {
    TaskStatus.AVAILABLE: "🔵 AVAILABLE",
    TaskStatus.CLAIMED: "🟡 CLAIMED",
    TaskStatus.COMPLETED: "🟢 COMPLETED",
    TaskStatus.BLOCKED: "🔴 BLOCKED",
}
STALE_BADGE = "🟠 STALE"
NO_OWNER = "-"

_TASK_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")
_SESSION_ID = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
_STATUS = re.compile(r"^(?:\S+\s+)?(AVAILABLE|CLAIMED|COMPLETED|BLOCKED|STALE)$")
_ESTIMATE = re.compile(r"^(\d+(?:\.\d+)?)\s*(h|hr|hrs|hours?|m|min|mins|minutes?)$", re.I)
_SECTION = re.compile(r"^#{2,4}\s+\**\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*:\s*(.*)$")
_FIELD = re.compile(r"^\*\*([^*]+?):?\*\*:?\s*(.*)$")
_MILESTONE = re.compile(r"^[-*]\s+\[([ xX])\]\s+(\d{1,3})%\s*[-–:]?\s*(.*)$")
_BULLET = re.compile(r"^[-*]\s+(.*)$")


@dataclass(frozen=True, slots=True)
class TaskRow:
    """A row of the main table (``kind`` PRIMARY) or of the filler table (FILLER)."""

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


@dataclass(frozen=True, slots=True)
class Milestone:
    percent: int
    text: str
    done: bool


@dataclass(frozen=True, slots=True)
class TaskSection:
    task_id: str
    title: str
    line: int
    task_type: str | None = None
    required_capabilities: tuple[str, ...] = ()
    model: str | None = None
    milestones: tuple[Milestone, ...] = ()
    acceptance: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class CellUpdate:
    status: TaskStatus
    owner: str | None
    stale: bool = False

    def badge(self) -> str:
        return STALE_BADGE if self.stale else STATUS_BADGES[self.status]


@dataclass(frozen=True, slots=True)
class _Cells:
    line_index: int  # 0-based index into the document's lines
    status: tuple[int, int]  # [start, end) of the text between the pipes
    owner: tuple[int, int]


@dataclass(frozen=True, slots=True)
class TaskBoardDocument:
    text: str
    path: str
    rows: tuple[TaskRow, ...]
    fillers: tuple[TaskRow, ...]
    sections: Mapping[str, TaskSection]
    _cells: Mapping[str, _Cells]

    def all_rows(self) -> tuple[TaskRow, ...]:
        return self.rows + self.fillers


def _split_cells(line: str) -> list[tuple[int, int]]:
    """Spans of the cells between unescaped pipes of a table row ``| a | b |``."""
    stripped_end = len(line.rstrip("\r\n"))
    pipes = [i for i, ch in enumerate(line[:stripped_end]) if ch == "|" and line[i - 1 : i] != "\\"]
    return [(a + 1, b) for a, b in itertools.pairwise(pipes)]


def _cell_texts(line: str) -> list[str]:
    return [line[a:b].strip() for a, b in _split_cells(line)]


def _is_separator(cells: list[str]) -> bool:
    return bool(cells) and all(re.fullmatch(r":?-{3,}:?", c or "") for c in cells)


def _estimate(text: str, path: str, line: int) -> float | None:
    if text in ("", "-", "?", "TBD"):
        return None
    match = _ESTIMATE.match(text)
    if match is None:
        raise TaskBoardError(
            f"estimate {text!r} is not like '1h', '1.5h' or '30m'", path=path, line=line
        )
    value = float(match.group(1))
    return value / 60 if match.group(2).lower().startswith("m") else value


def _status(text: str, path: str, line: int) -> tuple[TaskStatus, bool]:
    match = _STATUS.match(text)
    if match is None:
        raise TaskBoardError(
            f"status {text!r} is not one of 🔵 AVAILABLE, 🟡 CLAIMED, 🟢 COMPLETED, 🔴 BLOCKED",
            path=path,
            line=line,
        )
    word = match.group(1)
    if word == "STALE":  # a judgement the scribe displays; the claim itself stands
        return TaskStatus.CLAIMED, True
    return TaskStatus(word), False


def _dependencies(text: str, above: list[str], path: str, line: int) -> tuple[str, ...]:
    if text.lower() in ("", "-", "none", "n/a"):
        return ()
    if text.lower() == "all above":
        return tuple(above)
    deps = tuple(part.strip().strip("`") for part in text.split(","))
    for dep in deps:
        if not _TASK_ID.match(dep):
            raise TaskBoardError(
                f"dependency {dep!r} is not a task id (use ids separated by commas, 'None'"
                " or 'All above')",
                path=path,
                line=line,
            )
    return deps


def _owner(text: str, path: str, line: int) -> str | None:
    if text in ("", NO_OWNER, "—"):
        return None
    if not _SESSION_ID.match(text):
        raise TaskBoardError(
            f"owner {text!r} is not a session id like 'session-2-webrtc' (or '-' when free)",
            path=path,
            line=line,
        )
    return text


def _check_id(text: str, path: str, line: int) -> str:
    if not _TASK_ID.match(text):
        raise TaskBoardError(f"task id {text!r} is not valid", path=path, line=line)
    return text


def parse_task_board(text: str, path: str = "PHASE-0-TASK-BOARD.md") -> TaskBoardDocument:
    """Parses the board; raises TaskBoardError naming the file and line at fault."""
    lines = text.splitlines(keepends=True)
    rows: list[TaskRow] = []
    fillers: list[TaskRow] = []
    cells: dict[str, _Cells] = {}
    table: tuple[str, ...] | None = None
    seen: dict[str, int] = {}
    for index, raw in enumerate(lines):
        number = index + 1
        stripped = raw.strip()
        if not stripped.startswith("|"):
            table = None
            continue
        texts = _cell_texts(raw)
        if table is None:
            header = tuple(texts)
            if header in (MAIN_HEADER, FILLER_HEADER):
                table = header
            continue
        if _is_separator(texts):
            continue
        if len(texts) != len(table):
            raise TaskBoardError(
                f"row has {len(texts)} cells; the table has {len(table)} ({' | '.join(table)})",
                path=path,
                line=number,
            )
        task_id = _check_id(texts[0], path, number)
        if task_id in seen:
            raise TaskBoardError(
                f"task {task_id} appears twice (first on line {seen[task_id]})",
                path=path,
                line=number,
            )
        seen[task_id] = number
        if table == MAIN_HEADER:
            status, stale = _status(texts[2], path, number)
            spans = _split_cells(raw)
            cells[task_id] = _Cells(index, spans[2], spans[3])
            rows.append(
                TaskRow(
                    task_id=task_id,
                    title=texts[1],
                    status=status,
                    owner=_owner(texts[3], path, number),
                    dependencies=_dependencies(texts[4], [r.task_id for r in rows], path, number),
                    deliverable=texts[5].strip("`"),
                    estimate_hours=_estimate(texts[6], path, number),
                    model=texts[7],
                    line=number,
                    shown_stale=stale,
                )
            )
        else:
            fillers.append(
                TaskRow(
                    task_id=task_id,
                    title=texts[1],
                    status=TaskStatus.AVAILABLE,
                    owner=None,
                    dependencies=(),
                    deliverable=texts[2],
                    estimate_hours=_estimate(texts[3], path, number),
                    model="",
                    line=number,
                    kind=TaskKind.FILLER,
                    description=texts[2],
                )
            )
    if not rows:
        raise TaskBoardError(
            "no task table found; expected a header row '| " + " | ".join(MAIN_HEADER) + " |'",
            path=path,
            line=None,
        )
    for row in rows:
        for dep in row.dependencies:
            if dep not in seen:
                raise TaskBoardError(
                    f"{row.task_id} depends on {dep}, which is not on the board",
                    path=path,
                    line=row.line,
                )
    return TaskBoardDocument(
        text=text,
        path=path,
        rows=tuple(rows),
        fillers=tuple(fillers),
        sections=_parse_sections(lines),
        _cells=cells,
    )


@dataclass
class _SectionDraft:
    task_id: str
    title: str
    line: int
    task_type: str | None = None
    required_capabilities: tuple[str, ...] = ()
    model: str | None = None
    milestones: list[Milestone] = field(default_factory=list)
    acceptance: list[str] = field(default_factory=list)
    bucket: str = ""

    def feed(self, stripped: str) -> None:
        field_match = _FIELD.match(stripped)
        if field_match:
            name, value = field_match.group(1).strip().lower(), field_match.group(2).strip()
            self.bucket = name
            if name == "task type" and value:
                self.task_type = value.strip("`")
            elif name in ("required capabilities", "capabilities") and value:
                self.required_capabilities = tuple(
                    c.strip().strip("`") for c in value.split(",") if c.strip()
                )
            elif name == "model" and value:
                self.model = value
            return
        milestone = _MILESTONE.match(stripped)
        if milestone and self.bucket == "milestones":
            done = milestone.group(1) != " "
            self.milestones.append(Milestone(int(milestone.group(2)), milestone.group(3), done))
            return
        bullet = _BULLET.match(stripped)
        if bullet and self.bucket == "acceptance criteria":
            self.acceptance.append(bullet.group(1).strip())

    def section(self) -> TaskSection:
        return TaskSection(
            task_id=self.task_id,
            title=self.title,
            line=self.line,
            task_type=self.task_type,
            required_capabilities=self.required_capabilities,
            model=self.model,
            milestones=tuple(self.milestones),
            acceptance=tuple(self.acceptance),
        )


def _section_title(text: str) -> str:
    """``**IF.governor Documentation** ⏳`` → ``IF.governor Documentation``."""
    words = text.split()
    if words and not any(ch.isalnum() for ch in words[-1]):
        words.pop()  # a status emoji after the title
    return " ".join(words).strip("*").strip()


def _parse_sections(lines: list[str]) -> dict[str, TaskSection]:
    sections: dict[str, TaskSection] = {}
    current: _SectionDraft | None = None
    for index, raw in enumerate(lines):
        stripped = raw.strip()
        if stripped.startswith("#"):
            if current is not None:
                sections[current.task_id] = current.section()
            current = None
            match = _SECTION.match(stripped)
            if match and _TASK_ID.match(match.group(1)) and "." in match.group(1):
                current = _SectionDraft(match.group(1), _section_title(match.group(2)), index + 1)
        elif current is not None and stripped:
            current.feed(stripped)
    if current is not None:
        sections[current.task_id] = current.section()
    return sections


def render_task_board(document: TaskBoardDocument, updates: Mapping[str, CellUpdate]) -> str:
    """The document's text with the Status and Owner cells of ``updates`` rewritten.

    A cell whose text does not change keeps its bytes; a changed cell keeps its width when the
    new text fits, so the table stays aligned. Unknown task ids are ignored (the board may know
    tasks the file does not list, e.g. from ``task.broadcast``).
    """
    lines = document.text.splitlines(keepends=True)
    for task_id, update in updates.items():
        where = document._cells.get(task_id)
        if where is None:
            continue
        line = lines[where.line_index]
        owner_text = update.owner or NO_OWNER
        # Replace the later cell first so the earlier span stays valid.
        line = _replace_cell(line, where.owner, owner_text)
        line = _replace_cell(line, where.status, update.badge())
        lines[where.line_index] = line
    return "".join(lines)


def _replace_cell(line: str, span: tuple[int, int], content: str) -> str:
    start, end = span
    old = line[start:end]
    if old.strip() == content:
        return line
    width = end - start
    cell = f" {content} "
    if len(cell) < width:
        cell = cell + " " * (width - len(cell))
    return line[:start] + cell + line[end:]
