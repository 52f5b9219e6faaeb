"""Arrivals (node.runtime.arrivals): a peer's message is acked first and folded next, after a
short delay or at the first read of the board, whichever comes first; in arrival order, once.
That nothing reads the board between the two is what tests/sim/test_decided_claims.py checks
(without the fold at every read, its first calm scenario ends with two winners)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from ifmesh.node.mesh.events import MessageReceived
from ifmesh.node.protocol import messages as m
from ifmesh.node.runtime.arrivals import Arrivals
from tests.unit.board.helpers import Stamper, progress


def received(stamp: Stamper, lamport: int) -> MessageReceived:
    message = stamp("s1", progress("A"), lamport=lamport)
    return MessageReceived("s1", message, 100, False, 0.0)


class Board:
    """What a node's board sees of its arrivals: folds, and reads that fold first."""

    def __init__(self) -> None:
        self.folded: list[list[m.Envelope]] = []
        self.done = asyncio.Event()
        self.arrivals = Arrivals(self.fold, delay=0.0)

    def fold(self, arrived: Sequence[MessageReceived]) -> None:
        self.read()  # the fold reads the board too: it must find nothing waiting
        self.folded.append([r.message for r in arrived])
        self.done.set()

    def read(self) -> list[list[m.Envelope]]:
        if self.arrivals:
            self.arrivals.fold_now()
        return self.folded


async def test_acked_messages_are_folded_once_in_arrival_order_after_the_delay() -> None:
    board, stamp = Board(), Stamper()
    first, second = received(stamp, 1), received(stamp, 2)
    board.arrivals.arrived(first)
    board.arrivals.acked()
    board.arrivals.arrived(second)
    board.arrivals.acked()  # one fold is due for both
    assert board.folded == [] and len(board.arrivals) == 2
    await asyncio.wait_for(board.done.wait(), 5)
    assert board.folded == [[first.message, second.message]]
    assert len(board.arrivals) == 0


async def test_a_read_of_the_board_folds_what_arrived_first_and_the_timer_finds_nothing() -> None:
    board, stamp = Board(), Stamper()
    message = received(stamp, 1)
    board.arrivals.arrived(message)
    board.arrivals.acked()
    assert board.read() == [[message.message]]  # at once, before the loop ran the timer
    board.done.clear()
    later = received(stamp, 2)
    board.arrivals.arrived(later)  # a new message after the read: folded on its own
    board.arrivals.acked()
    await asyncio.wait_for(board.done.wait(), 5)
    assert board.folded == [[message.message], [later.message]]


async def test_nothing_waiting_schedules_nothing() -> None:
    board = Board()
    board.arrivals.acked()  # a duplicate is acked without being handed over
    board.arrivals.fold_now()
    await asyncio.sleep(0)  # lets a wrongly scheduled fold run, if there were one
    assert board.folded == []
