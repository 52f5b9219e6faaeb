"""Sealed log segments this node has verified already, kept in its state directory, so that a
restart does not check every signature of a day's logs again.

A sealed segment never changes once written (:mod:`ifmesh.node.gitsync.segments`): its blob id
names its bytes. Once every event of one was accepted under the key pinned for its session,
reading the same blob under the same pinned key accepts the same events, so a restart takes
them without the signature checks (on a Phase-0 day of logs, most of a start's CPU after the
parsing). A segment read in part, a key pinned since (a rotation), an event held or refused:
each is checked event by event as before.

The file (``verified-segments``) holds one line per segment, ``SESSION BLOB KEY``, appended
as segments are verified. A line that does not read is skipped: at worst a segment is
checked again. What this trusts is the state directory, which holds the session's own key.
"""

from __future__ import annotations

import re
from pathlib import Path

import structlog

log = structlog.get_logger(__name__)

FILE = "verified-segments"
# A day of 8 sessions' logs seals a few hundred segments; the file is cut back to its newest
# lines when it outgrows this (older segments are then checked again on a restart).
LIMIT = 65_536
_LINE = re.compile(r"^(\S{1,128}) ([0-9a-f]{40}) (\S{1,256})$")


class VerifiedSegments:
    def __init__(self, state_dir: Path) -> None:
        self._path = state_dir / FILE
        self._where = str(self._path)
        self._keys: dict[tuple[str, bytes], str] = {}  # (session, blob) → the key it verified
        self._load()

    def key_for(self, session: str, blob: bytes) -> str | None:
        """The pinned key (its text) under which every event of ``blob`` was accepted."""
        return self._keys.get((session, blob))

    def add(self, session: str, blob: bytes, key: str) -> None:
        if self._keys.get((session, blob)) == key:
            return
        self._keys[(session, blob)] = key
        try:
            with self._path.open("a", encoding="utf-8") as file:
                file.write(_line(session, blob, key))
        except OSError as exc:  # kept in memory: only a restart checks it again
            log.warning("gitsync.verified_segments_unwritable", path=self._where, error=str(exc))

    def __len__(self) -> int:
        return len(self._keys)

    def _load(self) -> None:
        try:
            lines = self._path.read_text(encoding="utf-8", errors="replace").splitlines()
        except FileNotFoundError:
            return
        except OSError as exc:
            log.warning("gitsync.verified_segments_unreadable", path=self._where, error=str(exc))
            return
        unread = 0
        for line in lines[-LIMIT:]:
            match = _LINE.match(line)
            if match is None:
                unread += 1
                continue
            session, blob, key = match.groups()
            self._keys[(session, bytes.fromhex(blob))] = key
        if unread:
            log.warning("gitsync.verified_segments_lines_skipped", path=self._where, lines=unread)
        if len(lines) > LIMIT:
            self._rewrite()

    def _rewrite(self) -> None:
        temporary = self._path.with_suffix(".tmp")
        text = "".join(_line(s, b, k) for (s, b), k in self._keys.items())
        try:
            temporary.write_text(text, encoding="utf-8")
            temporary.replace(self._path)
        except OSError as exc:
            log.warning("gitsync.verified_segments_unwritable", path=self._where, error=str(exc))


def _line(session: str, blob: bytes, key: str) -> str:
    """One segment's line, as :data:`_LINE` reads it."""
    return f"{session} {blob.hex()} {key}\n"
