"""Authenticated pairs: each offer and answer carries the sender's DTLS fingerprints signed
with its session key, so a signaling server that swaps fingerprints (to sit in the middle of
a pair) or forges ``from`` is caught before ICE starts.

The proof (the frame's ``proof``: an Ed25519 signature in hex) covers the canonical JSON of
the room, ``from``, ``to``, the pair epoch, the kind (offer or answer) and every
``a=fingerprint`` line of the SDP (algorithm lower-cased, value upper-cased, sorted). DTLS then
proves the peer holds the certificate those fingerprints name (RFC 8122), so the data channel
ends at the session whose key signed.

Checked against the key pinned for the sender: a sender with a pinned key and no proof, or a
proof that does not verify, is refused. A sender with no pinned key and no proof is an
unauthenticated pair (an observer, or a session from before keys): allowed, and nothing it
sends is folded unless it is signed by a pinned key (:mod:`ifmesh.node.identity.gate`).
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field
from typing import Literal

import orjson

from ifmesh.node.identity import seal
from ifmesh.node.identity.errors import PairRefused, SignatureRefused
from ifmesh.node.identity.keys import SessionKey
from ifmesh.node.identity.pins import PinBook
from ifmesh.node.protocol.messages import Envelope

PURPOSE = "ifmesh-pair/1"
Kind = Literal["offer", "answer"]
_FINGERPRINT = re.compile(r"^a=fingerprint:(\S+)\s+(\S+)\s*$", re.MULTILINE)
_HEX_SIGNATURE = re.compile(r"^[0-9a-f]{128}$")


def fingerprints(sdp: str) -> list[str]:
    """Every DTLS fingerprint an SDP names, normalised and sorted (``sha-256 AB:CD:…``)."""
    found = {f"{m.group(1).lower()} {m.group(2).upper()}" for m in _FINGERPRINT.finditer(sdp)}
    return sorted(found)


def statement(room: str, sender: str, to: str, epoch: int, kind: Kind, sdp: str) -> bytes:
    document = {
        "purpose": PURPOSE,
        "room": room,
        "from": sender,
        "to": to,
        "epoch": epoch,
        "kind": kind,
        "fingerprints": fingerprints(sdp),
    }
    return orjson.dumps(document, option=orjson.OPT_SORT_KEYS)


class Check(enum.Enum):
    AUTHENTICATED = "authenticated"
    UNAUTHENTICATED = "unauthenticated"  # no key pinned and no proof: an observer's pair
    UNPINNED = "unpinned"  # a proof, but no key pinned for the sender yet: fetch, ask again


@dataclass(frozen=True)
class PairProofs:
    key: SessionKey
    pins: PinBook
    session: str
    room: str
    # sender → (the newest pair epoch its proof was checked for, the pinned key it verified
    # under): what :meth:`vouches` for. Changed in place; the proofs themselves never change.
    proven: dict[str, tuple[int, str]] = field(default_factory=dict, compare=False)

    def prove(self, kind: Kind, to: str, epoch: int, sdp: str) -> str:
        return self.key.sign(statement(self.room, self.session, to, epoch, kind, sdp)).hex()

    def check(self, kind: Kind, sender: str, epoch: int, sdp: str, proof: str | None) -> Check:
        """How far the ``kind`` from ``sender`` is authenticated; raises :class:`PairRefused`
        (saying why) when it must be refused."""
        pin = self.pins.get(sender)
        if proof is None:
            if pin is None:
                return Check.UNAUTHENTICATED
            raise PairRefused(
                f"{kind} from {sender} (epoch {epoch}) carries no signed fingerprint, but"
                f" {sender} has a pinned key: refused (the signaling server may be in the middle)"
            )
        if pin is None:
            return Check.UNPINNED
        if not fingerprints(sdp):
            raise PairRefused(f"{kind} from {sender} (epoch {epoch}) names no DTLS fingerprint")
        signed = statement(self.room, sender, self.session, epoch, kind, sdp)
        if not _HEX_SIGNATURE.match(proof) or not pin.key.verifies(bytes.fromhex(proof), signed):
            raise PairRefused(
                f"{kind} from {sender} (epoch {epoch}): its fingerprint signature does not verify"
                f" under {sender}'s pinned key ({pin.key.short}); the DTLS fingerprint or the"
                " sender was changed on the way (a hostile signaling server?): refused before ICE"
            )
        if epoch >= self.proven.get(sender, (-1, ""))[0]:
            self.proven[sender] = (epoch, pin.key.text)
        return Check.AUTHENTICATED

    def vouches(self, peer: str, epoch: int, message: Envelope) -> bool:
        """Whether the pair (``peer``, ``epoch``) vouches for ``message``: ``peer``'s own
        event on the pair whose DTLS fingerprints ``peer`` signed with the key pinned for it
        now, claiming a signature by that key under the signed_fields rule. DTLS proves that
        every byte on the pair comes from the holder of that certificate, so Ed25519 is not
        run again here; git's readers run it (docs/security.md, "Events on authenticated
        pairs")."""
        proven, pin = self.proven.get(peer), self.pins.get(peer)
        if message.source != peer or pin is None or proven != (epoch, pin.key.text):
            return False
        try:
            seal.claimed(message, pin.key)
        except SignatureRefused:
            return False  # the gate's whole judgement names why
        return True
