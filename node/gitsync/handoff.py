"""The objects of a landed push, carried in its landing hint: the next writer needs no fetch.

On a busy branch every writer's turn begins with a fetch of the commits the writer before it has
just landed (on 2 cores with 8 writers, ~35 ms of the ~100 ms between two landings). But the lander
holds exactly those objects — it has just built them — and they are small: a commit, the trees on
the way to the files it changed, and the files: its STATUS and the new file of its log, with only
the lines it appended (:mod:`ifmesh.node.gitsync.segments`). So the landing hint carries them
(:mod:`ifmesh.node.gitsync.hints`), zlib-compressed, and a peer whose view of the branch is the new
commit's parent stores them and builds on the new tip at once. A commit that seals a segment of
its log carries the sealed file as the list of the open segment's files it joins (a *joined*
record), which the peer holds already, plus the lines that were never on the branch, if any.

Nothing is taken on trust: every object is stored under the sha of its own content (a joined
file must come out as the sha it names, from files the hint or the clone holds), the hinted
tip must be one of them, and its first parent must be the tip this clone already has, so the
new tip's history is complete here. A hint that is stale by the time it is used (the branch
moved again) only loses a race, and the next attempt fetches.
"""

from __future__ import annotations

import struct
import zlib

from gitdb.exc import BadObject  # type: ignore[import-untyped]

from ifmesh.node.gitsync import segments
from ifmesh.node.gitsync.clone import Clone
from ifmesh.node.gitsync.objects import TREE_MODE, is_sha

# A hint is one data-channel frame, which browsers promise up to 16 KiB, and base64 takes a
# third more; past this the hint goes without objects and the next writer fetches.
MAX_BYTES = 11 * 1024
_MAX_INFLATED = 1 << 20
_MAX_JOINED = 16 << 20
_KINDS = {b"c": b"commit", b"t": b"tree", b"b": b"blob", b"j": b"joined"}
_CODES = {kind: code for code, kind in _KINDS.items()}
_HEADER = struct.Struct(">cI")


def export(clone: Clone, tip: str, since: str) -> bytes | None:
    """The objects ``since..tip`` (along first parents) added, compressed; None when they
    would not fit in a hint, or when ``since`` is not below ``tip``."""
    packed = pack(clone, tip, since)
    return packed if packed is not None and len(packed) <= MAX_BYTES else None


def pack(clone: Clone, tip: str, since: str) -> bytes | None:
    """What :func:`export` would carry, whatever its size (benchmarks report it)."""
    history = clone.first_parent_history(tip, since)
    if history is None or not history or len(history) > 16:
        return None
    objects = clone.objects
    parts: list[bytes] = []
    for commit in history:
        head = objects.commit(bytes.fromhex(commit.sha))
        parts.append(_record(b"commit", objects.raw(bytes.fromhex(commit.sha))))
        before = objects.commit(head.parents[0]).tree if head.parents else None
        _changed(clone, head.tree, before, parts, "", before)
    return zlib.compress(b"".join(parts), 6)


def unpack(packed: bytes) -> list[tuple[bytes, bytes]] | None:
    """The records of a hint's objects, (kind, body) in order (``joined`` for a file given as
    the files it joins); None when they are not a landing's objects as :func:`pack` makes them."""
    inflate = zlib.decompressobj()
    try:
        data = inflate.decompress(packed, _MAX_INFLATED)
    except zlib.error:
        return None
    if inflate.unconsumed_tail:
        return None  # more than a landing's objects: not from a bridge
    records = []
    offset = 0
    while offset < len(data):
        if len(data) - offset < _HEADER.size:
            return None
        code, size = _HEADER.unpack_from(data, offset)
        offset += _HEADER.size
        kind = _KINDS.get(code)
        if kind is None or len(data) - offset < size:
            return None
        records.append((kind, data[offset : offset + size]))
        offset += size
    return records


def take(clone: Clone, tip: str, packed: bytes) -> bool:
    """Stores the objects of a hint whose tip builds on this clone's view of the branch;
    True when ``tip`` is complete here now. Anything else (a stale or corrupt hint) is left."""
    records = unpack(packed)
    if records is None:
        return False
    blobs = {clone.objects.sha_of(kind, body): body for kind, body in records if kind == b"blob"}
    for index, (kind, body) in enumerate(records):
        if kind == b"joined":
            joined = _join(clone, body, blobs)
            if joined is None:
                return False
            records[index] = (b"blob", joined)
    commits = {
        clone.objects.sha_of(kind, body): body for kind, body in records if kind == b"commit"
    }
    # The hinted commits must lead, along first parents, from the tip down to ours.
    ours = clone.ref(clone.remote_ref)
    head = commits.get(bytes.fromhex(tip))
    while head is not None:
        parent = _first_parent(head)
        if parent is not None and parent == ours:
            break
        head = commits.pop(bytes.fromhex(parent), None) if parent is not None else None
    if head is None:
        return False
    for kind, body in records:
        clone.objects.store(kind, body)
    return True


def _record(kind: bytes, body: bytes) -> bytes:
    return _HEADER.pack(_CODES[kind], len(body)) + body


def _changed(
    clone: Clone,
    tree: bytes,
    before: bytes | None,
    parts: list[bytes],
    path: str,
    parent_root: bytes | None,
) -> None:
    """``tree`` (at ``path``) and everything under it that ``before`` (the same place in the
    parent, whose whole tree is ``parent_root``) lacks."""
    if tree == before:
        return
    objects = clone.objects
    parts.append(_record(b"tree", objects.raw(tree)))
    old = {name: (sha, mode) for sha, mode, name in objects.tree(before)} if before else {}
    for sha, mode, name in objects.tree(tree):
        previous = old.get(name)
        if previous is not None and previous[0] == sha:
            continue
        if mode == TREE_MODE:
            earlier = previous[0] if previous is not None and previous[1] == TREE_MODE else None
            _changed(clone, sha, earlier, parts, f"{path}{name}/", parent_root)
        else:
            parts.append(_blob(clone, sha, f"{path}{name}", parent_root))


def _blob(clone: Clone, sha: bytes, path: str, parent_root: bytes | None) -> bytes:
    """A file's record: a sealed segment of a log as the parent's open files it joins, plus
    the lines that never were on the branch (commits sealed before they landed)."""
    objects = clone.objects
    data = objects.raw(sha)
    session = segments.sealed_session(path)
    if session is not None and parent_root is not None:
        files = segments.log_files_of(objects, parent_root, session)
        chunks = [blob for _, blob in segments.segments_of(objects, files.tree).open]
        start = b"".join(objects.raw(chunk) for chunk in chunks)
        if chunks and data.startswith(start):
            count = struct.pack(">H", len(chunks))
            return _record(b"joined", sha + count + b"".join(chunks) + data[len(start) :])
    return _record(b"blob", data)


def _join(clone: Clone, body: bytes, blobs: dict[bytes, bytes]) -> bytes | None:
    """The file a joined record names, from files in the hint or the clone; None when one is
    missing or the result is not the file named."""
    if len(body) < 22:
        return None
    target = body[:20]
    (count,) = struct.unpack_from(">H", body, 20)
    end = 22 + 20 * count
    if len(body) < end:
        return None
    parts: list[bytes] = []
    size = len(body) - end
    for offset in range(22, end, 20):
        sha = body[offset : offset + 20]
        part = blobs.get(sha)
        if part is None:
            try:
                part = clone.objects.raw(sha)
            except (BadObject, ValueError, OSError):
                return None  # not here: the next push fetches
        size += len(part)
        if size > _MAX_JOINED:
            return None
        parts.append(part)
    data = b"".join(parts) + body[end:]
    return data if clone.objects.sha_of(b"blob", data) == target else None


def _first_parent(commit: bytes) -> str | None:
    """The raw commit's first parent (None for a root commit, or if unreadable)."""
    for line in commit.split(b"\n"):
        if line.startswith(b"parent "):
            text = line[7:].decode("ascii", "replace")
            return text if is_sha(text) else None
        if not line:
            break
    return None
