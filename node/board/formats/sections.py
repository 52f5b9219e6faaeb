"""The per-task sections of a task board: ``### P0.5.2: IF.governor Documentation`` and what
follows it (the optional ``**Task type:**``, ``**Required capabilities:**`` and ``**Model:**``
lines, milestones and acceptance criteria), up to the next heading.

A heading names a task when its first word is a dotted task id, however it is dressed:
``### P0.1.1: Title``, ``#### **P0.1.1** — Title``, ``### Task P0.1.1 - Title``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ifmesh.node.board.formats.markdown import SPACE, heading, plain

_ID_HEADING = re.compile(r"^(?:task\s+)?([A-Za-z]+\d*(?:\.\d+)+)\s*(?:[:—–-]\s*|\s+|$)(.*)$", re.I)
_FIELD = re.compile(r"^\*\*([^*]+?):?\*\*:?\s*(.*)$")
_MILESTONE = re.compile(r"^[-*]\s+\[([ xX])\]\s+(\d{1,3})\s*%\s*[-–:]?\s*(.*)$")
_BULLET = re.compile(r"^[-*]\s+(?:\[[ xX]\]\s+)?(.*)$")


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


@dataclass
class _Draft:
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


def _title(text: str) -> str:
    """``IF.governor Documentation ⏳`` → ``IF.governor Documentation``."""
    words = text.split()
    if words and not any(ch.isalnum() for ch in words[-1]):
        words.pop()  # a status emoji after the title
    return " ".join(words).strip()


def parse_sections(lines: list[str]) -> dict[str, TaskSection]:
    """Every task section, by task id; the first section of an id wins."""
    sections: dict[str, TaskSection] = {}
    current: _Draft | None = None
    in_code = False
    for index, raw in enumerate(lines):
        stripped = raw.strip(SPACE)
        if stripped.startswith("```"):
            in_code = not in_code  # a "# comment" inside a code block is not a heading
            continue
        found = None if in_code else heading(raw)
        if found is not None:
            if current is not None:
                sections.setdefault(current.task_id, current.section())
            current = None
            match = _ID_HEADING.match(plain(found[1]))
            if match:
                current = _Draft(match.group(1), _title(match.group(2)), index + 1)
        elif current is not None and stripped and not in_code:
            current.feed(stripped)
    if current is not None:
        sections.setdefault(current.task_id, current.section())
    return sections
