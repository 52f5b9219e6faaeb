"""Task boards as sessions really write them: the reader's rules, one by one.

The rules are the specification (node/board/formats/taskboard.py, dependencies.py, cells.py);
tests/unit/board/corpus/ holds whole messy boards with their expected readings.
"""

from __future__ import annotations

import pytest

from ifmesh.node.board.formats.cellrender import render_task_board
from ifmesh.node.board.formats.dependencies import read
from ifmesh.node.board.formats.taskboard import CellUpdate, parse_task_board
from ifmesh.node.board.seed import seed_board
from ifmesh.node.board.state import TaskKind, TaskStatus

BOARD = """\
# Phase 0

## IF.coordinator Tasks

| ID | Task | Status | Owner | Dependencies | Deliverable | Est | Model |
|----|------|--------|-------|--------------|-------------|-----|-------|
| P0.1.1 | Bus | 🟢 COMPLETED | session-1-ndi | None | `bus.py` | 1h | Haiku |
| P0.1.2 | CAS | 🔵 AVAILABLE | - | P0.1.1 | `cas.py` | 2h | Sonnet |
| P0.1.3 | Tests | 🔴 BLOCKED | - | All above | `t.py` | 2h | Sonnet |

### P0.1.1: Bus

**Description:** a long section between the tables, with code:

```python
# not a heading
| not | a | table |
```

## IF.governor Tasks

| ID | Task | Status | Owner | Dependencies | Deliverable | Est | Model |
|----|------|--------|-------|--------------|-------------|-----|-------|
| P0.2.1 | Registry | 🔵 AVAILABLE | - | - | `r.py` | 1h | Haiku |
| P0.2.2 | Budget | 🔵 AVAILABLE | - | P0.2.1 & P0.1.1 | `b.py` | 1h | Haiku |

## Documentation Tasks

| ID | Task | Status | Owner | Dependencies | Deliverable | Est | Model |
|----|------|--------|-------|--------------|-------------|-----|-------|
| P0.5.1 | Guide | 🔵 AVAILABLE | - | All P0.2 tasks | `g.md` | 1h | Haiku |
| P0.5.2 | Runbook | 🔴 BLOCKED | - | All components | `rb.md` | 2h | Haiku |
| P0.5.3 | Release | 🔴 BLOCKED | - | Phase 0 complete | `rel.md` | 1h | Haiku |
| P0.5.4 | Legal | 🔴 BLOCKED | - | Waiting on legal review | `l.md` | 1h | Haiku |

## Filler Tasks

| ID | Task | Description | Est |
|----|------|-------------|-----|
| F1.1 | Docs | Improve docs | 1h |
"""


def rows(text: str) -> dict[str, object]:
    doc = parse_task_board(text)
    return {r.task_id: r for r in doc.all_rows()}


def test_groups_resolve_to_what_the_board_defines() -> None:
    got = rows(BOARD)
    assert got["P0.1.3"].dependencies == ("P0.1.1", "P0.1.2")  # type: ignore[attr-defined]
    assert got["P0.2.2"].dependencies == ("P0.2.1", "P0.1.1")  # type: ignore[attr-defined]
    assert got["P0.5.1"].dependencies == ("P0.2.1", "P0.2.2")  # type: ignore[attr-defined]
    components = ("P0.1.1", "P0.1.2", "P0.1.3", "P0.2.1", "P0.2.2")
    assert got["P0.5.2"].dependencies == components  # type: ignore[attr-defined]
    phase = {"P0.1.1", "P0.1.2", "P0.1.3", "P0.2.1", "P0.2.2", "P0.5.1", "P0.5.2", "P0.5.4"}
    assert set(got["P0.5.3"].dependencies) == phase  # type: ignore[attr-defined]
    legal = got["P0.5.4"]
    assert legal.dependencies == () and legal.manual_dependency == "Waiting on legal review"  # type: ignore[attr-defined]
    assert got["F1.1"].kind is TaskKind.FILLER  # type: ignore[attr-defined]


def test_a_manual_dependency_keeps_the_task_blocked_on_every_node() -> None:
    board = seed_board(parse_task_board(BOARD))
    assert board.tasks["P0.5.4"].status is TaskStatus.BLOCKED
    assert board.tasks["P0.1.2"].status is TaskStatus.AVAILABLE
    assert not board.dependencies_done(board.tasks["P0.5.4"])


@pytest.mark.parametrize(
    ("cell", "ids", "manual"),
    [
        ("None", (), ""),
        ("", (), ""),
        ("-", (), ""),
        ("n/a", (), ""),
        ("P0.1.1, P0.1.2", ("P0.1.1", "P0.1.2"), ""),
        ("P0.1.1 P0.1.2", ("P0.1.1", "P0.1.2"), ""),
        ("P0.1.1 and P0.1.2", ("P0.1.1", "P0.1.2"), ""),
        ("P0.1.1 & P0.1.2 / P0.1.3; P0.1.4", ("P0.1.1", "P0.1.2", "P0.1.3", "P0.1.4"), ""),
        ("P0.1.1-P0.1.3", ("P0.1.1", "P0.1.2", "P0.1.3"), ""),
        ("P0.1.1–P0.1.3", ("P0.1.1", "P0.1.2", "P0.1.3"), ""),
        ("P0.1.1–3", ("P0.1.1", "P0.1.2", "P0.1.3"), ""),
        ("P0.1.1 to P0.1.3", ("P0.1.1", "P0.1.2", "P0.1.3"), ""),
        ("**P0.1.1**, `P0.1.2`", ("P0.1.1", "P0.1.2"), ""),
        ("P0.2.6 (Integration tests) completed", ("P0.2.6",), ""),
        ("Waiting on legal review", (), "Waiting on legal review"),
        ("P0.1.1 and the design review", (), "P0.1.1 and the design review"),
    ],
)
def test_dependency_cells_as_people_write_them(
    cell: str, ids: tuple[str, ...], manual: str
) -> None:
    reading = read(cell)
    assert (reading.ids, reading.manual) == (ids, manual)


@pytest.mark.parametrize(
    ("cell", "prefix", "named"),
    [
        ("All P0.2 tasks", "P0.2", None),
        ("P0.2.*", "P0.2", None),
        ("`P0.2.x`", "P0.2", None),
        ("Phase 0 complete", "P0", None),
        ("All components", None, "components"),
        ("All documentation tasks", None, "documentation"),
    ],
)
def test_group_phrases(cell: str, prefix: str | None, named: str | None) -> None:
    reading = read(cell)
    assert (reading.prefix, reading.named) == (prefix, named)


def test_a_group_the_board_does_not_define_is_a_manual_dependency() -> None:
    text = BOARD.replace("| Waiting on legal review |", "| All security tasks |")
    legal = rows(text)["P0.5.4"]
    assert legal.dependencies == ()  # type: ignore[attr-defined]
    assert "All security" in legal.manual_dependency  # type: ignore[attr-defined]


def test_an_id_not_on_the_board_is_a_manual_dependency_naming_it() -> None:
    text = BOARD.replace("| P0.2.1 & P0.1.1 |", "| P0.2.1, P0.9.9 |")
    budget = rows(text)["P0.2.2"]
    assert "P0.9.9 not on this board" in budget.manual_dependency  # type: ignore[attr-defined]


MESSY = (
    "\ufeff# Board\r\n"
    "\r\n"
    "| Model | **ID** | Title | Depends on | State | Assignee | Est. | Notes |\r\n"
    "|:--|:--:|--|--|--|--|--|--|\r\n"
    "| Haiku | [P1.1](#p11) | One\t | None | ✅ Done | @Session-2-WebRTC | 1.5 hours | x |  \r\n"
    "| Sonnet | **P1.2** | Two | P1.1 | in progress | **session-3-h323** | 1h30m | y |\r\n"
    "| Haiku | P1.3 | Three | P1.1, P1.2 | Available | — | 90 min | z |\r\n"
    "| Haiku | P1.4 | Four | P1.3 | 🟠 STALE | session-4-sip | ~2 | w |\r\n"
)


def test_reordered_extra_columns_dress_crlf_bom_and_tabs() -> None:
    doc = parse_task_board(MESSY)
    assert doc.problems == ()
    got = {r.task_id: r for r in doc.rows}
    assert got["P1.1"].status is TaskStatus.COMPLETED
    assert got["P1.1"].owner == "session-2-webrtc" and got["P1.1"].estimate_hours == 1.5
    assert got["P1.2"].status is TaskStatus.CLAIMED and got["P1.2"].owner == "session-3-h323"
    assert got["P1.2"].estimate_hours == 1.5 and got["P1.3"].estimate_hours == 1.5
    assert got["P1.3"].owner is None and got["P1.3"].dependencies == ("P1.1", "P1.2")
    assert got["P1.4"].shown_stale and got["P1.4"].status is TaskStatus.CLAIMED


def test_a_claim_on_a_messy_board_rewrites_exactly_its_row() -> None:
    doc = parse_task_board(MESSY)
    out = render_task_board(doc, {"P1.3": CellUpdate(TaskStatus.CLAIMED, "session-5-cli")})
    before, after = MESSY.splitlines(keepends=True), out.splitlines(keepends=True)
    changed = [i for i, (a, b) in enumerate(zip(before, after, strict=True)) if a != b]
    assert changed == [6]
    assert after[6].endswith("\r\n") and "🟡 CLAIMED" in after[6] and "session-5-cli" in after[6]
    assert after[6].split("|")[:5] == before[6].split("|")[:5]  # cells before State untouched
    reread = {r.task_id: r for r in parse_task_board(out).rows}
    assert (reread["P1.3"].status, reread["P1.3"].owner) == (TaskStatus.CLAIMED, "session-5-cli")


def test_task_ids_in_headings_however_dressed() -> None:
    text = (
        BOARD
        + "\n#### **P0.2.1** — Registry\n**Task type:** code\n"
        + "\n### Task P0.2.2 - Budget\n**Required capabilities:** governor:budget\n"
    )
    sections = parse_task_board(text).sections
    assert sections["P0.2.1"].task_type == "code"
    assert sections["P0.2.2"].required_capabilities == ("governor:budget",)
    assert "P0.1.1" in sections  # and the one inside the code block made no section
