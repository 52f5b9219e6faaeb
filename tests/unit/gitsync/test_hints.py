"""What bridges tell each other over the mesh (node.gitsync.hints): encoded from the outputs,
taken only when well formed."""

from __future__ import annotations

from ifmesh.node.gitsync import hints
from ifmesh.node.gitsync.outputs import Landed, Outputs

TIP = "ab" * 20


class Recorder:
    def __init__(self) -> None:
        self.taken: list[tuple[str, str | None, bytes | None]] = []

    def landed_elsewhere(self, session: str, tip: str, objects: bytes | None) -> None:
        self.taken.append((session, tip, objects))

    def waiting_elsewhere(self, session: str) -> None:
        self.taken.append((session, None, None))


def test_outputs_become_hints_a_landing_first() -> None:
    assert hints.to_send(Outputs()) == []
    assert hints.to_send(Outputs(landed=[Landed(TIP)])) == [{"landed": TIP}]
    assert hints.to_send(Outputs(landed=[Landed(TIP, b"\x00\xff")])) == [
        {"landed": TIP, "objects": "AP8="}
    ]
    assert hints.to_send(Outputs(waiting=True)) == [{"waiting": True}]
    # Lost a race, then landed within one batch of outputs: it no longer waits.
    assert hints.to_send(Outputs(landed=[Landed(TIP)], waiting=True)) == [{"landed": TIP}]


def test_hints_are_taken_when_well_formed_and_dropped_otherwise() -> None:
    taker = Recorder()
    hints.received(taker, "session-2", {"landed": TIP})
    hints.received(taker, "session-3", {"waiting": True})
    hints.received(taker, "session-5", {"landed": TIP, "objects": "AP8="})
    hints.received(taker, "session-6", {"landed": TIP, "objects": "not base64!"})
    for bad in ({}, {"landed": "HEAD"}, {"landed": 40}, {"waiting": "yes"}, {"landed": TIP[:-1]}):
        hints.received(taker, "session-4", bad)
    assert taker.taken == [
        ("session-2", TIP, None),
        ("session-3", None, None),
        ("session-5", TIP, b"\x00\xff"),
        ("session-6", TIP, None),  # the tip still counts; its objects are fetched instead
    ]
