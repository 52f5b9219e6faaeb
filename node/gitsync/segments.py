"""A session's event log on the branch, in segments: a commit writes what it appends, no more.

Measured with benchmarks/longlog.py (issue 22): while each session's log was one file that
every commit rewrote whole, a landing on a branch whose logs held a Phase-0 day (20,000 signed
events, 15 MB a log) took p99 6.7 s against 0.11 s with fresh logs in the same run (63x):
every commit wrote, every push sent and every fetch resolved the whole file, and a landing's
objects came to 2.5 MB compressed, too many for a turn hint, so the next writer fetched.
So the log is laid out in files that never change once written, under
``.ifmesh/log/<session>/``::

    open/000000.jsonl, open/000001.jsonl, …      the open segment: one file per commit,
                                                  with the lines that commit appended
    sealed/0000/000000.jsonl, …                   sealed segments, never changed again
                                                  (segment n in group n // GROUP)

Before a commit appends, an open segment of :data:`SEAL_CHUNKS` files or :data:`SEAL_BYTES`
is sealed: its files joined in order become the next sealed segment (numbered from 0), and
the open segment starts again at ``000000``. A log's lines, in order: the whole-file log of
the layout before segments when there is one (``.ifmesh/log/<session>.jsonl``: read, never
written again), the sealed segments by number, then the open segment's files by number. Each
file holds whole lines, one canonical IFMessage each (:mod:`ifmesh.node.gitsync.eventlog`).

What one commit writes is bounded however long the log grows: its own lines, the open
segment's tree (at most SEAL_CHUNKS entries) and the trees above it; a commit that seals also
writes the sealed segment and one group's tree (at most GROUP entries). The group level keeps
the trees a commit rewrites small: the sealed directory gains one entry per GROUP segments. A
landing hint carries a sealed segment as the list of the open files it joins, which every
peer holds already (:mod:`ifmesh.node.gitsync.handoff`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from ifmesh.node.gitsync.clone import FileChange
from ifmesh.node.gitsync.objects import BLOB_MODE, TREE_MODE, Entry, Graft, ObjectStore
from ifmesh.node.gitsync.paths import LOG_DIR, legacy_log_path, log_dir, session_of_log_entry

SEAL_CHUNKS = 32  # an open tree of 32 entries is ~1.2 KB, carried by every landing hint
SEAL_BYTES = 256 * 1024  # bounds what a reader re-hashes of the open segment per read
GROUP = 64
OPEN = "open"
SEALED = "sealed"
_FILE = re.compile(r"^(\d{6,9})\.jsonl$")
_GROUP = re.compile(r"^\d{4,9}$")
_NUMBERED: dict[bytes, tuple[tuple[int, bytes], ...]] = {}  # tree sha → its numbered files
_NUMBERED_KEPT = 512  # the tips' open and group trees of every session, many times over
_SEALED_PATH = re.compile(rf"^{re.escape(LOG_DIR)}/([^/]+)/{SEALED}/\d{{4,9}}/\d{{6,9}}\.jsonl$")


def file_name(number: int) -> str:
    return f"{number:06d}.jsonl"


def group_name(segment: int) -> str:
    return f"{segment // GROUP:04d}"


def open_path(session: str, number: int) -> str:
    return f"{log_dir(session)}/{OPEN}/{file_name(number)}"


def sealed_path(session: str, number: int) -> str:
    return f"{log_dir(session)}/{SEALED}/{group_name(number)}/{file_name(number)}"


def full(files: int, size: int) -> bool:
    """Whether an open segment of ``files`` files and ``size`` bytes is sealed before the next
    commit appends."""
    return files >= SEAL_CHUNKS or size >= SEAL_BYTES


def lay_out(session: str, commits: Iterable[bytes]) -> dict[str, bytes]:
    """The files of a log whose commits appended ``commits`` in turn, as :class:`OwnLog`
    writes them (for benchmarks and tests that start from a grown log)."""
    files: dict[str, bytes] = {}
    sealed = 0
    chunks: list[bytes] = []
    for lines in commits:
        if not lines:
            continue
        if chunks and full(len(chunks), sum(map(len, chunks))):
            files[sealed_path(session, sealed)] = b"".join(chunks)
            sealed, chunks = sealed + 1, []
        chunks.append(lines)
    files.update((open_path(session, n), lines) for n, lines in enumerate(chunks))
    return files


def sealed_session(path: str) -> str | None:
    """The session whose sealed segment is at ``path``; None for any other path."""
    match = _SEALED_PATH.match(path)
    return match.group(1) if match else None


@dataclass(frozen=True)
class LogFiles:
    """Where one session's log is at one commit (object ids, binary): the whole file of the
    old layout and the directory of segments, either or both."""

    session: str
    legacy: bytes | None = None
    tree: bytes | None = None


@dataclass(frozen=True)
class Segments:
    sealed: tuple[tuple[int, bytes], ...] = ()  # (number, blob), by number
    open: tuple[tuple[int, bytes], ...] = ()

    @property
    def open_number(self) -> int:
        """The number the open segment will have once sealed."""
        return self.sealed[-1][0] + 1 if self.sealed else 0


def log_files(objects: ObjectStore, root: bytes) -> dict[str, LogFiles]:
    """Every session's log in the tree ``root``, by session."""
    entry = objects.lookup(root, LOG_DIR)
    if entry is None or entry[1] != TREE_MODE:
        return {}
    found: dict[str, LogFiles] = {}
    for sha, mode, name in objects.tree(entry[0]):
        is_dir = mode == TREE_MODE
        session = session_of_log_entry(name, is_dir)
        if session is None:
            continue
        before = found.get(session, LogFiles(session))
        if is_dir:
            found[session] = LogFiles(session, before.legacy, sha)
        else:
            found[session] = LogFiles(session, sha, before.tree)
    return found


def log_files_of(objects: ObjectStore, root: bytes | None, session: str) -> LogFiles:
    if root is None:
        return LogFiles(session)
    legacy = objects.lookup(root, legacy_log_path(session))
    tree = objects.lookup(root, log_dir(session))
    return LogFiles(
        session,
        legacy[0] if legacy is not None and legacy[1] != TREE_MODE else None,
        tree[0] if tree is not None and tree[1] == TREE_MODE else None,
    )


def segments_of(objects: ObjectStore, tree: bytes | None) -> Segments:
    """The segments in a session's directory; files with other names are not the log's."""
    if tree is None:
        return Segments()
    sealed: list[tuple[int, bytes]] = []
    chunks: tuple[tuple[int, bytes], ...] = ()
    for sha, mode, name in objects.tree(tree):
        if mode != TREE_MODE:
            continue
        if name == OPEN:
            chunks = _numbered(objects, sha)
        elif name == SEALED:
            for group, group_mode, group_label in objects.tree(sha):
                if group_mode == TREE_MODE and _GROUP.match(group_label):
                    sealed += _numbered(objects, group)
    return Segments(tuple(sorted(sealed)), chunks)


def files_in_order(
    objects: ObjectStore, files: LogFiles, segments: Segments | None = None
) -> list[tuple[str, bytes]]:
    """(path, blob) of every file of the log, in the log's order."""
    segments = segments or segments_of(objects, files.tree)
    ordered = [(legacy_log_path(files.session), files.legacy)] if files.legacy else []
    ordered += [(sealed_path(files.session, n), sha) for n, sha in segments.sealed]
    ordered += [(open_path(files.session, n), sha) for n, sha in segments.open]
    return ordered


def _numbered(objects: ObjectStore, tree: bytes) -> tuple[tuple[int, bytes], ...]:
    # A tree's sha names its content: a full group is listed once, however often it is read.
    found = _NUMBERED.get(tree)
    if found is None:
        files = []
        for sha, mode, name in objects.tree(tree):
            match = _FILE.match(name)
            if match and mode != TREE_MODE:
                files.append((int(match.group(1)), sha))
        found = tuple(sorted(files))
        if len(_NUMBERED) >= _NUMBERED_KEPT:
            _NUMBERED.clear()
        _NUMBERED[tree] = found
    return found


class OwnLog:
    """This session's log as its bridge writes it: a commit's lines become one new file of the
    open segment (sealed first when full), and the directory's tree is built here, so a commit
    puts it on the branch whole (:meth:`changes`) and a replay onto another tip costs nothing.
    Knows which files are its own (:attr:`known`) and which lines (:meth:`holds`), to tell
    another writer's lines on the branch from its own."""

    def __init__(self, objects: ObjectStore, session: str) -> None:
        self._objects = objects
        self.session = session
        self.legacy: bytes | None = None
        self.tree: bytes | None = None
        self._group_trees: dict[int, bytes] = {}
        self._last_group: list[Entry] = []  # the entries of the highest group
        self._sealed = 0  # segments sealed: the open one's number
        self._open: list[tuple[int, bytes, bytes]] = []  # (number, blob, lines)
        self.known: set[bytes] = set()  # every file of this log seen here
        self._trees: set[bytes] = set()  # every state of its directory written or loaded here
        self._lines: set[bytes] | None = None

    def load(self, root: bytes | None) -> list[tuple[str, bytes]]:
        """Takes the log as the tree ``root`` holds it; returns each file's path and content,
        in the log's order."""
        objects = self._objects
        files = log_files_of(objects, root, self.session)
        segments = segments_of(objects, files.tree)
        self.legacy, self.tree = files.legacy, files.tree
        if files.tree is not None:
            self._trees.add(files.tree)
        self._lines = None
        ordered = files_in_order(objects, files, segments)
        contents = [(path, objects.blob(sha)) for path, sha in ordered]
        self.known.update(sha for _, sha in ordered)
        self._sealed = segments.open_number
        self._group_trees = _group_trees(objects, files.tree)
        last = (self._sealed - 1) // GROUP if self._sealed else None
        self._last_group = [
            (sha, BLOB_MODE, file_name(n)) for n, sha in segments.sealed if n // GROUP == last
        ]
        self._open = [(n, sha, objects.blob(sha)) for n, sha in segments.open]
        return contents

    def append(self, lines: bytes) -> None:
        if not lines:
            return
        if self._open and full(len(self._open), sum(len(c) for _, _, c in self._open)):
            self._seal()
        number = self._open[-1][0] + 1 if self._open else 0
        sha = self._objects.store(b"blob", lines)
        self._open.append((number, sha, lines))
        self.known.add(sha)
        if self._lines is not None:
            self._lines.update(lines.split(b"\n"))
        self.tree = self._write_dir()
        if self.tree is not None:
            self._trees.add(self.tree)

    def changes(self) -> dict[str, FileChange]:
        """What a commit sets so the branch holds this log exactly as written here."""
        legacy = Graft(self.legacy, BLOB_MODE) if self.legacy is not None else None
        tree = Graft(self.tree, TREE_MODE) if self.tree is not None else None
        return {legacy_log_path(self.session): legacy, log_dir(self.session): tree}

    def matches(self, files: LogFiles) -> bool:
        return files.legacy == self.legacy and files.tree == self.tree

    def written(self, files: LogFiles) -> bool:
        """Whether ``files`` are this log as it was at some point here (an earlier state on the
        branch, before pending commits land): nothing in them to look into."""
        legacy_ours = files.legacy is None or files.legacy in self.known
        return legacy_ours and (files.tree is None or files.tree in self._trees)

    def holds(self, line: bytes) -> bool:
        """Whether ``line`` is one of this log's (the set is built on first use)."""
        if self._lines is None:
            objects = self._objects
            files = LogFiles(self.session, self.legacy, self.tree)
            self._lines = set()
            for _, sha in files_in_order(objects, files):
                self._lines.update(objects.blob(sha).split(b"\n"))
        return line in self._lines

    def _seal(self) -> None:
        objects = self._objects
        number = self._sealed
        sha = objects.store(b"blob", b"".join(lines for _, _, lines in self._open))
        self.known.add(sha)
        if number % GROUP == 0:
            self._last_group = []  # a new group begins
        self._last_group.append((sha, BLOB_MODE, file_name(number)))
        self._group_trees[number // GROUP] = objects.write_tree(list(self._last_group))
        self._sealed += 1
        self._open = []

    def _write_dir(self) -> bytes | None:
        objects = self._objects
        entries: list[Entry] = []
        if self._open:
            chunks = [(sha, BLOB_MODE, file_name(n)) for n, sha, _ in self._open]
            entries.append((objects.write_tree(chunks), TREE_MODE, OPEN))
        if self._group_trees:
            groups = [(sha, TREE_MODE, f"{g:04d}") for g, sha in sorted(self._group_trees.items())]
            entries.append((objects.write_tree(groups), TREE_MODE, SEALED))
        return objects.write_tree(entries) if entries else None


def _group_trees(objects: ObjectStore, tree: bytes | None) -> dict[int, bytes]:
    if tree is None:
        return {}
    for sha, mode, name in objects.tree(tree):
        if name == SEALED and mode == TREE_MODE:
            return {
                int(label): group
                for group, group_mode, label in objects.tree(sha)
                if group_mode == TREE_MODE and _GROUP.match(label)
            }
    return {}
