"""Path reservations and the agent hooks on the command line: what `ifmesh reserve` and
`ifmesh unreserve` send to the node, how `check-paths`, `agent-hook` and `git-hook` parse, and
what a person reads of reservations in `ifmesh board`."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import MappingProxyType

import pytest

from ifmesh.node.board.state import Board, Reservation, Task, TaskStatus
from ifmesh.node.cli.boardtext import render_board
from ifmesh.node.cli.main import build_parser
from ifmesh.node.control.views import board_document
from tests.unit.board.helpers import board
from tests.unit.cli_calls import sent

NOW = datetime(2025, 11, 12, 14, 0, tzinfo=UTC)


def test_reserve_sends_patterns_task_mode_ttl_and_the_working_directory(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    name, body = sent(monkeypatch, "reserve", "src/db/**", "README.md", "--for", "P0.1.4")
    assert name == "reserve" and body is not None
    assert body == {"patterns": ["src/db/**", "README.md"], "task": "P0.1.4", "exclusive": True,
                    "ttl_seconds": 7200.0, "timeout": 60.0, "cwd": str(tmp_path)}  # fmt: skip
    _, waits = sent(monkeypatch, "reserve", "x", "--for", "T", "--timeout", "5")
    assert waits is not None and waits["timeout"] == 5.0  # then withdrawn: reservation_undecided
    _, shared = sent(monkeypatch, "reserve", "docs/*.md", "--for", "T", "--shared", "--ttl", "90m")
    assert shared is not None and (shared["exclusive"], shared["ttl_seconds"]) == (False, 5400.0)
    _, days = sent(monkeypatch, "reserve", "x", "--for", "T", "--exclusive", "--ttl", "1d")
    assert days is not None and (days["exclusive"], days["ttl_seconds"]) == (True, 86400.0)


@pytest.mark.parametrize(
    "argv",
    [
        ["reserve", "src/**"],  # --for is required
        ["reserve", "--for", "T"],  # at least one pattern
        ["reserve", "x", "--for", "T", "--shared", "--exclusive"],
        ["reserve", "x", "--for", "T", "--ttl", "soon"],
        ["reserve", "x", "--for", "T", "--ttl", "0"],
        ["agent-hook", "PostToolUse"],
        ["git-hook"],
    ],
)
def test_bad_command_lines_are_usage_errors(argv: list[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        build_parser(argv).parse_args(argv)
    assert caught.value.code == 2


def test_unreserve_sends_what_it_names(monkeypatch: pytest.MonkeyPatch) -> None:
    assert sent(monkeypatch, "unreserve") == ("unreserve", {"patterns": [], "task": None})
    assert sent(monkeypatch, "unreserve", "a/**", "b", "--for", "T") == (
        "unreserve", {"patterns": ["a/**", "b"], "task": "T"},
    )  # fmt: skip


def test_check_paths_agent_hook_and_git_hook_parse() -> None:
    args = build_parser(["check-paths"]).parse_args(["check-paths", "a.py", "src/", "--staged"])
    assert (args.paths, args.staged, args.hook, args.json) == (["a.py", "src/"], True, False, False)
    hook = ["agent-hook", "SessionStart", "--session", "s-1", "--no-start", "--config", "n.yaml"]
    args = build_parser(hook).parse_args(hook)
    assert (args.event, args.session, args.no_start, args.config) == (
        "SessionStart", "s-1", True, "n.yaml",
    )  # fmt: skip
    args = build_parser(["git-hook"]).parse_args(["git-hook", "install", "--force"])
    assert (args.action, args.force) == ("install", True)


def _reservations_board() -> Board:
    held = Task("P0.1.4", title="Blocker detection", status=TaskStatus.CLAIMED, owner="s1",
                owner_last_event_at=NOW, claimed_at=NOW)  # fmt: skip
    live = Reservation("s1", "P0.1.4", 0, "src/db/**", True, NOW, NOW + timedelta(hours=2))
    old = Reservation("s1", "P0.1.4", 0, "old/**", True, NOW, NOW + timedelta(minutes=1))
    fenced = Reservation("s1", "P0.1.4", 7, "fenced/**", False, NOW, NOW + timedelta(hours=2))
    keyed = {(r.session_id, r.task_id, r.pattern): r for r in (live, old, fenced)}
    return replace(board(held), reservations=MappingProxyType(keyed))


def test_the_board_shows_the_reservations_in_force_only() -> None:
    document = board_document(
        _reservations_board(), NOW + timedelta(minutes=5), timedelta(minutes=15), {}
    )
    assert [(r["session"], r["task"], r["pattern"], r["exclusive"]) for r in
            document["reservations"]] == [("s1", "P0.1.4", "src/db/**", True)]  # fmt: skip
    assert document["reservations"][0]["expires_at"] == "2025-11-12T16:00:00Z"
    text = render_board(document)
    assert "reserved: s1 for P0.1.4: src/db/** (exclusive, until 2025-11-12T16:00:00Z)" in text
    assert "old/**" not in text and "fenced/**" not in text
