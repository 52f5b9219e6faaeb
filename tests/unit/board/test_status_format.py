"""STATUS-SESSION-*.yaml: the seed's shapes, round trips, and typed errors with lines."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ifmesh.node.board.errors import StatusFileError
from ifmesh.node.board.formats.status import (
    StatusFile,
    load_status_files,
    parse_status,
    render_status,
    status_file_name,
)

EXAMPLES = Path(__file__).parents[3] / "examples" / "phase0"

SEED_PROGRESS = """session: session-2-webrtc
current_task: P0.5.2
milestone: "50% - Policy configuration complete"
timestamp: 2025-11-12T14:30:00Z
branch: claude/webrtc-agent-mesh-*
blocked_on: P0.2.6
next_action: "Waiting for IF.governor integration tests"
"""

SEED_POLLING = """session: session-2-webrtc
status: polling
last_poll: 2025-11-12T15:04:05+01:00
branch: claude/webrtc-agent-mesh-abc
current_task: none
"""


def test_seed_progress_report() -> None:
    status = parse_status(SEED_PROGRESS)
    assert status.session == "session-2-webrtc"
    assert status.current_task == "P0.5.2"
    assert status.percent == 50
    assert status.timestamp == datetime(2025, 11, 12, 14, 30, tzinfo=UTC)
    assert status.branch == "claude/webrtc-agent-mesh-*"
    assert status.blocked_on == ("P0.2.6",)
    assert render_status(status) == SEED_PROGRESS


def test_seed_polling_loop_minimal_file() -> None:
    status = parse_status(SEED_POLLING)
    assert status.current_task is None  # the loop writes "none" when idle
    assert status.last_seen == datetime(2025, 11, 12, 14, 4, 5, tzinfo=UTC)
    assert status.status == "polling"


def test_claim_and_complete_shapes_and_unknown_keys() -> None:
    claim = parse_status(
        'session: s2\nclaiming: P0.5.2\nmilestone: "0% - Starting task"\n'
        "timestamp: 2025-11-12T14:00:00Z\nmood: focused\nextra_list: [1, 2]\n"
    )
    assert claim.task == "P0.5.2" and claim.percent == 0
    assert dict(claim.extra) == {"mood": "focused", "extra_list": [1, 2]}
    assert parse_status(render_status(claim)) == claim
    done = parse_status(
        "session: s2\ncompleted: P0.5.2\nmilestone: 100% - Complete\n"
        "deliverable: /home/user/infrafabric/docs/components/IF.GOVERNOR.md\ntests_pass: true\n"
    )
    assert done.completed == "P0.5.2" and done.tests_pass is True and done.percent == 100


@pytest.mark.parametrize(
    ("text", "line", "needle"),
    [
        ("session: s2\nstatus: [unclosed\n", 2, "YAML"),
        ("session: s2\ncurrent_task: P0 5 2\n", 2, "current_task"),
        ("session: s2\ntimestamp: yesterday\n", 2, "timestamp"),
        ("session: s2\ntests_pass: maybe\n", 2, "tests_pass"),
        ("session: Session Two\n", 1, "belongs to 's2'"),
        ("- just\n- a list\n", 1, "mapping"),
        ("session: s2\nepoch: -1\n", 2, "epoch"),
    ],
)
def test_what_cannot_be_read_is_a_problem_and_the_rest_is_read(
    text: str, line: int, needle: str
) -> None:
    status = parse_status(text, "STATUS-S2.yaml")
    assert status.session == "s2" and status.partly_read
    [problem] = status.problems
    assert (problem.path, problem.line) == ("STATUS-S2.yaml", line)
    assert needle in str(problem)


def test_only_a_file_that_names_no_session_anywhere_is_refused() -> None:
    assert parse_status("status: polling\n", "STATUS-S2.yaml").session == "s2"
    with pytest.raises(StatusFileError, match="missing 'session'"):
        parse_status("status: polling\n", "notes.yaml")


def test_one_corrupt_file_does_not_hide_the_others() -> None:
    files = {p.name: p.read_text(encoding="utf-8") for p in EXAMPLES.glob("STATUS-*.yaml")}
    assert len(files) == 5
    files["STATUS-SESSION-9-BROKEN.yaml"] = "session: session-9-broken\nmilestone: [oops\n"
    files["STATUS-SESSION-8.yaml"] = "session: session-2-webrtc\n"
    statuses, problems = load_status_files(files)
    assert len(statuses) == 7
    assert statuses["session-9-broken"].partly_read
    assert statuses["session-2-webrtc"].current_task == "F2.1"  # not the impostor's file
    assert sorted(p.path for p in problems) == [
        "STATUS-SESSION-8.yaml",
        "STATUS-SESSION-9-BROKEN.yaml",
    ]
    assert status_file_name("session-2-webrtc") == "STATUS-SESSION-2-WEBRTC.yaml"


def test_example_status_files_round_trip_byte_for_byte() -> None:
    for path in EXAMPLES.glob("STATUS-*.yaml"):
        text = path.read_text(encoding="utf-8")
        assert render_status(parse_status(text, path.name)) == text.replace("+00:00", "Z"), (
            path.name
        )


task_ids = st.from_regex(r"\AP0\.[1-5]\.[1-9]\Z")
words = st.text(st.characters(exclude_categories=("Cs", "Cc")), max_size=30)
stamps = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
).map(lambda d: d.replace(microsecond=0))


@given(
    st.builds(
        StatusFile,
        session=st.from_regex(r"\Asession-[0-9]-[a-z]{2,6}\Z"),
        status=st.none() | st.sampled_from(["working", "blocked", "polling"]),
        current_task=st.none() | task_ids,
        claiming=st.none() | task_ids,
        completed=st.none() | task_ids,
        epoch=st.none() | st.integers(0, 99),
        milestone=st.none() | words,
        timestamp=st.none() | stamps,
        last_poll=st.none() | stamps,
        branch=st.none() | st.from_regex(r"\Aclaude/[a-z-]{1,12}\*?\Z"),
        blocked_on=st.lists(task_ids, max_size=3, unique=True).map(tuple),
        next_action=st.none() | words,
        deliverable=st.none() | words.filter(lambda w: w.strip() == w and w != ""),
        tests_pass=st.none() | st.booleans(),
        extra=st.just({}),
    )
)
def test_render_parse_round_trip(status: StatusFile) -> None:
    assert parse_status(render_status(status)) == status
