"""What the same work costs on this machine right after the process slept, against back to back.

A claim made in a room at rest (benchmarks/claims.py) runs in processes that were idle a
moment before: the claiming node, then each peer. This measures, in one process and one run,
the node's own steps of a claim — ``Replica.claim`` (admission, signature, fold) and decoding
a signed claim as a peer does — back to back, and after sleeping 0.5, 2, 20 and 100 ms before
each. Nothing else changes between the rows: same code, same objects, same sizes. What the
rows differ by is what idling costs here (caches and predictors filled again after the core
slept or ran something else), and it multiplies every step a claim takes at rest.

No check: a figure of the machine, for docs/claims.md ("Who holds the cores").
Run: .venv/bin/python benchmarks/cold.py   (last stdout line: the JSON result)
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks._boards import available_board  # noqa: E402
from ifmesh.node.board.formats import parse_task_board  # noqa: E402
from ifmesh.node.board.replica import Replica  # noqa: E402
from ifmesh.node.board.seed import seed_board  # noqa: E402
from ifmesh.node.governor.board_governance import BoardGovernance  # noqa: E402
from ifmesh.node.governor.policy import DEFAULT_POLICY  # noqa: E402
from ifmesh.node.identity import seal  # noqa: E402
from ifmesh.node.identity.keys import SessionKey  # noqa: E402
from ifmesh.node.protocol import codec, messages  # noqa: E402
from ifmesh.node.runtime.identity import SigningReplica  # noqa: E402

SESSION = "session-2-webrtc"
ROUNDS = 80
NAPS_MS = (0.0, 0.5, 2.0, 20.0, 100.0)
T0 = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)


def replica(key: SessionKey) -> Replica:
    """A signing replica as `ifmesh node` makes one, registered, on a board of fresh tasks."""
    with tempfile.TemporaryDirectory() as directory:
        path = available_board(Path(directory) / "board.md", "Cold board", "R", ROUNDS + 1)
        board = seed_board(parse_task_board(path.read_text(encoding="utf-8")), None, {})
    made = SigningReplica(SESSION, "inc-1", seal=lambda e: seal.sign(e, key), initial=board,
                          governance=BoardGovernance(DEFAULT_POLICY),
                          takeover=DEFAULT_POLICY.takeover)  # fmt: skip
    register = messages.SwarmRegister(
        swarm_id=SESSION, capabilities=["lang:python"], cost_per_hour=1.0, budget=10_000.0
    )
    made.publish(register, T0)
    return made


def timed(step: Callable[[int], object], nap_ms: float) -> float:
    """Median ms of ``step(i)`` over ROUNDS rounds, each after sleeping ``nap_ms``."""
    runs = []
    for i in range(1, ROUNDS + 1):
        if nap_ms:
            time.sleep(nap_ms / 1000)
        start = time.perf_counter()
        step(i)
        runs.append((time.perf_counter() - start) * 1000)
    return statistics.median(runs)


def main() -> None:
    key = SessionKey.generate()
    figures: dict[str, dict[str, float]] = {"replica_claim_ms": {}, "decode_signed_claim_ms": {}}
    issuing = replica(key)  # the claims a peer receives: signed, on the wire
    wire = [codec.encode(issuing.claim(f"R.{i}", T0 + timedelta(seconds=i))[0])
            for i in range(1, ROUNDS + 1)]  # fmt: skip
    for nap in NAPS_MS:
        claim = replica(key).claim
        figures["replica_claim_ms"][f"after_{nap:g}_ms_idle"] = round(
            timed(lambda i, claim=claim: claim(f"R.{i}", T0 + timedelta(seconds=i)), nap), 3
        )
        figures["decode_signed_claim_ms"][f"after_{nap:g}_ms_idle"] = round(
            timed(lambda i: codec.decode(wire[i - 1]), nap), 4
        )
    print(json.dumps({"benchmark": "cold", "figures": figures, "checks": []}))


if __name__ == "__main__":
    main()
