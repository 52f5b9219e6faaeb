"""The corpus (tests/unit/board/corpus/): messy boards and STATUS files, each with the reading
the readers' rules give it, read as a node reads them at start-up.

``gen-*`` cases are written by scripts/make_board_corpus.py from examples/phase0/ (and must be
what it writes); ``hand-*`` cases are written by hand, as people and agents in a hurry write.
Every case reads without raising, matches its ``.expected.yaml`` (tasks with status, owner,
dependencies and manual dependency, line; problems by line and a word of the reason; sections;
for STATUS files the session, tasks, completed tasks, last seen, partly-read flag and problem
lines), and seeds a board.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest
import yaml

from ifmesh.node.board.canonical import canonical_bytes
from ifmesh.node.board.formats.problems import ReadProblem
from ifmesh.node.board.formats.status import StatusFile, load_status_files, parse_status
from ifmesh.node.board.formats.taskboard import TaskBoardDocument, TaskRow, parse_task_board
from ifmesh.node.board.seed import seed_board
from ifmesh.node.board.state import TaskKind, TaskStatus

HERE = Path(__file__).parent
CORPUS = HERE / "corpus"
ROOT = HERE.parents[2]
EXAMPLE = ROOT / "examples" / "phase0"
BOARDS = sorted(CORPUS.glob("boards/*.md"))
STATUS_CASES = sorted(p for p in CORPUS.glob("status/*") if p.is_dir())


def text_of(path: Path) -> str:
    return path.read_bytes().decode("utf-8")  # byte for byte: CRLF, BOM and all


def expected_of(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(text_of(path))
    assert isinstance(data, dict)
    return data


def example_statuses() -> dict[str, StatusFile]:
    files = {p.name: text_of(p) for p in EXAMPLE.glob("STATUS-*.yaml")}
    return load_status_files(files)[0]


def example_document() -> TaskBoardDocument:
    return parse_task_board(text_of(EXAMPLE / "PHASE-0-TASK-BOARD.md"))


def row_reading(row: TaskRow) -> dict[str, Any]:
    """A row as the expected files write it (fields at their defaults left out)."""
    reading: dict[str, Any] = {"line": row.line, "status": row.status.value}
    if row.owner is not None:
        reading["owner"] = row.owner
    if row.dependencies:
        reading["deps"] = list(row.dependencies)
    if row.manual_dependency:
        reading["manual"] = row.manual_dependency
    if row.estimate_hours is not None:
        reading["est"] = row.estimate_hours
    if row.kind is not TaskKind.PRIMARY:
        reading["kind"] = row.kind.value
    if row.shown_stale:
        reading["stale"] = True
    return reading


def status_reading(status: StatusFile) -> dict[str, Any]:
    seen = status.last_seen
    return {
        "session": status.session,
        "named": status.named,
        "status": status.status,
        "current_task": status.current_task,
        "claiming": status.claiming,
        "completed": status.completed,
        "task": status.task,
        "completed_tasks": list(status.completed_tasks),
        "blocked_on": list(status.blocked_on),
        "last_seen": seen.isoformat().replace("+00:00", "Z") if seen is not None else None,
        "partly_read": status.partly_read,
    }


def unmatched(
    problems: Iterable[ReadProblem], expected: list[dict[str, Any]]
) -> tuple[list[str], list[str]]:
    """(problems nobody expected, expected problems not reported): each expected one is a line
    and a word its reason must hold."""
    left = sorted(problems, key=lambda p: (p.line or 0, p.reason))
    missing = []
    for want in expected:
        match = next(
            (
                p
                for p in left
                if p.line == want["line"] and str(want["word"]).lower() in p.reason.lower()
            ),
            None,
        )
        if match is None:
            missing.append(f"line {want['line']}: {want['word']!r}")
        else:
            left.remove(match)
    return [str(p) for p in left], missing


@pytest.mark.parametrize("path", BOARDS, ids=lambda p: p.stem)
def test_board_reads_as_expected(path: Path) -> None:
    expected = expected_of(path.with_suffix(".expected.yaml"))
    document = parse_task_board(text_of(path), path.name)
    assert {r.task_id: row_reading(r) for r in document.all_rows()} == expected["tasks"]
    assert all(p.path == path.name for p in document.problems)
    assert unmatched(document.problems, expected.get("problems") or []) == ([], [])
    assert list(document.sections) == expected["sections"]


def _seeded_status(reading: dict[str, Any], done: set[str]) -> TaskStatus:
    """What seed_board's rule makes of a row: completed stays; an owned claim or block is held;
    anything else waits for its dependencies."""
    status = TaskStatus(reading["status"])
    if status is TaskStatus.COMPLETED:
        return status
    held = reading.get("owner") and status is not TaskStatus.AVAILABLE
    if held and reading.get("kind", "primary") == "primary":
        return status
    ready = not reading.get("manual") and all(d in done for d in reading.get("deps", []))
    return TaskStatus.AVAILABLE if ready else TaskStatus.BLOCKED


@pytest.mark.parametrize("path", BOARDS, ids=lambda p: p.stem)
def test_a_node_starts_from_every_board(path: Path) -> None:
    expected = expected_of(path.with_suffix(".expected.yaml"))["tasks"]
    statuses = example_statuses()
    board = seed_board(parse_task_board(text_of(path), path.name), None, statuses)
    done = {t for t, r in expected.items() if r["status"] == "COMPLETED"}
    assert {t: task.status for t, task in board.tasks.items()} == {
        t: _seeded_status(r, done) for t, r in expected.items()
    }
    for task in board.tasks.values():
        if task.held and task.owner in statuses:
            assert task.owner_last_event_at == statuses[task.owner].last_seen


@pytest.mark.parametrize("folder", STATUS_CASES, ids=lambda p: p.name)
def test_status_files_read_as_expected(folder: Path) -> None:
    expected = expected_of(folder / "expected.yaml")
    files = {p.name: text_of(p) for p in folder.iterdir() if p.name != "expected.yaml"}
    assert sorted(files) == sorted(expected["files"])
    for name, text in files.items():
        want = dict(expected["files"][name])
        status = parse_status(text, name)
        problems = want.pop("problems")
        assert status_reading(status) == want, name
        assert all(p.path == name for p in status.problems)
        assert unmatched(status.problems, problems) == ([], []), name
    statuses, problems = load_status_files(files)
    assert {s: status for s, status in statuses.items()} == {
        s: parse_status(files[name], name) for s, name in expected["sessions"].items()
    }
    second = sorted(p.path for p in problems if "second STATUS file" in p.reason)
    assert second == sorted(expected["dropped"])


@pytest.mark.parametrize("folder", STATUS_CASES, ids=lambda p: p.name)
def test_a_node_starts_with_every_status_set(folder: Path) -> None:
    files = {p.name: text_of(p) for p in folder.iterdir() if p.name != "expected.yaml"}
    statuses, _ = load_status_files(files)
    board = seed_board(example_document(), None, statuses)
    assert set(board.sessions) == set(statuses)
    for session_id, status in statuses.items():
        assert board.sessions[session_id].status_timestamp == status.last_seen
    for task in board.tasks.values():
        if task.held:
            owner = statuses.get(task.owner or "")
            assert task.owner_last_event_at == (owner.last_seen if owner else None)


def test_the_corpus_is_large_and_mixed() -> None:
    assert len(BOARDS) + len(STATUS_CASES) >= 60
    for kind in ("gen-", "hand-"):
        assert any(p.name.startswith(kind) for p in BOARDS), kind
        assert any(p.name.startswith(kind) for p in STATUS_CASES), kind


def _generator() -> Any:
    """scripts/make_board_corpus.py, imported as the script imports its sibling module."""
    scripts = ROOT / "scripts"
    path = scripts / "make_board_corpus.py"
    spec = importlib.util.spec_from_file_location("make_board_corpus", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(scripts))
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    try:
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(str(scripts))
        for name in [n for n in sys.modules if n.split(".")[0] in (spec.name, "board_corpus")]:
            del sys.modules[name]


def test_the_committed_corpus_is_what_the_generator_writes() -> None:
    generator = _generator()
    written = generator.corpus()
    committed = {str(p.relative_to(CORPUS)): p.read_bytes() for p in generator.generated_files()}
    assert sorted(written) == sorted(committed)
    differ = [path for path, data in written.items() if committed[path] != data]
    assert differ == [], "run .venv/bin/python scripts/make_board_corpus.py"


_DIGEST = """
import hashlib, sys
from pathlib import Path
from ifmesh.node.board.canonical import canonical_bytes
from ifmesh.node.board.formats import load_status_files, parse_task_board
from ifmesh.node.board.seed import seed_board
corpus, example = Path(sys.argv[1]), Path(sys.argv[2])
def files(folder):
    return {p.name: p.read_bytes().decode() for p in folder.glob("STATUS-*")}
digest = hashlib.sha256()
for board in sorted(corpus.glob("boards/*.md")):
    doc = parse_task_board(board.read_bytes().decode(), board.name)
    digest.update(canonical_bytes(seed_board(doc, None, load_status_files(files(example))[0])))
doc = parse_task_board((example / "PHASE-0-TASK-BOARD.md").read_text())
for folder in sorted(p for p in corpus.glob("status/*") if p.is_dir()):
    digest.update(canonical_bytes(seed_board(doc, None, load_status_files(files(folder))[0])))
print(digest.hexdigest())
"""


def test_two_nodes_read_the_corpus_into_the_same_bytes() -> None:
    """Two processes with different string hashing (as two nodes have) seed every case into
    byte-identical boards: nothing in reading depends on set or dict iteration luck."""
    digests = set()
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        run = subprocess.run(
            [sys.executable, "-c", _DIGEST, str(CORPUS), str(EXAMPLE)],
            capture_output=True,
            text=True,
            env=env,
            cwd=ROOT,
            check=True,
            timeout=60,
        )
        digests.add(run.stdout.strip())
    here = hashlib.sha256()
    for board in BOARDS:
        document = parse_task_board(text_of(board), board.name)
        here.update(canonical_bytes(seed_board(document, None, example_statuses())))
    for folder in STATUS_CASES:
        files = {p.name: text_of(p) for p in folder.glob("STATUS-*")}
        here.update(
            canonical_bytes(seed_board(example_document(), None, load_status_files(files)[0]))
        )
    assert digests == {here.hexdigest()}
