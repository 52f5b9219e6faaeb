"""Claim queues and request-release on the command line: what each command sends to the
node, and what a person reads back (`ifmesh board`, `status`, `next`, the answers)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ifmesh.node.board.state import ReleaseAsk, Task, TaskStatus, Waiter
from ifmesh.node.cli import queues, session
from ifmesh.node.cli.boardtext import render_board
from ifmesh.node.cli.main import build_parser
from ifmesh.node.control.views import board_document
from tests.unit.board.helpers import board
from tests.unit.cli_calls import sent

NOW = datetime(2025, 11, 12, 14, 0, tzinfo=UTC)


def test_claim_queue_sends_queue_and_urgency(monkeypatch: pytest.MonkeyPatch) -> None:
    name, body = sent(monkeypatch, "claim", "P0.5.2", "--queue", "--urgency", "critical")
    assert name == "claim" and body is not None
    assert (body["task"], body["queue"], body["urgency"]) == ("P0.5.2", True, "critical")
    _, plain = sent(monkeypatch, "claim", "P0.5.2")
    assert plain is not None and (plain["queue"], plain["urgency"]) == (False, "medium")


def test_unqueue_ask_release_keep_and_the_new_waits(monkeypatch: pytest.MonkeyPatch) -> None:
    assert sent(monkeypatch, "unqueue", "P1") == ("unqueue", {"task": "P1"})
    assert sent(monkeypatch, "ask-release", "P1", "--reason", "demo") == (
        "ask-release",
        {"task": "P1", "reason": "demo"},
    )
    assert sent(monkeypatch, "keep", "P1", "--reason", "nearly done") == (
        "keep",
        {"task": "P1", "reason": "nearly done"},
    )
    _, body = sent(monkeypatch, "wait", "P1", "--until", "mine")
    assert body == {"task": "P1", "until": "mine", "timeout": None}
    _, body = sent(monkeypatch, "wait", "--until", "asked")
    assert body == {"task": None, "until": "asked", "timeout": None}


@pytest.mark.parametrize(
    "argv",
    [
        ("claim", "P1", "--queue", "--urgency", "asap"),
        ("ask-release", "P1"),  # the holder is owed a reason
        ("keep", "P1"),
        ("wait", "P1", "--until", "yours"),
    ],
)
def test_bad_usage_is_refused_by_the_parser(argv: tuple[str, ...]) -> None:
    with pytest.raises(SystemExit) as exited:
        build_parser(list(argv)).parse_args(list(argv))
    assert exited.value.code == 2


def test_answers_read_as_sentences() -> None:
    queued = {"task": "P1", "queued": True, "already_queued": False, "urgency": "high",
              "position": 2, "queue_length": 3, "holder": "s2", "turn": None}  # fmt: skip
    assert session._say_claim(queued) == (
        "queued for P1: position 2 of 3 (high); s2 holds it. `ifmesh wait P1 --until mine`"
        " returns when it is yours"
    )
    asked = {"task": "P1", "holder": "s2", "grace_until": "2025-11-12T14:10:00Z"}
    assert "asked s2 to release P1: it has until 2025-11-12T14:10:00Z" in queues.say_asked(asked)
    assert queues.say_kept({"task": "P1", "asked_by": "s3"}) == (
        "kept P1: your lease is restored; s3 is told"
    )
    ask = {"asker": "s3", "reason": "demo", "grace_until": "2025-11-12T14:10:00Z"}
    wait = {"until": "asked", "task": {"id": "P1", "ask": ask}}
    assert session._say_wait(wait).startswith("s3 asks you to release P1: demo. Answer by")


def test_board_status_and_next_show_queues_and_asks() -> None:
    held = Task(
        "P1",
        title="Governor docs",
        status=TaskStatus.CLAIMED,
        owner="s2",
        owner_last_event_at=NOW,
        queue=(Waiter("s1", "low", NOW - timedelta(minutes=60)), Waiter("s3", "critical", NOW)),
        ask=ReleaseAsk("s3", "demo at four", NOW, NOW + timedelta(minutes=10)),
    )
    document = board_document(board(held), NOW, timedelta(minutes=15), {})
    text = render_board(document)
    assert "queue P1: s3 (critical, rank 3), s1 (low, rank 2)" in text
    assert "asked: s3 asks s2 to release P1 (until 2025-11-12T14:10:00Z): demo at four" in text
    status = {
        "asked": [{"task": "P2", "asker": "s3", "reason": "r", "grace_until": "T"}],
        "asking": [{"task": "P1", "holder": "s2", "grace_until": "T"}],
        "queued": [{"task": "P1", "position": 1, "queue_length": 2, "urgency": "critical",
                    "holder": "s2", "turn": None}],
    }  # fmt: skip
    lines = queues.render_asks(status)
    assert lines[0].startswith("asked: s3 asks you to release P2 (answer by T")
    assert lines[1] == "asking: s2 to release P1 (grace until T)"
    assert lines[2] == "queued: P1 position 1 of 2 (critical), held by s2"
    empty_next = session._next({"tasks": [], "queued": status["queued"]})
    assert empty_next.splitlines() == [
        "nothing available for your capabilities",
        "queued: P1 position 1 of 2 (critical), held by s2",
    ]
