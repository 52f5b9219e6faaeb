"""Git objects read and written in-process, parsed once and cached by their (immutable) sha.

The bridge reads a handful of small objects many times (its own log and STATUS, the trees on
the way to them) and writes a few per commit. GitPython would ask a `git cat-file` helper
for each read and start `git hash-object` for each commit; here loose objects are read and
written through gitdb in-process, and only objects inside pack files (what a fetch brought
in bulk) go through GitPython's helper.
"""

# Object paths are str on purpose (ObjectStore.__init__): pathlib interns every name it parses.
# ruff: noqa: PTH103, PTH105, PTH108, PTH110

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import zlib
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime
from io import BytesIO
from typing import Any, NamedTuple

import git
from git.objects.fun import tree_entries_from_data, tree_to_stream
from gitdb.db.loose import LooseObjectDB  # type: ignore[import-untyped]
from gitdb.exc import BadObject  # type: ignore[import-untyped]

TREE_MODE = 0o040000
BLOB_MODE = 0o100644
Entry = tuple[bytes, int, str]  # (binsha, mode, name), as git stores a tree entry
# The caches below are bounded so that a node's memory does not grow with the room's history
# (a soak's node parsed thousands of trees and commits). What is read again soon is the tips'
# trees, a few STATUS files and the board: far below these bounds. Each is least recently used
# first out; at 4,096 trees and 4 MB of blobs they were a fifth of what a soak's node gained.
_BLOB_CACHE_BYTES = 1 << 20
_PARSED_KEPT = 1024  # trees, and commits (a fetch's walk reads a few dozen)
_SHA = re.compile(r"[0-9a-f]{40}")


class Graft(NamedTuple):
    """An object already in the store, put at a path as it is (a tree: a whole directory)."""

    binsha: bytes
    mode: int


@dataclass(frozen=True)
class CommitHead:
    tree: bytes
    parents: tuple[bytes, ...]
    committed_at: datetime
    message: str


class ObjectStore:
    def __init__(self, repo: git.Repo) -> None:
        self._repo = repo
        # A str, not a Path: pathlib interns every part of every path it parses, and each
        # object written is a new name (the interned table grew 1.9 MB in a 3-minute run).
        self._objects = f"{repo.git_dir}/objects"
        self._loose = LooseObjectDB(self._objects)
        self._folders: set[str] = set()  # fan-out folders known to exist
        self._written = 0
        self._trees: OrderedDict[bytes, tuple[Entry, ...]] = OrderedDict()
        self._commits: OrderedDict[bytes, CommitHead] = OrderedDict()
        self._blobs: OrderedDict[bytes, bytes] = OrderedDict()
        self._blob_bytes = 0

    # --- reading ---------------------------------------------------------------------------

    def raw(self, binsha: bytes) -> bytes:
        try:
            data: bytes = self._loose.stream(binsha).read()
        except (BadObject, OSError):
            data = self._repo.odb.stream(binsha).read()  # packed: git's helper
        return data

    def commit(self, binsha: bytes) -> CommitHead:
        head = self._commits.get(binsha)
        if head is None:
            head = _parse_commit(self.raw(binsha))
            self._remember_commit(binsha, head)
        else:
            _touch(self._commits, binsha)
        return head

    def tree(self, binsha: bytes) -> tuple[Entry, ...]:
        entries = self._trees.get(binsha)
        if entries is None:
            entries = tuple(tree_entries_from_data(self.raw(binsha)))
            self._remember_tree(binsha, entries)
        else:
            _touch(self._trees, binsha)
        return entries

    def blob(self, binsha: bytes) -> bytes:
        data = self._blobs.get(binsha)
        if data is None:
            data = self.raw(binsha)
            self._remember_blob(binsha, data)
        else:
            _touch(self._blobs, binsha)
        return data

    def lookup(self, tree: bytes, path: str) -> Entry | None:
        """The entry at ``path`` (``a/b/c``) under ``tree``."""
        entry: Entry | None = None
        current = tree
        for part in path.split("/"):
            if entry is not None:
                if entry[1] != TREE_MODE:
                    return None
                current = entry[0]
            entry = next((e for e in self.tree(current) if e[2] == part), None)
            if entry is None:
                return None
        return entry

    # --- writing ---------------------------------------------------------------------------

    @staticmethod
    def sha_of(kind: bytes, data: bytes) -> bytes:
        """The sha git gives an object of ``kind`` holding ``data``."""
        return _sha(kind, data)

    def store(self, kind: bytes, data: bytes) -> bytes:
        """Writes a loose object as git does (zlib level 1, a temporary file renamed into
        place). gitdb's writer takes ~1 ms an object on this VM, a third of it in mkstemp's
        name hunting; this one ~0.4 ms, and a peer's landing hint brings six objects."""
        binsha = _sha(kind, data)
        hexsha = binsha.hex()
        folder = f"{self._objects}/{hexsha[:2]}"
        path = f"{folder}/{hexsha[2:]}"
        # Replays write the same files again onto a new base: skip what is already there.
        if os.path.exists(path):
            return binsha
        if hexsha[:2] not in self._folders:
            os.makedirs(folder, exist_ok=True)
            self._folders.add(hexsha[:2])
        self._written += 1
        temp = f"{self._objects}/tmp_obj_ifmesh_{os.getpid()}_{self._written}"
        try:
            fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o444)
        except FileExistsError:  # left by a crashed process that had our pid
            os.unlink(temp)
            fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o444)
        try:
            compressed = memoryview(zlib.compress(b"%s %d\0" % (kind, len(data)) + data, 1))
            while compressed:
                compressed = compressed[os.write(fd, compressed) :]
        finally:
            os.close(fd)
        os.replace(temp, path)
        return binsha

    def write_tree(self, entries: list[Entry]) -> bytes:
        # git orders entries by name, a directory's name taken with a trailing '/'.
        ordered = sorted(entries, key=lambda e: e[2] + "/" if e[1] == TREE_MODE else e[2])
        out = BytesIO()
        tree_to_stream(ordered, out.write)
        binsha = self.store(b"tree", out.getvalue())
        self._remember_tree(binsha, tuple(ordered))
        return binsha

    def write_commit(
        self,
        tree: bytes,
        parents: list[bytes],
        message: str,
        author: git.Actor,
        committer: git.Actor,
        when: datetime,
    ) -> bytes:
        stamp = f"{int(when.timestamp())} +0000"
        lines = [f"tree {tree.hex()}"]
        lines += [f"parent {parent.hex()}" for parent in parents]
        lines.append(f"author {author.name} <{author.email}> {stamp}")
        lines.append(f"committer {committer.name} <{committer.email}> {stamp}")
        text = "\n".join(lines) + "\n\n" + message.rstrip("\n") + "\n"
        binsha = self.store(b"commit", text.encode())
        head = CommitHead(
            tree,
            tuple(parents),
            datetime.fromtimestamp(int(when.timestamp()), UTC),
            message.split("\n", 1)[0],
        )
        self._remember_commit(binsha, head)
        return binsha

    # --- caches ----------------------------------------------------------------------------

    def _remember_commit(self, binsha: bytes, head: CommitHead) -> None:
        self._commits[binsha] = head
        if len(self._commits) > _PARSED_KEPT:
            self._commits.popitem(last=False)

    def _remember_tree(self, binsha: bytes, entries: tuple[Entry, ...]) -> None:
        self._trees[binsha] = entries
        if len(self._trees) > _PARSED_KEPT:
            self._trees.popitem(last=False)

    def _remember_blob(self, binsha: bytes, data: bytes) -> None:
        self._blobs[binsha] = data
        self._blob_bytes += len(data)
        while self._blob_bytes > _BLOB_CACHE_BYTES and self._blobs:
            _, dropped = self._blobs.popitem(last=False)
            self._blob_bytes -= len(dropped)


def _touch(cache: OrderedDict[bytes, Any], binsha: bytes) -> None:
    """Marks ``binsha`` as just used; a read racing another thread's eviction of it is fine
    (it was read already), never a KeyError in the git thread."""
    with contextlib.suppress(KeyError):
        cache.move_to_end(binsha)


def is_sha(text: str) -> bool:
    """Whether ``text`` names an object as git writes it: 40 lower-case hex digits."""
    return _SHA.fullmatch(text) is not None


def blob_sha(data: bytes) -> str:
    """The sha git gives ``data`` as a file: compares a file in a commit without reading it."""
    return _sha(b"blob", data).hex()


def _sha(kind: bytes, data: bytes) -> bytes:
    return hashlib.sha1(b"%s %d\0" % (kind, len(data)) + data).digest()


def _parse_commit(data: bytes) -> CommitHead:
    header, _, message = data.partition(b"\n\n")
    tree = b""
    parents: list[bytes] = []
    committed = 0
    for line in header.split(b"\n"):
        key, _, value = line.partition(b" ")
        if key == b"tree":
            tree = bytes.fromhex(value.decode())
        elif key == b"parent":
            parents.append(bytes.fromhex(value.decode()))
        elif key == b"committer":
            committed = int(value.rsplit(b" ", 2)[-2])
    subject = message.decode("utf-8", "replace").split("\n", 1)[0]
    return CommitHead(tree, tuple(parents), datetime.fromtimestamp(committed, UTC), subject)
