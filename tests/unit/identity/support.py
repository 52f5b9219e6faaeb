"""Keys and events for the identity tests: deterministic keys per name, a signed claim."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ifmesh.node.identity import seal
from ifmesh.node.identity.keys import SessionKey
from ifmesh.node.identity.pins import FIRST_USE, Pin, PinBook
from ifmesh.node.protocol import messages as m

T0 = datetime(2025, 11, 12, 14, 0, tzinfo=UTC)


def key(name: str) -> SessionKey:
    """The same key for the same name in every run."""
    seed = hashlib.sha256(name.encode()).digest()
    return SessionKey.from_private(Ed25519PrivateKey.from_private_bytes(seed))


def claim(source: str = "session-a", task: str = "P0.1", seq: int = 1) -> m.Envelope:
    payload = m.TaskClaim(task_id=task, epoch=0, swarm_id=source, timestamp=T0)
    return m.make_message(
        payload,
        source=source,
        timestamp=T0,
        id=f"{source}-{seq}",
        seq=seq,
        lamport=seq,
        incarnation="inc-1",
        sender=m.agent_uri(source),
    )


def signed_claim(source: str = "session-a", **fields: object) -> m.Envelope:
    return seal.sign(claim(source), key(source))


def book(*sessions: str) -> PinBook:
    return PinBook([Pin(s, key(s).public, "c0", FIRST_USE, 1) for s in sessions])
