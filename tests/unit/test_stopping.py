"""node.runtime.stopping.unless_stopped: a start runs to its end, or a stop cancels it and waits
for it to unwind; and a start-up read's thread is waited for when its caller is cancelled."""

from __future__ import annotations

import asyncio
import threading

import pytest

from ifmesh.node.gitsync.runner import to_the_end
from ifmesh.node.runtime.stopping import unless_stopped


async def test_work_that_ends_first_is_done_and_says_so() -> None:
    done: list[str] = []

    async def start() -> None:
        done.append("started")

    assert await unless_stopped(start(), asyncio.Event()) is True
    assert done == ["started"]


async def test_a_stop_first_cancels_the_work_and_waits_for_it_to_unwind() -> None:
    stop, entered, unwound = asyncio.Event(), asyncio.Event(), []

    async def start() -> None:
        entered.set()
        try:
            await asyncio.Event().wait()  # a read that would go on
        finally:
            unwound.append("cleaned up")

    stopping = asyncio.create_task(unless_stopped(start(), stop))
    await entered.wait()
    stop.set()
    assert await stopping is False
    assert unwound == ["cleaned up"], "unwound before unless_stopped returned"


async def test_an_error_in_the_work_is_raised() -> None:
    async def start() -> None:
        raise RuntimeError("remote unreachable")

    with pytest.raises(RuntimeError, match="remote unreachable"):
        await unless_stopped(start(), asyncio.Event())


async def test_a_cancelled_caller_waits_for_the_thread_to_end() -> None:
    inside, release, ended = threading.Event(), threading.Event(), threading.Event()
    told: list[str] = []

    def read() -> None:
        inside.set()
        release.wait(30)
        ended.set()

    def abandon() -> None:
        told.append("abandon")
        release.set()

    waiting = asyncio.create_task(to_the_end(asyncio.to_thread(read), on_cancel=abandon))
    await asyncio.to_thread(inside.wait, 30)
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    assert told == ["abandon"] and ended.is_set(), "the thread ended before the cancel went on"
