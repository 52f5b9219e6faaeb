"""`ifmesh board` and `ifmesh status` as text: what could not be read, and what the board
refused, reach the person reading the terminal."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from ifmesh.node.board.effects import Rejected
from ifmesh.node.board.formats.problems import ReadProblem
from ifmesh.node.board.state import Task, TaskStatus
from ifmesh.node.cli.boardtext import render_board, render_readings
from ifmesh.node.control.views import board_document, problem_document, refusal_document
from tests.unit.board.helpers import board

NOW = datetime(2025, 11, 12, 14, 0, tzinfo=UTC)


def test_rows_read_partly_carry_a_mark_and_unread_rows_are_listed() -> None:
    tasks = board(
        Task("P0.5.2", title="Governor docs"),
        Task("P0.2.3", title="Budget", status=TaskStatus.BLOCKED, manual_dependency="legal"),
    )
    problems = [
        ReadProblem("PHASE-0-TASK-BOARD.md", 55, "status '🟣 MAYBE' is not …", task="P0.5.2"),
        ReadProblem("PHASE-0-TASK-BOARD.md", 45, "task P0.2.1 appears twice", partial=False),
    ]
    document = board_document(tasks, NOW, timedelta(minutes=15), {}, problems)
    text = render_board(document)
    [governor] = [line for line in text.splitlines() if line.startswith("P0.5.2")]
    assert governor.endswith("⚠")
    assert "(waits on: legal)" in text
    assert "⚠ not read: PHASE-0-TASK-BOARD.md:45: task P0.2.1 appears twice" in text


def test_status_lists_read_problems_refusals_and_claimless_completions() -> None:
    refusal = Rejected("e1", "session-1-ndi", "task.claim", "P0.1.5", "dependencies_not_completed",
                       "P0.1.5 waits on P0.1.3")  # fmt: skip
    status = {
        "read_problems": [problem_document(ReadProblem("STATUS-SESSION-1-NDI.yaml", 9, "YAML"))],
        "completed_without_claim": ["P0.3.4"],
        "refusals": {"recent": [refusal_document(refusal)], "by_code": {refusal.code: 1}},
    }
    lines = render_readings(status)
    assert "  STATUS-SESSION-1-NDI.yaml:9: YAML" in lines
    assert "P0.3.4: completed without a claim (reported in a STATUS file)" in lines
    assert any("task.claim from session-1-ndi on P0.1.5: dependencies_not_completed" in line
               for line in lines)  # fmt: skip
