"""A session's log in segments (node.gitsync.segments) and a reader following it
(node.gitsync.logcursor): what one commit writes, when a segment seals, the old one-file log.

The objects go to a bare repository in a temp dir (git's own object format, no remote)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ifmesh.node.gitsync.clone import Clone
from ifmesh.node.gitsync.errors import GitSyncError
from ifmesh.node.gitsync.logcursor import LogCursor
from ifmesh.node.gitsync.objects import TREE_MODE
from ifmesh.node.gitsync.paths import legacy_log_path, log_dir
from ifmesh.node.gitsync.segments import (
    SEAL_CHUNKS,
    LogFiles,
    OwnLog,
    files_in_order,
    lay_out,
    log_files_of,
    open_path,
    sealed_path,
    sealed_session,
    segments_of,
)
from tests.conftest import require_tool

S = "session-2-webrtc"


@pytest.fixture
def clone(tmp_path: Path) -> Clone:
    require_tool("git")
    return Clone(tmp_path / "repo.git", str(tmp_path / "unused.git"), "coordination")


def lines(first: int, count: int) -> bytes:
    return b"".join(b'{"n":%d}\n' % n for n in range(first, first + count))


def committed(clone: Clone, parent: str | None, own: OwnLog) -> tuple[str, LogFiles]:
    tip = clone.commit_files(parent, own.changes(), "log")
    return tip, log_files_of(clone.objects, clone.root_tree(tip), S)


def blobs_of(clone: Clone, tree: bytes) -> set[bytes]:
    found = set()
    for sha, mode, _ in clone.objects.tree(tree):
        found |= blobs_of(clone, sha) if mode == TREE_MODE else {sha}
    return found


def test_names_of_segments() -> None:
    assert open_path(S, 3) == ".ifmesh/log/session-2-webrtc/open/000003.jsonl"
    assert sealed_path(S, 65) == ".ifmesh/log/session-2-webrtc/sealed/0001/000065.jsonl"
    assert sealed_session(sealed_path(S, 65)) == S
    assert sealed_session(open_path(S, 3)) is None
    assert sealed_session(legacy_log_path(S)) is None


def test_a_commit_writes_its_own_lines_and_a_full_open_segment_seals(clone: Clone) -> None:
    own = OwnLog(clone.objects, S)
    commits = [lines(2 * n, 1 + n % 2) for n in range(SEAL_CHUNKS + 3)]
    tip = None
    before: set[bytes] = set()
    for number, appended in enumerate(commits):
        own.append(appended)
        tip, files = committed(clone, tip, own)
        assert own.matches(files)
        assert files.tree is not None
        new = blobs_of(clone, clone.root_tree(tip)) - before
        stored = {clone.objects.blob(sha) for sha in new}
        if number == SEAL_CHUNKS:  # the open segment was full: sealed before this append
            assert stored == {appended, b"".join(commits[:SEAL_CHUNKS])}
        else:
            assert stored == {appended}, "a commit writes only what it appends"
        before |= new
    assert files is not None
    segments = segments_of(clone.objects, files.tree)
    assert [n for n, _ in segments.sealed] == [0]
    assert [n for n, _ in segments.open] == [0, 1, 2]
    ordered = files_in_order(clone.objects, files)
    assert b"".join(clone.objects.blob(sha) for _, sha in ordered) == b"".join(commits)
    # What benchmarks and tests lay out is what the bridge writes.
    assert {path: clone.objects.blob(sha) for path, sha in ordered} == lay_out(S, commits)


def test_a_reader_reads_every_line_once_across_appends_and_sealing(clone: Clone) -> None:
    own = OwnLog(clone.objects, S)
    cursor = LogCursor(S)
    errors: list[GitSyncError] = []
    read = []
    tip = None
    commits = [lines(3 * n, 3) for n in range(2 * SEAL_CHUNKS + 5)]
    for appended in commits:
        own.append(appended)
        tip, files = committed(clone, tip, own)
        pieces = cursor.advance(clone.objects, files, errors)
        assert all(p.text for p in pieces)
        read += pieces
        assert cursor.advance(clone.objects, files, errors) == [], "nothing new, nothing read"
    assert "".join(p.text for p in read).encode() == b"".join(commits)
    assert all("/open/" in p.path and p.line_offset == 0 for p in read)
    assert not errors

    # A reader starting now reads the sealed segments whole, then the open files.
    fresh = LogCursor(S).advance(clone.objects, files, errors)
    assert [p.path for p in fresh][:2] == [sealed_path(S, 0), sealed_path(S, 1)]
    assert "".join(p.text for p in fresh).encode() == b"".join(commits)


def test_a_rewritten_open_segment_is_read_again_from_its_start(clone: Clone) -> None:
    own = OwnLog(clone.objects, S)
    for n in range(3):
        own.append(lines(n, 1))
    _, files = committed(clone, None, own)
    cursor = LogCursor(S)
    errors: list[GitSyncError] = []
    cursor.advance(clone.objects, files, errors)
    other = OwnLog(clone.objects, S)  # the same session's files, written otherwise
    other.append(lines(0, 1))
    other.append(lines(7, 1))
    _, rewritten = committed(clone, None, other)
    again = cursor.advance(clone.objects, rewritten, errors)
    assert "".join(p.text for p in again).encode() == lines(0, 1) + lines(7, 1)


def test_an_old_layout_log_is_read_first_and_never_written_again(clone: Clone) -> None:
    old = lines(0, 4)
    base = clone.commit_files(None, {legacy_log_path(S): old}, "a node before segments")
    cursor = LogCursor(S)
    errors: list[GitSyncError] = []
    root = clone.root_tree(base)
    first = cursor.advance(clone.objects, log_files_of(clone.objects, root, S), errors)
    assert [(p.path, p.text.encode()) for p in first] == [(legacy_log_path(S), old)]

    # An old node appends in place: only the new lines are read, a partial one waits.
    grown = clone.commit_files(base, {legacy_log_path(S): old + lines(4, 1) + b'{"n":5'}, "old")
    files = log_files_of(clone.objects, clone.root_tree(grown), S)
    assert [p.text.encode() for p in cursor.advance(clone.objects, files, errors)] == [lines(4, 1)]

    # This version resumes from it and appends in segments; the old file stays as it was.
    own = OwnLog(clone.objects, S)
    contents = own.load(clone.root_tree(base))
    assert contents == [(legacy_log_path(S), old)]
    own.append(lines(4, 2))
    tip, files = committed(clone, base, own)
    assert clone.read(tip, legacy_log_path(S)) == old
    assert clone.read(tip, open_path(S, 0)) == lines(4, 2)
    fresh = LogCursor(S).advance(clone.objects, files, errors)
    assert "".join(p.text for p in fresh).encode() == old + lines(4, 2)
    assert not errors


def test_a_log_file_nobody_owns_is_removed_with_its_empty_directory(clone: Clone) -> None:
    forged = clone.commit_files(None, {legacy_log_path(S): lines(0, 1), "README": b"x\n"}, "f")
    own = OwnLog(clone.objects, S)  # this session never wrote a line
    tip = clone.commit_files(forged, own.changes(), "ours again")
    assert clone.read(tip, legacy_log_path(S)) is None
    assert clone.objects.lookup(clone.root_tree(tip), log_dir(S)) is None
    assert clone.objects.lookup(clone.root_tree(tip), ".ifmesh") is None
    assert clone.read(tip, "README") == b"x\n"
