"""What a node's process holds in memory, and what keeps it small and still.

Issue 22 asks for at most 120 MB RSS per node in a 32-node room on one host; the room measured
116-130 MB. A node's RSS is mostly what it imports (99 MB before it does anything, 42 MB of it
pages of shared libraries), then about 0.4 MB per peer (150 KB of it the RTCPeerConnection
with its DTLS and SCTP state, mostly OpenSSL's) and what the board holds, which grows with the
room's events (docs/scaling.md, "Memory per node"). Four things here:

* **No media** (:func:`leave_out_media`). aiortc's package imports PyAV, and with it ffmpeg's
  codecs, filters, x265, gnutls…, for audio and video tracks. The mesh opens one data channel
  and never a track, so none of that code runs in a node, yet loading it costs 16 MB of RSS per
  node (12 MB of library pages, 4 MB anonymous; ``python -X importtime`` and
  ``/proc/PID/smaps``). A node puts a stand-in for ``av`` in the import system before aiortc is
  imported: aiortc's modules import and name PyAV's classes as before, and anything that would
  decode or encode media raises :class:`MediaUnavailable`. Only ``ifmesh node`` does this;
  ``ifmesh sdp replay`` negotiates audio and video and imports the real PyAV.
* **A frozen heap** (:func:`freeze_heap`), for the collector's pauses rather than for size.
* **Free heap given back** (:func:`give_back_free_heap`: after start-up, then every minute).
  glibc keeps what a process frees, in holes between what it still holds, and reading a day's
  history frees a lot: nodes started on the soak's day of logs held 183-198 MB each, 15 MB
  apart from one start to the next, about 18 MB of it freed heap (``malloc_trim`` at the end
  of ``benchmarks/_rss_probe.py``); the digest of every ``status`` query left more before
  :func:`ifmesh.node.board.canonical.digest` hashed it in parts.
* **Big buffers off the heap** (:func:`keep_big_buffers_off_heap`). The scribe re-renders the
  board file (multi-MB texts and lists on the soak's 20,000-task board). glibc raises its
  mmap threshold after each big free (up to 32 MB), so those buffers land in the heap between
  long-lived events, and their holes are never given back: on a 3-node probe the scribe held
  53-59 MB of free heap after 2,870 events and 215-218 MB RSS; with the threshold fixed at
  128 KB, 1-2 MB and 178-181 MB (``benchmarks/_rss_probe.py``).

glibc's per-thread malloc arenas were measured too (the git bridge works in threads): capping
them (``MALLOC_ARENA_MAX=2``) changed nothing measurable, in a room idle or under claims, as a
node's large allocations are few (``docs/scaling.md``); on the scribe of a 20,000-task board
it took the free heap from 61 to 21 MB, where the fixed mmap threshold leaves 1.6 MB.
"""

from __future__ import annotations

import asyncio
import ctypes
import gc
import importlib.abc
import importlib.machinery
import sys
import types
from collections.abc import Sequence

MEDIA_PACKAGE = "av"  # PyAV
M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter (malloc.h)
MMAP_THRESHOLD_BYTES = 128 * 1024  # glibc's default, kept fixed instead of rising
GIVE_BACK_EVERY = 60.0  # seconds between trims of the free heap


def keep_big_buffers_off_heap() -> bool:
    """Fixes glibc's mmap threshold at its default (as ``MALLOC_MMAP_THRESHOLD_=131072``
    would), so allocations of 128 KB or more are mapped and unmapped whole instead of leaving
    holes in the heap once freed. Returns whether it was applied (False off glibc)."""
    try:
        libc = ctypes.CDLL(None)  # the process's own symbols, libc's among them: no lookup
        return bool(libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES))
    except (OSError, AttributeError):  # not glibc (musl, macOS): its allocator, as it is
        return False


def give_back_free_heap() -> bool:
    """Returns the heap's free pages to the system (``malloc_trim(0)``: glibc releases every
    free whole page inside every arena, not only at the top of the heap). False off glibc."""
    try:
        return bool(ctypes.CDLL(None).malloc_trim(0))
    except (OSError, AttributeError):
        return False


async def give_back_free_heap_every(seconds: float = GIVE_BACK_EVERY) -> None:
    """Runs beside the node: gives back the free heap every ``seconds``. A trim walks the
    heap's free chunks: 1.9 ms to give back 15 MB, 0.03 ms with nothing to give (a 20,000-task
    board's process, ``benchmarks/board.py``'s day)."""
    while True:
        await asyncio.sleep(seconds)
        give_back_free_heap()


def freeze_heap() -> None:
    """Start-up made most of the objects this process will ever hold (modules, models, the
    board, the peer connections): collect the garbage, then move the rest out of the
    collector's sight, so a full collection scans only what came after and does not stall a
    message for tens of milliseconds (one was measured at 150 ms during mesh formation)."""
    gc.collect()
    gc.freeze()


class MediaUnavailable(ImportError):
    """Media was asked of a node, whose process runs without PyAV (:func:`leave_out_media`).
    An ImportError, so that code which treats PyAV as optional takes it as absent."""


def leave_out_media() -> bool:
    """Makes ``import av`` (and ``av.…``) give stand-ins in this process, unless PyAV is loaded
    already. Call it before anything imports aiortc. Returns whether the stand-ins are in."""
    if MEDIA_PACKAGE in sys.modules:
        return False
    if not any(isinstance(finder, _NoMedia) for finder in sys.meta_path):
        sys.meta_path.insert(0, _NoMedia())
    return True


class _Absent(type):
    """A stand-in for one of PyAV's classes: it can be imported, named in annotations and
    tested with isinstance (never true); using it raises."""

    def __call__(cls, *args: object, **kwargs: object) -> object:
        raise MediaUnavailable(f"{cls.__qualname__}: a node runs without media (PyAV)")

    def __getattr__(cls, name: str) -> object:
        if name.startswith("__"):  # typing and inspect probe for these: absent, as usual
            raise AttributeError(name)
        raise MediaUnavailable(f"{cls.__qualname__}.{name}: a node runs without media (PyAV)")


class _AbsentModule(types.ModuleType):
    """``av`` or one of its modules: every name in it is a stand-in class (``…Error`` names
    are exceptions, as ``except av.FFmpegError`` needs)."""

    def __getattr__(self, name: str) -> type:
        if name.startswith("__"):
            raise AttributeError(name)
        bases: tuple[type, ...] = (MediaUnavailable,) if name.endswith("Error") else ()
        stand_in = _Absent(name, bases, {"__module__": self.__name__, "__qualname__": name})
        setattr(self, name, stand_in)
        return stand_in


class _NoMedia(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None,
        target: types.ModuleType | None = None,
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname != MEDIA_PACKAGE and not fullname.startswith(MEDIA_PACKAGE + "."):
            return None
        return importlib.machinery.ModuleSpec(fullname, self, is_package=True)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        return _AbsentModule(spec.name)

    def exec_module(self, module: types.ModuleType) -> None:
        module.__path__ = []  # a package: `import av.video.codeccontext` finds its modules here
