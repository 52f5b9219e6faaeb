"""The governor behind the board's seam, driven through real board replicas: refusals are
typed errors at the command, the governor's part converges byte for byte, and the board's
helper choice is the governor's."""

from __future__ import annotations

import random
from pathlib import Path
from types import MappingProxyType

import pytest

from ifmesh.node import errors
from ifmesh.node.board.canonical import canonical_bytes
from ifmesh.node.board.replica import Replica
from ifmesh.node.board.state import Board, Task
from ifmesh.node.governor.board_governance import BoardGovernance
from ifmesh.node.governor.ledger import micros
from ifmesh.node.governor.policy_file import load_policy
from ifmesh.node.governor.state import GovernorState
from ifmesh.node.protocol import messages as m
from tests.unit.governor.support import FLEET, TASKS, at

POLICY = load_policy(Path(__file__).resolve().parents[3] / "examples/policies/production.yaml")
SESSIONS = ("session-2-webrtc", "session-3-h323", "session-4-sip", "session-5-cli")


def phase0_board() -> Board:
    tasks = {
        d.task_id: Task(
            d.task_id,
            task_type=d.task_type,
            required_capabilities=tuple(sorted(d.required_capabilities)),
            estimate_hours=d.estimate_hours,
        )
        for d in TASKS.values()
    }
    return Board(tasks=MappingProxyType(tasks))


def room() -> dict[str, Replica]:
    replicas = {
        s: Replica(s, f"inc-{s}", initial=phase0_board(), governance=BoardGovernance(POLICY))
        for s in SESSIONS
    }
    for session in SESSIONS:
        register = m.SwarmRegister(swarm_id=session, **FLEET[session])
        broadcast(replicas, replicas[session].publish(register, at(0)))
    return replicas


def broadcast(replicas: dict[str, Replica], events: tuple[m.Envelope, ...]) -> None:
    for event in events:
        for replica in replicas.values():
            replica.receive(event)


def test_refusals_are_typed_errors_and_nothing_is_emitted() -> None:
    replicas = room()
    sip = replicas["session-4-sip"]
    before = len(sip.log.view().tasks)
    with pytest.raises(errors.PolicyDenied, match="protocol:h323"):
        sip.claim("P0.3.2", at(1))
    assert len(sip.log.view().tasks) == before
    assert sip.board.tasks["P0.3.2"].owner is None


def test_the_governor_part_rides_in_the_board_and_converges() -> None:
    replicas = room()
    for events in (
        replicas["session-3-h323"].claim("P0.3.2", at(1), policy_hash=POLICY.hash),
        replicas["session-2-webrtc"].claim("P0.5.2", at(1)),
        replicas["session-5-cli"].claim("P0.5.4", at(2)),
        replicas["session-5-cli"].block(
            "P0.5.4", at(3), required_capabilities=["lang:python"], description="need a reviewer"
        ),
        replicas["session-2-webrtc"].complete("P0.5.2", at(30)),
    ):
        broadcast(replicas, events)
    late = Replica(
        "session-9-late", "inc-late", initial=phase0_board(), governance=BoardGovernance(POLICY)
    )
    everything = _all_events(replicas)
    rng = random.Random(4)
    shuffled = everything[:]
    rng.shuffle(shuffled)
    for event in shuffled:
        late.receive(event)
    reference = replicas["session-3-h323"].board
    assert canonical_bytes(late.board) == canonical_bytes(reference)
    assert len({canonical_bytes(r.board) for r in replicas.values()}) == 1
    assert b"reserved_by_swarm" in canonical_bytes(reference)  # the governor's part is in it
    part = reference.governor
    assert isinstance(part, GovernorState)
    assert part.ledger.reserved_by_swarm["session-3-h323"] == micros(3 * 3.8) + micros(0.5 * 3.8)
    assert part.ledger.settled_by_swarm == {"session-2-webrtc": micros(1.2)}
    (request,) = reference.help_requests.values()
    assert (
        request.helpers
        == part.help[request.request_id].helpers
        == (
            "session-4-sip",
            "session-3-h323",
        )
    )


def _all_events(replicas: dict[str, Replica]) -> list[m.Envelope]:
    seen: dict[str, m.Envelope] = {}
    for replica in replicas.values():
        for event in replica.log:
            seen[event.id] = event
    return list(seen.values())


def test_a_verdict_after_the_completion_reserves_nothing_again() -> None:
    """git's verdict lands seconds after the claim; an agent that completes before it must not
    get its reservation back from the verdict, held for good against its budget (a soak's
    driver, completing at once, ran out of budget that way)."""
    replicas = room()
    webrtc = replicas["session-2-webrtc"]
    broadcast(replicas, webrtc.claim("P0.5.2", at(1)))
    broadcast(replicas, webrtc.complete("P0.5.2", at(2)))
    verdict = m.TaskConfirmed(task_id="P0.5.2", epoch=0, winner="session-2-webrtc")
    broadcast(replicas, webrtc.publish(verdict, at(3)))
    for replica in replicas.values():
        governor = replica.board.governor
        assert isinstance(governor, GovernorState)
        assert dict(governor.ledger.reservations) == {}
        assert dict(governor.ledger.reserved_by_swarm) == {}
        assert governor.ledger.settled_by_swarm["session-2-webrtc"] > 0
        assert replica.board.tasks["P0.5.2"].confirmed
