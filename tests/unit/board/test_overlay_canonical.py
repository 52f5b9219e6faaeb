"""The task overlay's errors, and canonical bytes that ignore insertion order."""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType

import pytest

from ifmesh.node.board.canonical import canonical_bytes, to_document
from ifmesh.node.board.errors import TaskOverlayError
from ifmesh.node.board.formats.overlay import parse_overlay
from ifmesh.node.board.state import BlockerRecord, Board, Task
from tests.unit.board.helpers import at


def test_overlay_reads_types_capabilities_and_estimates() -> None:
    overlay = parse_overlay(
        "P0.5.2:\n  task_type: docs\n"
        "  required_capabilities: docs:technical-writing, ops:runbooks\n"
        "  estimate_hours: 1.5\nF2.1:\n  model: haiku\n"
    )
    assert overlay["P0.5.2"].required_capabilities == ("docs:technical-writing", "ops:runbooks")
    assert overlay["P0.5.2"].estimate_hours == 1.5
    assert overlay["F2.1"].model == "haiku" and overlay["F2.1"].task_type is None
    assert parse_overlay("") == {}


@pytest.mark.parametrize(
    ("text", "line", "needle"),
    [
        ("P0.1:\n  task_type: docs\nP0.2:\n  colour: red\n", 3, "unknown key"),
        ("P0.1:\n  required_capabilities: [writing]\n", 1, "category:name"),
        ("P0.1:\n  estimate_hours: soon\n", 1, "number"),
        ("P0.1: [a, b\n", 2, "YAML"),
        ("P0.1: docs\n", 1, "mapping"),
    ],
)
def test_overlay_errors_name_file_and_line(text: str, line: int, needle: str) -> None:
    with pytest.raises(TaskOverlayError) as info:
        parse_overlay(text, ".ifmesh/tasks.yaml")
    assert info.value.line == line and info.value.path == ".ifmesh/tasks.yaml"
    assert needle in str(info.value)


@dataclass(frozen=True)
class GovernorPart:
    reservations: frozenset[str]
    spent: dict[str, float]


def test_canonical_bytes_ignore_insertion_order_and_cover_the_governor_part() -> None:
    tasks = [Task("B", owner="s2", owner_last_event_at=at(1)), Task("A", title="ü")]
    blockers = [
        BlockerRecord("s2", "B", ("A",), ("A",), detected_at=at(2)),
        BlockerRecord("s1", "A", (), (), description="needs a gatekeeper"),
    ]

    def build(order: int) -> Board:
        ts = tasks if order else list(reversed(tasks))
        bs = blockers if order else list(reversed(blockers))
        return Board(
            tasks=MappingProxyType({t.task_id: t for t in ts}),
            blockers=MappingProxyType({(b.session_id, b.task_id): b for b in bs}),
            governor=GovernorPart(frozenset({"y", "x"} if order else {"x", "y"}), {"s1": 2.5}),
        )

    assert canonical_bytes(build(0)) == canonical_bytes(build(1))
    document = to_document(build(1))
    assert document["governor"]["reservations"] == ["x", "y"]
    assert [key for key, _ in document["blockers"]] == [["s1", "A"], ["s2", "B"]]
    assert document["tasks"]["B"]["owner_last_event_at"] == "2025-11-12T14:01:00Z"
    assert "ü".encode() in canonical_bytes(build(1))
    with pytest.raises(TypeError, match="canonically"):
        to_document(object())
