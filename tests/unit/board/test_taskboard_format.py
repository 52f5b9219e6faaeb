"""PHASE-0-TASK-BOARD.md: parsing the seed's table and sections, surgical re-rendering."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ifmesh.node.board.formats.cellrender import render_task_board
from ifmesh.node.board.formats.taskboard import CellUpdate, parse_task_board
from ifmesh.node.board.state import TaskKind, TaskStatus

EXAMPLE = Path(__file__).parents[3] / "examples" / "phase0" / "PHASE-0-TASK-BOARD.md"
HEADER = (
    "| ID | Task | Status | Owner | Dependencies | Deliverable | Est | Model |\n"
    "|---|---|---|---|---|---|---|---|\n"
)


def test_example_board_parses_rows_fillers_and_sections() -> None:
    doc = parse_task_board(EXAMPLE.read_text(encoding="utf-8"))
    rows = {r.task_id: r for r in doc.rows}
    assert len(rows) == 26
    assert rows["P0.5.5"].dependencies == ("P0.1.5", "P0.2.6", "P0.3.6")
    assert rows["P0.5.5"].status is TaskStatus.BLOCKED and rows["P0.5.5"].owner is None
    assert rows["P0.1.3"].owner == "session-1-ndi"
    assert rows["P0.1.3"].estimate_hours == 1.5
    assert rows["P0.4.4"].estimate_hours == 0.5
    assert rows["P0.5.2"].deliverable == "docs/components/IF.GOVERNOR.md"
    assert [f.task_id for f in doc.fillers][:4] == ["F2.1", "F2.2", "F2.3", "F2.4"]
    assert all(f.kind is TaskKind.FILLER for f in doc.fillers)
    section = doc.sections["P0.5.2"]
    assert section.title == "IF.governor Documentation"
    assert section.task_type == "docs"
    assert section.required_capabilities == ("docs:technical-writing",)
    assert [m.percent for m in section.milestones] == [25, 50, 75, 100]
    assert "Security checklist" in doc.sections["P0.5.5"].acceptance


def test_rendering_nothing_changed_is_byte_identical() -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    doc = parse_task_board(text)
    same = {r.task_id: CellUpdate(r.status, r.owner) for r in doc.rows}
    assert render_task_board(doc, same) == text


def test_rendering_changes_only_status_and_owner_cells() -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    doc = parse_task_board(text)
    out = render_task_board(
        doc,
        {
            "P0.1.4": CellUpdate(TaskStatus.CLAIMED, "session-2-webrtc"),
            "P0.1.3": CellUpdate(TaskStatus.CLAIMED, "session-1-ndi", stale=True),
        },
    )
    before, after = text.splitlines(keepends=True), out.splitlines(keepends=True)
    assert len(before) == len(after)
    changed = [i for i, (a, b) in enumerate(zip(before, after, strict=True)) if a != b]
    assert len(changed) == 2
    for i in changed:
        old_cells, new_cells = before[i].split("|"), after[i].split("|")
        assert [c for j, c in enumerate(old_cells) if j not in (3, 4)] == [
            c for j, c in enumerate(new_cells) if j not in (3, 4)
        ]
    reparsed = {r.task_id: r for r in parse_task_board(out).rows}
    assert reparsed["P0.1.4"].owner == "session-2-webrtc"
    assert reparsed["P0.1.4"].status is TaskStatus.CLAIMED
    assert reparsed["P0.1.3"].shown_stale


STATUSES = st.sampled_from(list(TaskStatus))
OWNERS = st.none() | st.sampled_from(["session-1-ndi", "session-2-webrtc", "s3"])


@given(st.dictionaries(st.sampled_from(["A.1", "A.2", "A.3"]), st.tuples(STATUSES, OWNERS)))
def test_render_then_parse_round_trips_cells(
    updates: dict[str, tuple[TaskStatus, str | None]],
) -> None:
    text = (
        "intro line\r\n\n"
        + HEADER
        + "| A.1 | one | 🔵 AVAILABLE | - | None | `x.md` | 1h | Haiku |\n"
        + "| A.2 |  two  |  🟢 COMPLETED   | s3 | A.1 | y | 2h | Sonnet |\n"
        + "| A.3 | three | 🔴 BLOCKED | - | All above | z | 30m | Haiku |\n"
        + "\ntrailer without newline"
    )
    doc = parse_task_board(text)
    out = render_task_board(doc, {k: CellUpdate(s, o) for k, (s, o) in updates.items()})
    again = parse_task_board(out)
    assert again.rows[2].dependencies == ("A.1", "A.2")
    for row in again.rows:
        if row.task_id in updates:
            assert (row.status, row.owner) == updates[row.task_id]
    assert out.startswith("intro line\r\n\n") and out.endswith("trailer without newline")
    # Undoing the updates restores the original bytes except for padding the cells grew into.
    original = {r.task_id: CellUpdate(r.status, r.owner) for r in doc.rows}
    restored = render_task_board(parse_task_board(out), original)
    assert parse_task_board(restored).rows == doc.rows


@pytest.mark.parametrize(
    ("row", "needle", "kept"),
    [
        ("| A.1 | one | 🟣 MAYBE | - | None | x | 1h | H |", "status", True),
        ("| A.1 | one | 🔵 AVAILABLE | - | None | x | soon | H |", "estimate", True),
        ("| A.1 | one | 🔵 AVAILABLE | 👤 | None | x | 1h | H |", "owner", True),
        ("| A.1 | one | 🔵 AVAILABLE | - | Z.9 | x | 1h | H |", "not on this board", True),
        ("| A.1 | one | 🔵 AVAILABLE | - | None | x | 1h |", "cells", True),
        ("| ??? | one | 🔵 AVAILABLE | - | None | x | 1h | H |", "not a task id", False),
    ],
)
def test_what_cannot_be_read_is_a_problem_with_file_and_line(
    row: str, needle: str, kept: bool
) -> None:
    text = HEADER + row + "\n| B.1 | two | 🔵 AVAILABLE | - | None | y | 1h | H |\n"
    doc = parse_task_board(text, path="board.md")
    [problem] = doc.problems
    assert (problem.path, problem.line, problem.text) == ("board.md", 3, row)
    assert needle in problem.reason and str(problem).startswith("board.md:3: ")
    ids = [r.task_id for r in doc.rows]
    assert ids == (["A.1", "B.1"] if kept else ["B.1"])
    if kept:
        assert doc.rows[0].problems == (problem.reason,)
    assert render_task_board(doc, {}) == text  # reading changes nothing


def test_a_file_without_a_task_table_reads_as_an_empty_board() -> None:
    doc = parse_task_board("# just a title\n")
    assert doc.rows == () and "no task table" in doc.problems[0].reason


rows = st.lists(
    st.tuples(
        STATUSES,
        OWNERS,
        st.sampled_from(["1h", "1.5h", "30m", "2h"]),
        st.integers(0, 3),  # extra padding inside the Status cell
        st.text(st.characters(categories=("L", "N"), include_characters=" -`/."), max_size=20),
    ),
    min_size=1,
    max_size=8,
)


@given(rows, st.data())
def test_any_update_rewrites_exactly_its_two_cells(
    table: list[tuple[TaskStatus, str | None, str, int, str]], data: st.DataObject
) -> None:
    lines = ["# Board\n", "\n", "Some prose | with a pipe.\n", "\n", HEADER]
    for i, (status, owner, est, pad, title) in enumerate(table):
        badge = {
            TaskStatus.AVAILABLE: "🔵 AVAILABLE",
            TaskStatus.CLAIMED: "🟡 CLAIMED",
            TaskStatus.COMPLETED: "🟢 COMPLETED",
            TaskStatus.BLOCKED: "🔴 BLOCKED",
        }[status]
        deps = "None" if i == 0 else f"T.{i - 1}"
        lines.append(
            f"| T.{i} | {title.strip()} | {badge}{' ' * pad} | {owner or '-'} | {deps}"
            f" | `d{i}.md` | {est} | Haiku |\n"
        )
    lines += ["\n", "### T.0: First\n", "**Milestones:**\n", "- [x] 25% - started\n"]
    text = "".join(lines)
    doc = parse_task_board(text)
    assert render_task_board(doc, {}) == text
    targets = data.draw(st.lists(st.integers(0, len(table) - 1), unique=True))
    updates = {
        f"T.{i}": CellUpdate(data.draw(STATUSES), data.draw(OWNERS), data.draw(st.booleans()))
        for i in targets
    }
    out = render_task_board(doc, updates)
    before, after = text.splitlines(keepends=True), out.splitlines(keepends=True)
    assert len(before) == len(after)
    for old, new in zip(before, after, strict=True):
        if old == new:
            continue
        old_cells, new_cells = old.split("|"), new.split("|")
        keep = [j for j in range(len(old_cells)) if j not in (3, 4)]
        assert [old_cells[j] for j in keep] == [new_cells[j] for j in keep]
    reparsed = {r.task_id: r for r in parse_task_board(out).rows}
    for task_id, update in updates.items():
        row = reparsed[task_id]
        assert row.owner == update.owner and row.shown_stale == update.stale
        assert row.status is (TaskStatus.CLAIMED if update.stale else update.status)
    assert doc.sections["T.0"].milestones[0].done
