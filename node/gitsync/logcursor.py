"""How far a reader has read one session's log, so each read of the branch parses only what
is new in it.

A log is a whole-file log of the old layout, sealed segments and the open segment's files
(:mod:`ifmesh.node.gitsync.segments`). :meth:`LogCursor.advance` compares the log at a new tip
with what was read and returns the new text, piece by piece, with the file and line it starts
at: the open segment's files not read yet; a sealed segment in full, or from where its
lines were read while it was open (the bytes read are checked by digest, so a rewritten
segment is read again from its start, and the board drops the events it holds already); the
old-layout file from where it was read. A session whose directory and file are both unchanged
costs nothing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import NamedTuple

from ifmesh.node.gitsync.errors import GitSyncError, MalformedLogLine
from ifmesh.node.gitsync.objects import ObjectStore
from ifmesh.node.gitsync.paths import legacy_log_path
from ifmesh.node.gitsync.segments import (
    LogFiles,
    Segments,
    open_path,
    sealed_path,
    segments_of,
)


class Piece(NamedTuple):
    path: str
    line_offset: int  # lines of the file before this text
    text: str
    sealed: bytes | None = None  # the blob, when this is a whole sealed segment


@dataclass
class _Read:
    """What was read of one file, or of the open segment's files joined."""

    blobs: tuple[bytes, ...] = ()
    lines: int = 0
    consumed: int = 0
    digest: hashlib._Hash = field(default_factory=hashlib.sha256)

    def took(self, blob: bytes, data: bytes) -> None:
        self.blobs += (blob,)
        self.lines += data.count(b"\n")
        self.consumed += len(data)
        self.digest.update(data)

    def continues(self, data: bytes) -> bool:
        """Whether ``data`` starts with exactly the bytes read."""
        return (
            self.consumed <= len(data)
            and hashlib.sha256(data[: self.consumed]).digest() == self.digest.digest()
        )


class LogCursor:
    def __init__(self, session: str) -> None:
        self.session = session
        self._seen = LogFiles(session)
        self._legacy = _Read()
        self._sealed: dict[int, bytes] = {}  # sealed segments read in full: number → blob
        self._open_number = 0
        self._open = _Read()

    def advance(
        self, objects: ObjectStore, files: LogFiles, errors: list[GitSyncError]
    ) -> list[Piece]:
        return list(self.pieces(objects, files, errors))

    def pieces(
        self, objects: ObjectStore, files: LogFiles, errors: list[GitSyncError]
    ) -> Iterator[Piece]:
        """:meth:`advance`, a piece at a time: a reader that parses each piece before asking
        for the next holds one segment's text, not a day's log (the cursor has moved past
        everything taken once the iterator is exhausted)."""
        if files.legacy is not None and files.legacy != self._seen.legacy:
            pieces: list[Piece] = []
            self._advance_legacy(objects.blob(files.legacy), files.legacy, pieces, errors)
            yield from pieces
        if files.tree is not None and files.tree != self._seen.tree:
            yield from self._advance_segments(objects, segments_of(objects, files.tree), errors)
        self._seen = files

    def _advance_legacy(
        self, data: bytes, blob: bytes, pieces: list[Piece], errors: list[GitSyncError]
    ) -> None:
        read = self._legacy
        if not read.continues(data):
            read = _Read()
        # An old-layout file was appended to in place: a last line without its newline was
        # still being written, and waits for it.
        end = data.rfind(b"\n", read.consumed) + 1 or read.consumed
        path = legacy_log_path(self.session)
        _decoded(path, read.lines, data[read.consumed : end], pieces, errors)
        read.took(blob, data[read.consumed : end])
        self._legacy = read

    def _advance_segments(
        self, objects: ObjectStore, segments: Segments, errors: list[GitSyncError]
    ) -> Iterator[Piece]:
        pieces: list[Piece] = []
        for number, blob in segments.sealed:
            if self._sealed.get(number) == blob:
                continue
            data = objects.blob(blob)
            read = self._open if number == self._open_number else _Read()
            start, lines = (read.consumed, read.lines) if read.continues(data) else (0, 0)
            whole = blob if start == 0 else None
            _decoded(sealed_path(self.session, number), lines, data[start:], pieces, errors, whole)
            self._sealed[number] = blob
            yield from pieces
            pieces.clear()
        number = segments.open_number
        read = self._open
        chunks = tuple(blob for _, blob in segments.open)
        if number != self._open_number or chunks[: len(read.blobs)] != read.blobs:
            read = _Read()  # a new open segment (or a rewritten one: read again)
        for chunk, blob in segments.open[len(read.blobs) :]:
            data = objects.blob(blob)
            _decoded(open_path(self.session, chunk), 0, data, pieces, errors)
            read.took(blob, data)
        self._open_number, self._open = number, read
        yield from pieces


def _decoded(
    path: str,
    line_offset: int,
    data: bytes,
    pieces: list[Piece],
    errors: list[GitSyncError],
    sealed: bytes | None = None,
) -> None:
    if not data:
        return
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        errors.append(
            MalformedLogLine(
                f"not UTF-8 ({exc.reason}); the new part of this log file is skipped",
                path=path,
                line=line_offset + 1,
            )
        )
        return
    if not text.endswith("\n"):
        text += "\n"  # segment files are never appended to: their last line is whole
    pieces.append(Piece(path, line_offset, text, sealed))
