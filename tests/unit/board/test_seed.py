"""The Phase-0 example as a starting board, and its canonical bytes."""

from __future__ import annotations

from pathlib import Path

from ifmesh.node.board.canonical import canonical_bytes, to_document
from ifmesh.node.board.formats import load_status_files, parse_overlay, parse_task_board
from ifmesh.node.board.seed import seed_board
from ifmesh.node.board.state import Board, TaskKind, TaskStatus, lease_expired
from tests.unit.board.helpers import at

EXAMPLE = Path(__file__).parents[3] / "examples" / "phase0"


def example_board() -> Board:
    document = parse_task_board((EXAMPLE / "PHASE-0-TASK-BOARD.md").read_text(encoding="utf-8"))
    overlay = parse_overlay((EXAMPLE / ".ifmesh" / "tasks.yaml").read_text(encoding="utf-8"))
    files = {p.name: p.read_text(encoding="utf-8") for p in EXAMPLE.glob("STATUS-*.yaml")}
    statuses, problems = load_status_files(files)
    assert problems == []
    return seed_board(document, overlay, statuses)


def test_example_board_seeds_tasks_sessions_and_capabilities() -> None:
    board = example_board()
    assert len(board.tasks) == 32
    assert len(board.sessions) == 5
    governor_docs = board.tasks["P0.5.2"]
    assert governor_docs.status is TaskStatus.BLOCKED and governor_docs.owner is None
    assert governor_docs.task_type == "docs"
    assert governor_docs.required_capabilities == ("docs:technical-writing",)
    assert governor_docs.estimate_hours == 1.0 and governor_docs.model == "Haiku"
    assert board.tasks["P0.2.3"].required_capabilities == ("lang:python", "governance:policy")
    assert board.tasks["F2.2"].kind is TaskKind.FILLER
    assert board.tasks["P0.1.4"].status is TaskStatus.AVAILABLE
    held = board.tasks["P0.1.3"]
    assert held.owner == "session-1-ndi" and held.confirmed
    # The owner's STATUS timestamp stands in for its last event (14:52:10).
    assert not lease_expired(held, at(60))
    assert lease_expired(held, at(68))
    assert board.sessions["session-3-h323"].current_task == "P0.3.3"
    assert board.sessions["session-5-cli"].current_task == "P0.4.2"


def test_canonical_bytes_are_stable_and_order_free() -> None:
    first, second = example_board(), example_board()
    assert canonical_bytes(first) == canonical_bytes(second)
    document = to_document(first)
    assert document["tasks"]["P0.5.5"]["dependencies"] == ["P0.1.5", "P0.2.6", "P0.3.6"]
    assert document["tasks"]["P0.5.5"]["status"] == "BLOCKED"


def test_the_scribes_projection_shows_confirmed_holders_and_stale_claims() -> None:
    from ifmesh.node.board.formats import parse_task_board as parse
    from ifmesh.node.board.log import EventLog
    from ifmesh.node.board.projection import render_board_file
    from ifmesh.node.board.replica import Replica

    text = (EXAMPLE / "PHASE-0-TASK-BOARD.md").read_text(encoding="utf-8")
    document = parse(text)
    board = example_board()
    # Nothing happened yet, and every owner is fresh: the file comes back byte for byte.
    assert render_board_file(document, board, at(35)) == text
    node = Replica("session-2-webrtc", "i1", initial=board)
    node.claim("P0.1.4", at(55))
    rows = {r.task_id: r for r in parse(render_board_file(document, node.board, at(55))).rows}
    assert rows["P0.1.4"].owner is None  # provisional: not in git yet
    node.git_verdict("P0.1.4", 0, "session-2-webrtc", at(55))
    later = parse(render_board_file(document, node.board, at(69)))
    rows = {r.task_id: r for r in later.rows}
    assert rows["P0.1.4"].owner == "session-2-webrtc"
    assert rows["P0.1.3"].shown_stale  # session-1-ndi's last word was at 14:52:10
    assert EventLog(board).board.tasks == board.tasks
