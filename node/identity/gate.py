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

:meth:`Gate.judge_operator` is the stricter judgement of an event from an operator-role peer
(the dashboard's help offer, its answer to an ask-release; docs/dashboard.md, "Signed
actions"): it must be signed by one of this node's operator keys, and is refused at once
otherwise, never held, since operator keys live in the local configuration, which no fetch of
the branch changes. The mesh's role check asks it (:meth:`Gate.operator_signed`) before an
operator's event goes anywhere, so that the page is told why.

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
from ifmesh.node.identity.errors import (
    KeyMismatch,
    KeyNotPinned,
    OperatorKeyNotPinned,
    SignatureRefused,
    Unsigned,
)
from ifmesh.node.identity.keys import PublicKey, parse_public_key
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
        self._kept: dict[bytes, None] = {}  # sha-256 of the signature, the key and the bytes
        self._capacity = capacity

    def __contains__(self, item: object) -> bool:
        return item in self._kept

    def add(self, item: bytes) -> None:
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
        # Events of sealed log segments verified on an earlier start, taken without their
        # checks (node.gitsync.verified_segments).
        self.taken_verified = 0

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

    def judge_operator(self, message: Envelope) -> Judgement:
        """An operator-role peer's ``message``: an event passes when an operator key of this
        node's configuration signed it (or, unsigned, under the migration switch from a session
        without a pinned key, as :meth:`judge` lets it in); anything else is refused, never
        held. Which operator key does not depend on the session id: see docs/security.md."""
        if message.type not in EVENT_TYPES:
            return ACCEPTED
        signature = message.signature
        name = f"{message.type} {message.id} from operator {message.source}"
        if not isinstance(signature, Ed25519Signature):
            if self.accept_unsigned and self.pins.get(message.source) is None:
                return self.judge(message)  # accepted, and listed as unsigned
            return Judgement(
                Verdict.REFUSE,
                Unsigned(
                    f"{name} is not signed: this node takes an operator's actions only signed"
                    " by an operator key it pins (operator_keys in its configuration); load"
                    " the operator key into the page (`ifmesh dashboard --operator-key FILE`)"
                ),
            )
        operator = self._operator(signature.public_key)
        if operator is None:
            offered = parse_public_key(signature.public_key)
            which = f"key {offered.short}" if offered is not None else "an unreadable key"
            return Judgement(
                Verdict.REFUSE,
                OperatorKeyNotPinned(
                    f"{name} is signed by {which}, which is not among this node's operator"
                    " keys (operator_keys in its configuration)",
                    path="signature.public_key",
                ),
            )
        try:
            seal.check(message, operator, self.verified)
        except SignatureRefused as error:
            return Judgement(Verdict.REFUSE, error)
        return ACCEPTED

    def operator_signed(self, peer: str, message: Envelope) -> SignatureRefused | None:
        """:meth:`judge_operator` for the mesh's role check: None to go on, else the refusal,
        counted and logged as every refusal is."""
        judgement = self.judge_operator(message)
        if judgement.error is None:
            return None
        self.refuse(f"mesh:{peer}", message, judgement.error)
        return judgement.error

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
