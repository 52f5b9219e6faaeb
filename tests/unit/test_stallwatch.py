"""The event loop's stall watch (node.runtime.stallwatch): told once per stall, with where
every thread is, and again when the loop turns."""

from __future__ import annotations

import threading

from ifmesh.node.runtime.stallwatch import Stalls, StallWatch


def test_a_stall_is_told_once_past_the_limit_and_its_end_with_its_length() -> None:
    stalls = Stalls(limit=10.0, last_turn=100.0)
    assert stalls.to_tell(109.9) is None
    assert stalls.to_tell(110.5) == 10.5
    assert stalls.to_tell(130.0) is None  # the same stall, told already
    assert stalls.turned(131.0) == 31.0
    assert stalls.to_tell(140.0) is None  # turned at 131: not stalled yet
    assert stalls.to_tell(141.0) == 10.0  # a new stall


def test_turns_within_the_limit_are_never_told() -> None:
    stalls = Stalls(limit=10.0, last_turn=0.0)
    for now in range(5, 100, 5):
        assert stalls.to_tell(float(now)) is None
        assert stalls.turned(float(now)) is None


def _blocked_here(until: threading.Event) -> None:
    assert until.wait(timeout=60), "the stall was never told"


def test_the_watch_tells_where_a_blocked_thread_is_then_that_it_turned() -> None:
    told, ended = threading.Event(), threading.Event()
    stacks: list[str] = []
    lengths: list[float] = []

    def tell(seconds: float, where: str) -> None:
        stacks.append(where)
        lengths.append(seconds)
        told.set()

    def turned_again(seconds: float) -> None:
        lengths.append(seconds)
        ended.set()

    watch = StallWatch(0.2, tell, turned_again)
    watch.start()
    try:
        watch.turned()
        _blocked_here(told)  # this thread stands for the loop: it stops turning
        watch.turned()
        assert ended.is_set()
    finally:
        watch.stop()
    assert len(stacks) == 1
    assert "_blocked_here" in stacks[0]
    assert "ifmesh-stall-watch" not in stacks[0]  # its own stack is left out
    assert lengths[0] >= 0.2 and lengths[1] >= lengths[0]
