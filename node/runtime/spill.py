"""The node's cold store (:mod:`ifmesh.node.board.cold`): old events' bytes in a file.

The file is unnamed (``O_TMPFILE``, else created and unlinked at once) in the state
directory, so it goes with the process however it ends, kill -9 included: it is a cache of
events that git and the peers hold, never a record. A handle is the event's offset and
length in one int.

A write the disk refuses (full, failing) keeps that event's bytes in memory instead, said
once per outage: the log loses nothing it accepted, it only holds more.
"""

from __future__ import annotations

import os
import tempfile
import weakref
from pathlib import Path

import structlog

from ifmesh.node.board.cold import ColdInMemory

log = structlog.get_logger(__name__)

_LENGTH_BITS = 32  # an event is far below 4 GB; the offset takes the bits above


class SpillFile:
    def __init__(self, directory: Path) -> None:
        self._end = 0
        self._refused = ColdInMemory()  # what the disk refused: handles below zero
        self.failing = False
        try:
            self._fd = _unnamed_file(directory)
        except OSError as exc:  # no file at all: every write below goes to memory
            self._fd, self.failing = -1, True
            note = "old events stay in memory (the node runs as before this file existed)"
            log.error("node.spill_unavailable", directory=str(directory), error=str(exc), note=note)
        else:  # closed with this object: the log may be read until the node itself is dropped
            weakref.finalize(self, os.close, self._fd)

    def put(self, data: bytes) -> int:
        if self._fd >= 0:
            try:
                written = os.pwrite(self._fd, data, self._end)
                if written != len(data):
                    raise OSError(f"short write: {written} of {len(data)} bytes")
            except OSError as exc:
                if not self.failing:
                    note = "old events stay in memory until the disk takes writes again"
                    log.error("node.spill_unwritable", error=str(exc), note=note)
                self.failing = True
            else:
                self.failing = False
                handle = self._end << _LENGTH_BITS | len(data)
                self._end += len(data)
                return handle
        return -1 - self._refused.put(data)

    def get(self, handle: int) -> bytes:
        if handle < 0:
            return self._refused.get(-1 - handle)
        length = handle & ((1 << _LENGTH_BITS) - 1)
        data = os.pread(self._fd, length, handle >> _LENGTH_BITS)
        if len(data) != length:  # the file is ours alone: only a failing disk gets here
            raise OSError(f"spill file read {len(data)} of {length} bytes")
        return data

    @property
    def size(self) -> int:
        return self._end


def _unnamed_file(directory: Path) -> int:
    try:
        return os.open(directory, os.O_TMPFILE | os.O_RDWR, 0o600)
    except (AttributeError, OSError):  # no O_TMPFILE here, or not on this file system
        fd, name = tempfile.mkstemp(prefix="spill-", dir=directory)
        Path(name).unlink()
        return fd
