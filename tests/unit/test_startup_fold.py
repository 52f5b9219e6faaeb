"""StartupFold (node.runtime.receiving): a start-up read's chunks, in the board's order, with
this session's own earlier events merged in among them, so the board is handed every event in
order: folded once each, none inserted among the others."""

from __future__ import annotations

from collections.abc import Iterable

from ifmesh.node.board.log import EventLog, order_key
from ifmesh.node.protocol import messages as m
from ifmesh.node.runtime.receiving import StartupFold
from tests.unit.board.helpers import Stamper, chain_board, progress


def events_of(source: str, lamports: Iterable[int], stamp: Stamper) -> list[m.Envelope]:
    return [stamp(source, progress("A"), lamport=lamport) for lamport in lamports]


def test_own_events_are_folded_in_order_among_the_chunks() -> None:
    stamp = Stamper()
    own = events_of("me", [2, 5, 6, 11, 12], stamp)
    others = sorted(events_of("s1", range(1, 11), stamp) + events_of("s2", [3, 4, 9], stamp),
                    key=order_key)  # fmt: skip
    received: list[tuple[str, list[m.Envelope]]] = []
    fold = StartupFold(lambda events, origin: received.append((origin, list(events))), own)
    for start in range(0, len(others), 4):
        fold.chunk(others[start : start + 4])
    fold.chunk([])
    fold.finish()
    handed = [event for _, events in received for event in events]
    assert handed == sorted(own + others, key=order_key), "every event once, in order"
    assert received[-1] == ("own log", own[-2:]), "own events after the last chunk: at the end"


def test_with_nothing_from_git_the_own_events_are_folded_at_the_end() -> None:
    own = events_of("me", [1, 2, 3], Stamper())
    received: list[list[m.Envelope]] = []
    fold = StartupFold(lambda events, origin: received.append(list(events)), iter(own))
    fold.finish()
    assert received == [own]


def test_the_board_folds_a_streamed_start_once_per_event() -> None:
    """Through a real EventLog: nothing arrives late, so nothing is folded twice."""
    stamp = Stamper()
    own = events_of("me", range(1, 40, 3), stamp)
    others = sorted(events_of("s1", range(1, 40), stamp), key=order_key)
    log = EventLog(chain_board())
    refolded = 0

    def receive(events: Iterable[m.Envelope], origin: str) -> None:
        nonlocal refolded
        for event in events:
            refolded += log.add(event).refolded

    fold = StartupFold(receive, own)
    for start in range(0, len(others), 8):
        fold.chunk(others[start : start + 8])
    fold.finish()
    assert len(log) == len(own) + len(others)
    assert refolded == 0
