"""An asyncio event loop on virtual time: timers fire in order, but nothing ever sleeps.

The loop's clock (``time()``) starts at 0 and jumps to the next timer whenever no callback is
ready, so ``asyncio.sleep``, ``asyncio.timeout`` and ``call_later`` behave as they do for real,
in the same order, in no wall-clock time. Everything else about the loop is the standard one,
which is the point: the code under test (the claim decider, the mesh's ack waits and outboxes)
runs unchanged.
"""

from __future__ import annotations

import asyncio
import selectors
from collections.abc import Coroutine
from typing import Any


class SimulationStalled(RuntimeError):
    """Nothing is ready and no timer is set: the simulation would wait forever."""


class _NoWaitSelector(selectors.SelectSelector):
    def __init__(self) -> None:
        super().__init__()
        self.loop: VirtualLoop | None = None

    def select(self, timeout: float | None = None) -> list[Any]:
        ready = super().select(0)
        if not ready:
            assert self.loop is not None
            if timeout is None:
                raise SimulationStalled("no callback ready and no timer set")
            self.loop.advance(timeout)
        return ready


class VirtualLoop(asyncio.SelectorEventLoop):
    def __init__(self) -> None:
        selector = _NoWaitSelector()
        super().__init__(selector)
        selector.loop = self
        self._now = 0.0

    def time(self) -> float:
        return self._now

    def advance(self, seconds: float) -> None:
        self._now += max(0.0, seconds)


def run_to_end(main: Coroutine[Any, Any, None]) -> None:
    """Runs ``main`` on a fresh virtual loop, then lets the work it cancelled unwind."""
    loop = VirtualLoop()
    try:
        loop.run_until_complete(main)
        loop.run_until_complete(asyncio.sleep(0))
    finally:
        loop.close()
