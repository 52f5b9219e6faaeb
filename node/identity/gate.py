"""The gate in front of the fold: which received events may be folded, which wait for a key,
and which are refused — the same judgement on the mesh and in git.

:meth:`Gate.judge` decides one message (sans-IO, no clock):

* a message that is no event (the origin's generic ``message``) passes: it never changes the
  board;
* an unsigned event passes only under the migration policy (``accept_unsigned``) and only from
  a session with no pinned key; those sessions are listed as *unsigned* for the board;
* an event from a session with no pin, signed by an operator key this node's configuration
  pins (an operator page), is verified with that key;
* an event signed by a key no pin names yet — or by another key than the pinned one, which a
  rotation may be about to explain — is *held*: the caller keeps it (bounded) and fetches the
  branch at once, then asks again;
* anything else is verified (:func:`ifmesh.node.identity.seal.check`) and refused if it fails.

Refusals are counted by code, the last few kept, and logged once per (origin, code)
(:meth:`Gate.refuse`): a peer that keeps sending bad events is not a log flood. Called from the
event loop (mesh) and the git bridge's thread, so the tallies take a lock.
"""

from __future__ import annotations

import contextlib
import enum
import threading
from collections import Counter, deque
from dataclasses import dataclass

import structlog

from ifmesh.node.identity import seal
from ifmesh.node.identity.errors import KeyMismatch, KeyNotPinned, SignatureRefused, Unsigned
from ifmesh.node.identity.keys import PublicKey
from ifmesh.node.identity.pins import PinBook
from ifmesh.node.protocol.fields import Ed25519Signature
from ifmesh.node.protocol.messages import EVENT_TYPES, Envelope

log = structlog.get_logger(__name__)

RECENT_REFUSALS = 50
VERIFIED_KEPT = 4096  # signatures remembered as verified (a few minutes of a busy room)


class VerifiedSignatures:
    """Signatures verified over the very bytes they sign, the oldest forgotten first: an event
    read again (from git after the mesh, a catch-up duplicate) costs no second Ed25519 verify.
    Both threads of a node use it; a dict's single operations are atomic under the GIL."""

    def __init__(self, capacity: int = VERIFIED_KEPT) -> None:
        self._kept: dict[tuple[str, bytes], None] = {}
        self._capacity = capacity

    def __contains__(self, item: object) -> bool:
        return item in self._kept

    def add(self, item: tuple[str, bytes]) -> None:
        self._kept[item] = None
        if len(self._kept) > self._capacity:
            # The other thread may have evicted it first: then there is nothing left to do.
            with contextlib.suppress(StopIteration, KeyError, RuntimeError):
                del self._kept[next(iter(self._kept))]


class Verdict(enum.Enum):
    ACCEPT = "accept"
    HOLD = "hold"
    REFUSE = "refuse"


@dataclass(frozen=True)
class Judgement:
    verdict: Verdict
    error: SignatureRefused | None = None


ACCEPTED = Judgement(Verdict.ACCEPT)


@dataclass(frozen=True)
class Refusal:
    origin: str  # "mesh:<peer>" or "git"
    source: str
    message_id: str
    code: str
    reason: str


class Gate:
    def __init__(self, pins: PinBook, *, accept_unsigned: bool = False) -> None:
        self.pins = pins
        self.accept_unsigned = accept_unsigned
        self.counts: Counter[str] = Counter()
        self.recent: deque[Refusal] = deque(maxlen=RECENT_REFUSALS)
        self.unsigned_sessions: frozenset[str] = frozenset()
        self._logged: set[tuple[str, str]] = set()
        self._lock = threading.Lock()
        self.verified = VerifiedSignatures()

    def judge(self, message: Envelope) -> Judgement:
        if message.type not in EVENT_TYPES:
            return ACCEPTED
        pin = self.pins.get(message.source)
        signature = message.signature
        if not isinstance(signature, Ed25519Signature):
            if pin is None and self.accept_unsigned:
                if message.source not in self.unsigned_sessions:
                    with self._lock:
                        self.unsigned_sessions = self.unsigned_sessions | {message.source}
                return ACCEPTED
            why = "no key is pinned for it and" if pin is None else "its key is pinned, but"
            return Judgement(
                Verdict.REFUSE,
                Unsigned(
                    f"{message.type} {message.id} from {message.source} is not signed: {why}"
                    " this node accepts only signed events from it"
                ),
            )
        if pin is None:
            operator = self._operator(signature.public_key)
            if operator is not None:
                try:
                    seal.check(message, operator, self.verified)
                except SignatureRefused as error:
                    return Judgement(Verdict.REFUSE, error)
                return ACCEPTED
            return Judgement(
                Verdict.HOLD,
                KeyNotPinned(
                    f"{message.type} {message.id}: no key is pinned for {message.source} on the"
                    " coordination branch (.ifmesh/keys/)"
                ),
            )
        if signature.public_key != pin.key.text:
            signer = seal.signer_of(message)
            if signer != pin.key.raw:
                mismatch = KeyMismatch(
                    f"{message.type} {message.id} is signed by another key than the one pinned"
                    f" for {message.source} ({pin.key.short})",
                    path="signature.public_key",
                )
                if signer is None or self.pins.refused_key(message.source, signer):
                    return Judgement(Verdict.REFUSE, mismatch)
                return Judgement(Verdict.HOLD, mismatch)  # a rotation may be on its way
        try:
            seal.check(message, pin.key, self.verified)
        except SignatureRefused as error:
            return Judgement(Verdict.REFUSE, error)
        return ACCEPTED

    def _operator(self, key: str) -> PublicKey | None:
        return next((k for k in self.pins.operator_keys if k.text == key), None)

    def refuse(self, origin: str, message: Envelope, error: SignatureRefused) -> None:
        """Counts a refusal; logs it the first time this origin earns this code."""
        refusal = Refusal(origin, message.source, message.id, error.code, error.reason)
        with self._lock:
            self.counts[error.code] += 1
            self.recent.append(refusal)
            first = (origin, error.code) not in self._logged
            self._logged.add((origin, error.code))
        if first:
            log.warning(
                "identity.event_refused",
                origin=origin,
                source=message.source,
                code=error.code,
                reason=error.reason,
                note="logged once per origin and reason; `ifmesh status` counts them all",
            )
