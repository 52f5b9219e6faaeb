"""The mesh probe (``python -m ifmesh.node.mesh.probe``) with signing on, as a node has it: each
broadcast is signed by the sender's key on its way out (inside ``broadcast``, so on the clock),
and each receiver's inbox runs the identity gate (the signed_fields rule, the canonical bytes,
Ed25519 verify against the pinned key) before it accepts a message.

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
from ifmesh.node.identity.gate import Gate, Verdict  # noqa: E402
from ifmesh.node.identity.keys import SessionKey  # noqa: E402
from ifmesh.node.identity.pins import FIRST_USE, Pin, PinBook  # noqa: E402
from ifmesh.node.mesh import probe  # noqa: E402
from ifmesh.node.mesh.config import MeshConfig  # noqa: E402
from ifmesh.node.mesh.mesh import Mesh  # noqa: E402
from ifmesh.node.protocol.messages import Envelope  # noqa: E402

SESSIONS = [f"n{i}" for i in range(32)]


def key_of(session: str) -> SessionKey:
    seed = hashlib.sha256(f"ifmesh-benchmark-{session}".encode()).digest()
    return SessionKey.from_private(Ed25519PrivateKey.from_private_bytes(seed))


class SigningMesh(Mesh):
    def __init__(self, config: MeshConfig, **kwargs: Any) -> None:
        super().__init__(config, **kwargs)
        self.key = key_of(config.session)
        self.gate = Gate(PinBook(Pin(s, key_of(s).public, "", FIRST_USE) for s in SESSIONS))
        self.inbox.gate = self.admit

    def admit(self, peer: str, message: Envelope) -> bool:
        return self.gate.judge(message).verdict is Verdict.ACCEPT

    async def broadcast(self, message: Envelope, **kwargs: Any) -> Any:
        return await super().broadcast(seal.sign(message, self.key), **kwargs)


if __name__ == "__main__":
    probe.Mesh = SigningMesh  # type: ignore[misc]
    sys.exit(probe.main())
