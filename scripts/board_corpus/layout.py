"""Mutations of how a board is laid out, and what breaks it: tables per phase, sections
between them, tables that are not task tables, groups and manual dependencies, unknown words,
rows the reader leaves out, a blank line inside a table, an unclosed fence, no table."""

from __future__ import annotations

import copy

from board_corpus.model import BADGE, Board, Row, Table, mutation, row_of, table_of

PHASES = {
    "P0.1": "IF.coordinator",
    "P0.2": "IF.governor",
    "P0.3": "IF.chassis",
    "P0.4": "CLI",
    "P0.5": "Documentation",
}


@mutation
def split_phases(board: Board) -> None:
    """One table per phase, each under its own heading."""
    main = board.tables[0]
    tables = []
    for stem, name in PHASES.items():
        rows = [r for r in main.rows if r.task.startswith(stem + ".")]
        before = [f"## Phase {stem[1:]}: {name} Tasks", "", f"What the {name} work needs.", ""]
        tables.append(
            Table(
                before,
                f"Phase {stem[1:]}: {name} Tasks",
                list(main.columns),
                dict(main.names),
                rows,
            )
        )
    board.tables[:1] = tables


def _section(task: str, title: str, n: int) -> list[str]:
    heading = (
        f"### {task}: {title}",
        f"#### **{task}** — {title} ⏳",
        f"### Task {task} - {title}",
        f"### [{task}](#top): {title}",
    )[n % 4]
    return [
        heading,
        "**Task type:** code",
        "**Required capabilities:** lang:python",
        "",
        f"**Description:** {title}. Notes a session left while working on it, with a table",
        "that is not a task table and a code block that holds what looks like rows:",
        "",
        "| Step | Detail |",
        "|------|--------|",
        "| 1 | write the failing test |",
        "| 2 | make it pass |",
        "",
        "```text",
        f"| {task} | not a row | 🔵 AVAILABLE | - | None |",
        "# not a heading either",
        "```",
        "",
        "**Milestones:**",
        "- [x] 25% - Design agreed",
        "- [ ] 50% - Core done",
        "- [ ] 100% - Reviewed",
        "",
        "**Acceptance Criteria:**",
        "- Two sessions never hold one task",
        "  - nested bullet, still criteria",
        "",
        f"> **Note:** ask in the room before changing {task}'s interface.",
        "",
    ]


@mutation
def sections_between(board: Board) -> None:
    """Long per-task sections after each table, before the next one."""
    n = 0
    for table in board.tables:
        if table.kind != "primary":
            continue
        added: list[str] = []
        for row in table.rows:
            if row.task not in board.sections and n % 2 == 0:
                added += _section(row.task, row.cells.get("title", row.task), n // 2)
                board.sections.append(row.task)
            n += 1
        table.after = ["", *added]
    base = [s for s in board.sections if s in {"P0.1.5", "P0.2.6", "P0.5.2", "P0.5.5"}]
    board.sections = [s for s in board.sections if s not in base] + base


@mutation
def legend_and_sessions(board: Board) -> None:
    """Tables that are not task tables: a legend, a numbered list of sessions."""
    board.preamble += [
        "## Legend",
        "",
        "| Status | Meaning |",
        "|---|---|",
        "| 🔵 AVAILABLE | ready to claim |",
        "| 🔴 BLOCKED | waits on its dependencies |",
        "",
        "## Sessions",
        "",
        "| # | Session | Branch | Focus |",
        "|---|---------|--------|-------|",
        "| 1 | session-1-ndi | `claude/ndi-*` | NDI |",
        "| 2 | session-2-webrtc | `claude/webrtc-*` | WebRTC |",
        "",
    ]


@mutation
def long_preamble(board: Board) -> None:
    """Three hundred lines of log above the tables: every line number moves."""
    log = [
        f"- 2025-11-12 {8 + n // 60:02d}:{n % 60:02d} session-{1 + n % 5} pushed"
        for n in range(300)
    ]
    board.preamble += ["## Coordination log", "", *log, ""]


@mutation
def filler_with_status(board: Board) -> None:
    """A filler table that grew Status and Owner columns: still fillers (its heading)."""
    table = next(t for t in board.tables if t.kind == "filler")
    table.columns = ["id", "title", "status", "owner", "description", "est"]
    table.names |= {"status": "Status", "owner": "Owner"}
    for n, row in enumerate(table.rows):
        row.status = ("AVAILABLE", "CLAIMED", "COMPLETED")[n % 3]
        row.owner = None if row.status == "AVAILABLE" else f"session-{2 + n % 3}-x"
        row.cells["status"] = f"{BADGE[row.status]} {row.status}"
        row.cells["owner"] = row.owner or "-"


@mutation
def escaped_pipes_and_html(board: Board) -> None:
    row_of(board, "P0.2.3").cells["title"] = "Policy engine (YAML \\| JSON)"
    row_of(board, "P0.3.3").cells["title"] = "Scoped credentials<br>(per swarm)"
    row_of(board, "P0.3.3").cells["status"] = "🟡 CLAIMED<br><sub>since 14:10</sub>"


@mutation
def dependency_groups(board: Board) -> None:
    """Group phrases; on a board split by phase, "All above" and named groups resolve."""
    split = len([t for t in board.tables if t.kind == "primary"]) > 1
    groups = {
        "P0.1.5": ("above", "All above") if split else None,
        "P0.2.6": ("prefix:P0.2", "All P0.2 tasks"),
        "P0.3.6": ("prefix:P0.3", "`P0.3.x`"),
        "P0.5.2": ("prefix:P0.2", "P0.2.*"),
        "P0.5.5": ("components", "All components") if split else ("prefix:P0", "Phase 0 complete"),
        "P0.4.4": ("named:documentation", "All documentation tasks") if split else None,
    }
    for task, group in groups.items():
        if group is not None:
            row = row_of(board, task)
            row.deps, row.cells["deps"] = group


@mutation
def manual_dependencies(board: Board) -> None:
    """Cells that name no task on the board: the task waits for a person."""
    for task, cell, deps in (
        ("P0.5.4", "Waiting on legal review", "manual:Waiting on legal review"),
        ("P0.4.4", "P0.2.2, P0.9.9", ("P0.2.2", "P0.9.9")),
        ("P0.3.4", "All security tasks", "named:security"),
        ("P0.1.4", "P0.1.2 or the design review", "manual:P0.1.2 or the design review"),
    ):
        row = row_of(board, task)
        row.cells["deps"], row.deps = cell, deps


@mutation
def unknown_words(board: Board) -> None:
    """Cells the vocabulary does not hold: read as AVAILABLE / no owner / unknown, warned."""
    review = row_of(board, "P0.2.3")
    review.cells["status"], review.status, review.problems = "👀 In review", "AVAILABLE", ["status"]
    robot = row_of(board, "P0.4.2")
    robot.cells["owner"], robot.owner, robot.problems = "🤖", None, ["owner"]
    soon = row_of(board, "P0.3.4")
    soon.cells["est"], soon.est, soon.problems = "a while", None, ["estimate"]


@mutation
def cell_counts(board: Board) -> None:
    """A row that lost its last cell and one that grew an extra: read, with a warning."""
    short = row_of(board, "P0.1.4")
    short.cells_off, short.problems = -1, [*short.problems, "cells"]
    long = row_of(board, "P0.3.5")
    long.cells_off, long.problems = 1, [*long.problems, "cells"]


@mutation
def left_out_rows(board: Board) -> None:
    """Rows the reader leaves out, saying why: a second row for one id, rows with no id."""
    table = table_of(board, "P0.2.4")
    copy_ = copy.deepcopy(row_of(board, "P0.2.4"))
    copy_.cells["status"], copy_.cells["owner"] = "🟡 CLAIMED", "session-3-h323"
    copy_.kept, copy_.problems = False, ["twice"]
    table.rows.insert(table.rows.index(row_of(board, "P0.2.6")) + 1, copy_)
    for n, written in enumerate(("TBD", "", "?")):
        idea = Row(
            cells={
                "id": written,
                "title": f"Idea {n}: retry storms",
                "status": "🔵 AVAILABLE",
                "owner": "-",
                "deps": "None",
                "est": "1h",
            },
            task=f"idea-{n}",
            status="AVAILABLE",
            owner=None,
            deps=(),
            est=1.0,
            kept=False,
            problems=["not a task id"],
        )
        table.rows.append(idea)


@mutation
def blank_line_in_table(board: Board) -> None:
    """A blank line inside the table ends it: the rows below are outside any table, and
    reported, one problem each."""
    row_of(board, "P0.5.1").gap = True


@mutation
def unclosed_fence(board: Board) -> None:
    """A code block opened above the tables and never closed: everything below is code."""
    board.preamble += ["```bash", "git fetch origin $COORD_BRANCH", ""]
    board.no_table, board.sections = True, []


@mutation
def bullet_board(board: Board) -> None:
    """Tasks as a bulleted list, no table at all: nothing to read, said once."""
    for table in board.tables:
        table.as_list = True
    board.no_table = True
