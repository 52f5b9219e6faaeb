"""The mesh probe (``python -m ifmesh.node.mesh.probe``) with signing on, as a node has it: each
broadcast is signed by the sender's key on its way out (inside ``broadcast``, so on the clock),
each offer and answer carries its signed DTLS fingerprints, and each receiver's inbox runs the
node's own gate (``NodeIdentity.admit``: a peer's event on a pair it authenticated is taken on
the pair's word; anything else gets the signed_fields rule, the canonical bytes and Ed25519
verify against the pinned key) before it accepts a message.

Benchmark scaffolding, not a node: every probe's key is derived from its session name, so each
can pin the others' without a git branch (benchmarks/signing.py).
Usage: same arguments as the probe.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey  # noqa: E402

from ifmesh.node.identity import seal  # noqa: E402
from ifmesh.node.identity.gate import Gate  # noqa: E402
from ifmesh.node.identity.keys import SessionKey  # noqa: E402
from ifmesh.node.identity.pins import FIRST_USE, Pin, PinBook  # noqa: E402
from ifmesh.node.mesh import probe  # noqa: E402
from ifmesh.node.mesh.config import MeshConfig  # noqa: E402
from ifmesh.node.mesh.mesh import Mesh  # noqa: E402
from ifmesh.node.protocol.messages import Envelope  # noqa: E402
from ifmesh.node.runtime.identity import NodeIdentity, PairGuard  # noqa: E402

SESSIONS = [f"n{i}" for i in range(32)]


def key_of(session: str) -> SessionKey:
    seed = hashlib.sha256(f"ifmesh-benchmark-{session}".encode()).digest()
    return SessionKey.from_private(Ed25519PrivateKey.from_private_bytes(seed))


class SigningMesh(Mesh):
    def __init__(self, config: MeshConfig, **kwargs: Any) -> None:
        super().__init__(config, **kwargs)
        self.key = key_of(config.session)
        pins = PinBook(Pin(s, key_of(s).public, "", FIRST_USE) for s in SESSIONS)
        # No state directory: pins are never saved here (nothing sets pins.on_pin).
        self.identity = NodeIdentity(
            config.session, Path("/nonexistent"), self.key, pins, Gate(pins), None, config.room
        )
        self.inbox.gate = self.identity.admit
        self.signaling.pair_auth = PairGuard(self.identity)

    async def broadcast(self, message: Envelope, **kwargs: Any) -> Any:
        return await super().broadcast(seal.sign(message, self.key), **kwargs)


if __name__ == "__main__":
    probe.Mesh = SigningMesh  # type: ignore[misc]
    sys.exit(probe.main())
