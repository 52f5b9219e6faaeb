"""What holds for any board and STATUS text, not just the corpus's: reading never raises (what
it cannot read is a problem with a line in the file); claiming a task rewrites exactly its row
and keeps every other byte; two nodes reading the same files seed byte-identical boards.

Boards are the example board under random edits (characters a board is made of inserted, lines
dropped, doubled, swapped or split, CRLF, a BOM) and arbitrary text; STATUS files are random
YAML (the seed's keys with values of every YAML type), then cut, tab-indented or garbled.
"""

from __future__ import annotations

import contextlib
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from ifmesh.node.board.canonical import canonical_bytes
from ifmesh.node.board.errors import StatusFileError
from ifmesh.node.board.formats.cellrender import (
    render,
    render_cells,
    render_task_board,
    targets,
)
from ifmesh.node.board.formats.markdown import cell_texts, split_cells
from ifmesh.node.board.formats.problems import ReadProblem
from ifmesh.node.board.formats.status import KEY_ORDER, load_status_files, parse_status
from ifmesh.node.board.formats.statusyaml import COMPLETED_KEYS
from ifmesh.node.board.formats.taskboard import CellUpdate, parse_task_board
from ifmesh.node.board.seed import seed_board
from ifmesh.node.board.state import TaskKind, TaskStatus

EXAMPLE = Path(__file__).parents[3] / "examples" / "phase0"
BOARD = (EXAMPLE / "PHASE-0-TASK-BOARD.md").read_text(encoding="utf-8")
STATUS_FILES = {p.name: p.read_text(encoding="utf-8") for p in EXAMPLE.glob("STATUS-*.yaml")}
CLAIMER = "session-9-claimer"

# What boards are made of, and what breaks them: pipes, dashes, fences, headings, dress,
# status words and emoji, ids, line breaks of every kind, a BOM, tabs.
PIECES = st.sampled_from(
    [
        "|",
        " | ",
        "\\|",
        "|---|",
        "-",
        ":",
        "#",
        "## Filler Tasks\n",
        "### P0.1.4: Title\n",
        "```",
        "`",
        "**",
        "[x](y)",
        "<br>",
        "\n",
        "\r\n",
        "\r",
        "\t",
        " ",
        "\ufeff",
        "\u2028",
        "\x0c",
        "\x85",
        "🟢",
        "✅",
        "🟠 STALE",
        "DONE",
        "in progress",
        "P0.1.1",
        "P0.2.*",
        "All above",
        "All components",
        "P0.1.1–3",
        "@session-2-webrtc",
        "—",
        "1h30m",
    ]
)
SNIPPETS = PIECES | st.text(max_size=12)


@st.composite
def messy_boards(draw: st.DrawFn) -> str:
    """The example board after a few random edits, at line and at character level."""
    lines = BOARD.split("\n")
    for _ in range(draw(st.integers(0, 6))):
        at = draw(st.integers(0, len(lines) - 1))
        edit = draw(st.sampled_from(["insert", "drop", "double", "swap", "blank", "cut", "crlf"]))
        if edit == "insert":
            line = lines[at]
            where = draw(st.integers(0, len(line)))
            lines[at] = line[:where] + draw(SNIPPETS) + line[where:]
        elif edit == "drop" and len(lines) > 1:
            del lines[at]
        elif edit == "double":
            lines.insert(at, lines[at])
        elif edit == "swap":
            other = draw(st.integers(0, len(lines) - 1))
            lines[at], lines[other] = lines[other], lines[at]
        elif edit == "blank":
            lines.insert(at, "")
        elif edit == "cut":
            lines[at] = lines[at][: draw(st.integers(0, len(lines[at])))]
        else:
            lines[at] += "\r"
    prefix = draw(st.sampled_from(["", "", "\ufeff"]))
    return prefix + "\n".join(lines)


def assert_problems_point_into(problems: tuple[ReadProblem, ...], text: str) -> None:
    lines = text.count("\n") + 1
    for problem in problems:
        assert problem.line is None or 1 <= problem.line <= lines, problem


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(messy_boards(), st.text(max_size=400), st.lists(SNIPPETS).map("".join)))
def test_any_text_reads_as_a_board(text: str) -> None:
    document = parse_task_board(text, "BOARD.md")
    assert_problems_point_into(document.problems, text)
    lines = text.split("\n")
    for row in document.all_rows():
        assert row.task_id in lines[row.line - 1]  # the row is where the reader says it is
    assert parse_task_board(text, "BOARD.md") == document
    seed_board(document, None, {})


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(messy_boards(), st.data())
def test_a_claim_rewrites_exactly_its_row(text: str, data: st.DataObject) -> None:
    document = parse_task_board(text)
    whole = [
        r
        for r in document.rows
        if r.kind is TaskKind.PRIMARY and not any(p.startswith("row has") for p in r.problems)
    ]
    assume(whole)
    row = data.draw(st.sampled_from(whole))
    out = render_task_board(document, {row.task_id: CellUpdate(TaskStatus.CLAIMED, CLAIMER)})
    before, after = text.split("\n"), out.split("\n")
    assert len(before) == len(after)
    lines_changed = [i for i, (a, b) in enumerate(zip(before, after, strict=True)) if a != b]
    # A row already CLAIMED, on a board without an Owner column (a header cell such as
    # "O\|wner" is not one), reads the same after: nothing to rewrite then.
    where = document.cells[row.task_id]
    unchanged = row.status is TaskStatus.CLAIMED and (where.owner_start < 0 or row.owner == CLAIMER)
    assert lines_changed == ([] if unchanged else [row.line - 1])
    # In the row itself only the Status and Owner cells changed.
    old, new = before[row.line - 1], after[row.line - 1]
    spans = ((where.status_start, where.status_end), (where.owner_start, where.owner_end))
    rewritten = {split_cells(old).index(s) for s in spans if s[0] >= 0}
    changed = {
        i for i, (a, b) in enumerate(zip(cell_texts(old), cell_texts(new), strict=True)) if a != b
    }
    assert changed <= rewritten
    reread = {r.task_id: r for r in parse_task_board(out).rows}[row.task_id]
    assert reread.status is TaskStatus.CLAIMED and reread.line == row.line
    assert reread.owner == (CLAIMER if where.owner_start >= 0 else row.owner)


# The keys of the Phase-0 format, keys sessions add, and every name completed tasks go under.
KEYS = st.sampled_from(sorted({*KEY_ORDER, "tasks", "notes", *COMPLETED_KEYS}))
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True),
    st.text(max_size=20),
    st.sampled_from(["P0.1.1", "P0.2.6 ✅", "none", "session-2-webrtc", "Session 4 (SIP)"]),
    st.dates(min_value=date(1, 1, 1)),
    st.datetimes(timezones=st.none() | st.just(UTC)),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)


@st.composite
def status_texts(draw: st.DrawFn) -> str:
    """Random STATUS YAML, one or several documents, then garbled a little."""
    documents = draw(st.lists(st.dictionaries(KEYS, VALUES, max_size=6), min_size=1, max_size=3))
    text = yaml.safe_dump_all(documents, allow_unicode=True, sort_keys=False)
    for _ in range(draw(st.integers(0, 3))):
        at = draw(st.integers(0, len(text)))
        edit = draw(st.sampled_from(["insert", "cut", "tab"]))
        piece = draw(st.sampled_from(["\t", ": ", "[", '"', "&a", "*a", "!tag ", "\x1b", "\n"]))
        if edit == "insert":
            text = text[:at] + piece + text[at:]
        elif edit == "cut":
            text = text[:at]
        else:
            text = text[:at] + "\n\t" + text[at:]
    return text


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(status_texts() | st.text(max_size=200) | st.sampled_from(list(STATUS_FILES.values())))
def test_any_status_text_reads(text: str) -> None:
    status = parse_status(text, "STATUS-SESSION-1-NDI.yaml")  # the name says whose it is
    assert "session-1-ndi" in (status.session, status.named)
    assert_problems_point_into(status.problems, text)
    assert status.partly_read == bool(status.problems)
    last = status.last_seen
    assert last is None or last.tzinfo is not None


@settings(max_examples=100, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=30), status_texts() | st.text(max_size=100))
def test_only_a_file_naming_no_session_anywhere_is_refused(name: str, text: str) -> None:
    with contextlib.suppress(StatusFileError):  # neither the file nor its name says whose
        parse_status(text, name)
    statuses, problems = load_status_files({name: text})
    assert len(statuses) + sum(1 for p in problems if not p.partial) >= 1


def seeded(text: str, files: dict[str, str]) -> bytes:
    statuses, _ = load_status_files(files)
    return canonical_bytes(seed_board(parse_task_board(text), None, statuses))


@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow])
@given(
    messy_boards(),
    st.dictionaries(
        st.sampled_from(["STATUS-SESSION-1-NDI.yaml", "STATUS-SESSION-4.yaml", "STATUS-X.yml"])
        | st.sampled_from(sorted(STATUS_FILES)),
        status_texts() | st.sampled_from(list(STATUS_FILES.values())),
        max_size=6,
    ),
)
def test_two_nodes_read_the_same_files_into_the_same_bytes(
    text: str, files: dict[str, str]
) -> None:
    """A node reads the files in whatever order git lists them; the board is the same."""
    first = seeded(text, files)
    second = seeded(str(text), dict(reversed(list(files.items()))))
    assert first == second


@given(SCALARS)
def test_every_yaml_value_reads_as_a_timestamp_or_a_problem(value: Any) -> None:
    status = parse_status(yaml.safe_dump({"session": "s1", "timestamp": value}), "STATUS-S1.yaml")
    assert status.timestamp is None or status.timestamp.tzinfo is not None
    assert (status.timestamp is None) == (bool(status.problems) or value in (None, ""))
    if isinstance(value, datetime) and value.tzinfo is None:
        assert status.timestamp == value.replace(tzinfo=UTC)


OWNERS = st.sampled_from([None, CLAIMER, "session-1-ndi", "session-12-a-very-long-session-name"])


@given(messy_boards() | st.just(BOARD), st.data())
def test_what_a_render_says_of_its_text_is_what_reading_the_text_gives(
    text: str, data: st.DataObject
) -> None:
    board = targets(parse_task_board(text))
    assume(board.cells)
    chosen = data.draw(st.lists(st.sampled_from(sorted(board.cells)), max_size=8, unique=True))
    updates = {
        task: CellUpdate(
            data.draw(st.sampled_from(TaskStatus)), data.draw(OWNERS), data.draw(st.booleans())
        )
        for task in chosen
    }
    rendered = render(board, updates)
    assert rendered.text == render_cells(board, updates)
    derived = rendered.targets()
    read = targets(parse_task_board(rendered.text))
    assert derived.data == read.data
    assert derived.has_rows == read.has_rows
    assert dict(derived.cells) == dict(read.cells)
