"""The event loop's stall watch: once the loop has not turned for ``limit`` seconds, the node's
log says where every thread is, once per stall, and again when the loop turns.

A node whose loop stops turning answers nobody: not its agent, not its peers' pings. Knowing
where it stopped is what an operator needs, so the node watches for it all the time.

It used to be ``faulthandler.dump_traceback_later``, re-armed every few seconds. faulthandler's
watchdog is a C thread that walks the other threads' frames without the GIL, while they run;
when a long start-up fold held the loop for 10 s (8 sessions' logs of 20,000 events), the walk
met a frame being replaced and the node died of a segfault in libpython (CPython issues 116008
and 131580: the same crash). This watch is a Python thread: reading the frames takes the GIL,
which the running thread gives up every switch interval, so they hold still while read.

:class:`Stalls` is the rule (sans-IO, ``now`` passed in); :class:`StallWatch` the thread.
"""

from __future__ import annotations

import sys
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class Stalls:
    """When the loop last turned, and whether the stall since then has been told."""

    limit: float
    last_turn: float
    told: bool = False

    def turned(self, now: float) -> float | None:
        """The loop turned at ``now``: how long the stall it ends lasted, if it was told."""
        stalled = now - self.last_turn if self.told else None
        self.last_turn, self.told = now, False
        return stalled

    def to_tell(self, now: float) -> float | None:
        """Seconds the loop has not turned, once per stall, when that passes ``limit``."""
        if self.told or now - self.last_turn < self.limit:
            return None
        self.told = True
        return now - self.last_turn


def thread_stacks(skip: int | None = None) -> str:
    """Every Python thread's stack but ``skip``'s, innermost call last."""
    names = {thread.ident: thread.name for thread in threading.enumerate()}
    parts = []
    for ident, frame in sys._current_frames().items():
        if ident != skip:
            stack = "".join(traceback.format_stack(frame))
            parts.append(f"Thread {names.get(ident, ident)}:\n{stack}")
    return "\n".join(parts)


class StallWatch:
    """A daemon thread that checks ``stalls`` every ``limit / 4`` seconds and hands a stall to
    ``tell(seconds, stacks)``, and its end to ``ended(seconds)``. The loop calls :meth:`turned`
    (``node.cli.node`` does, every ``limit / 4`` seconds)."""

    def __init__(
        self,
        limit: float,
        tell: Callable[[float, str], None],
        ended: Callable[[float], None],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stalls = Stalls(limit, clock())
        self._tell, self._ended, self._clock = tell, ended, clock
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="ifmesh-stall-watch", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def turned(self) -> None:
        with self._lock:
            stalled = self.stalls.turned(self._clock())
        if stalled is not None:
            self._ended(stalled)

    def _watch(self) -> None:
        while not self._stop.wait(self.stalls.limit / 4):
            with self._lock:
                stalled = self.stalls.to_tell(self._clock())
            if stalled is not None:
                self._tell(stalled, thread_stacks(skip=threading.get_ident()))
