"""This node's identity at work: its key signs every event it emits, and the gate judges every
event it receives, on the mesh and in git, before the fold (docs/security.md).

Built from the configuration at start (:meth:`NodeIdentity.open`): the key pair in the state
directory (made on first start), the pins kept there, the operator keys of the local
configuration, and the migration switch ``accept_unsigned``. The pieces it hands out:

* :class:`SigningReplica`: the board replica whose every emitted event is signed, so the log,
  git, catch-up and broadcasts all carry the signed event;
* :meth:`NodeIdentity.admit`: the mesh inbox's gate; an event signed by a key not pinned yet is
  held (bounded in number and time) while the branch is fetched at once, and released to the
  fold when a fetch pins its key (:meth:`NodeIdentity.release`);
* :class:`PairGuard`: signs and checks the DTLS fingerprints of offers and answers.

With ``signing: false`` none of this runs (events unsigned and unchecked): the baseline a
benchmark compares against, and a room from before keys.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import structlog

from ifmesh.node.board.replica import Replica
from ifmesh.node.errors import ConfigError
from ifmesh.node.gitsync.keypublish import OwnKey
from ifmesh.node.identity import keys, seal
from ifmesh.node.identity.errors import KeyNotPinned, PairRefused
from ifmesh.node.identity.gate import Gate, Verdict
from ifmesh.node.identity.pairproof import Check, PairProofs
from ifmesh.node.identity.pinfile import load_pins, save_pins
from ifmesh.node.identity.pins import Pin, PinBook
from ifmesh.node.identity.rotation import RotationRecord, parse
from ifmesh.node.protocol.messages import Envelope
from ifmesh.node.runtime.config import NodeConfig
from ifmesh.signaling.protocol import Answer, Offer

log = structlog.get_logger(__name__)

ROTATION_FILE = "rotation.json"  # written by `ifmesh keys rotate` / `override`, published at start
HOLD_LIMIT = 256  # mesh events held for a key at most
HOLD_SECONDS = 30.0  # and for at most this long; then refused (key_not_pinned)
PAIR_KEY_WAIT = 3.0  # how long an offer with a proof waits for its sender's key to be pinned
PAIRS_REFUSED_KEPT = 20


class SigningReplica(Replica):
    """A replica whose emitted events are signed before they are folded and handed out."""

    def __init__(self, *args: Any, seal: Callable[[Envelope], Envelope], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._seal = seal

    def emit(self, events: Sequence[Envelope]) -> tuple[Envelope, ...]:
        return super().emit([self._seal(event) for event in events])


@dataclass(frozen=True)
class Held:
    message: Envelope
    peer: str
    until: float  # time.monotonic()


def operator_keys(config: NodeConfig) -> list[keys.PublicKey]:
    parsed = []
    for text in config.operator_keys:
        key = keys.parse_public_key(text)
        if key is None:
            raise ConfigError(
                f"operator key {text[:16]}… is not an Ed25519 public key (base64 SPKI DER, as"
                " `ifmesh keys operator-key` prints it)"
            )
        parsed.append(key)
    return parsed


def pending_rotation(state_dir: Path) -> RotationRecord | None:
    path = state_dir / ROTATION_FILE
    return parse(path.read_bytes()) if path.exists() else None


class NodeIdentity:
    def __init__(
        self,
        session: str,
        state_dir: Path,
        key: keys.SessionKey,
        pins: PinBook,
        gate: Gate,
        rotation: RotationRecord | None,
        room: str,
    ) -> None:
        self.session = session
        self.state_dir = state_dir
        self.key = key
        self.pins = pins
        self.gate = gate
        self.proofs = PairProofs(key, pins, session, room)  # our pairs' fingerprint proofs
        self.vouched = 0  # events taken on an authenticated pair's word (PairProofs.vouches)
        self.own = OwnKey(session, key.public, rotation)
        self.request_fetch: Callable[[], None] = lambda: None  # set once git runs
        self.held: deque[Held] = deque()
        self.pairs_refused: deque[dict[str, str]] = deque(maxlen=PAIRS_REFUSED_KEPT)
        self.pair_refusals = 0
        self._pinned = asyncio.Event()
        self._version = 0

    @classmethod
    def open(cls, config: NodeConfig) -> NodeIdentity:
        """The key (made on first start), the saved pins, the operator keys."""
        state_dir = config.resolved_state_dir
        key = keys.load_or_create(state_dir)
        book = PinBook(load_pins(state_dir), operator_keys=operator_keys(config))
        book.on_pin = lambda pin: _saved(state_dir, book, pin)
        gate = Gate(book, accept_unsigned=config.accept_unsigned)
        rotation = pending_rotation(state_dir)
        return cls(config.session, state_dir, key, book, gate, rotation, config.room)

    def sign(self, event: Envelope) -> Envelope:
        return seal.sign(event, self.key)

    # --- the mesh's gate ---------------------------------------------------------------------

    def admit(self, peer: str, epoch: int, message: Envelope) -> bool:
        """The inbox's gate: True to deliver now; a held or refused event is not delivered.
        The peer's own events on a pair it authenticated with its pinned key are taken on the
        pair's word (no Ed25519 here: git's readers verify them; docs/security.md)."""
        if self.proofs.vouches(peer, epoch, message):
            self.vouched += 1
            return True
        judgement = self.gate.judge(message)
        if judgement.verdict is Verdict.ACCEPT:
            return True
        assert judgement.error is not None
        if judgement.verdict is Verdict.REFUSE:
            self.gate.refuse(f"mesh:{peer}", message, judgement.error)
            return False
        self.held.append(Held(message, peer, time.monotonic() + HOLD_SECONDS))
        while len(self.held) > HOLD_LIMIT:
            dropped = self.held.popleft()
            self.gate.refuse(f"mesh:{dropped.peer}", dropped.message, _too_long(judgement.error))
        self.request_fetch()  # the branch may pin its key by now
        return False

    def keys_read(self) -> bool:
        """Called after each git read: True when pins changed since the last call (waking any
        offer waiting for its sender's key)."""
        version = self.pins.version
        if version == self._version:
            return False
        self._version = version
        self._pinned.set()
        self._pinned = asyncio.Event()
        return True

    def after_read(self, receive: Callable[[list[Envelope], str], None]) -> None:
        """After a git read: wakes offers waiting for a key, and hands the held mesh events
        whose key is pinned now to ``receive`` (the node's fold)."""
        self.keys_read()
        if self.held:
            for held in self.release():
                receive([held.message], f"mesh:{held.peer}")

    def release(self) -> list[Held]:
        """Held mesh events whose key is pinned now, to fold; refuses those held too long."""
        now = time.monotonic()
        held, self.held = self.held, deque()
        ready = []
        for entry in held:
            judgement = self.gate.judge(entry.message)
            if judgement.verdict is Verdict.ACCEPT:
                ready.append(entry)
            elif judgement.verdict is Verdict.HOLD and entry.until > now:
                self.held.append(entry)
            else:
                assert judgement.error is not None
                error = judgement.error
                if judgement.verdict is Verdict.HOLD:
                    error = _too_long(error)
                self.gate.refuse(f"mesh:{entry.peer}", entry.message, error)
        return ready

    async def pinned(self, timeout: float) -> None:
        """Waits (at most ``timeout``) for the next change of the pins."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._pinned.wait(), timeout)

    # --- what `ifmesh status` shows ----------------------------------------------------------

    def status(self) -> dict[str, Any]:
        gate = self.gate
        return {
            "signing": True,
            "public_key": self.key.public.text,
            "key": self.key.public.short,
            "accept_unsigned": gate.accept_unsigned,
            "pinned": {
                s: {"key": p.key.short, "how": p.how, "commit": p.commit[:12]}
                for s, p in sorted(self.pins.pins.items())
            },
            "conflicts": [
                {
                    "session": c.session,
                    "pinned": c.pinned,
                    "offered": c.offered,
                    "commit": c.commit[:12],
                    "reason": c.reason,
                }
                for c in self.pins.conflicts.values()
            ],
            "unsigned_sessions": sorted(gate.unsigned_sessions),
            "vouched_by_pair": self.vouched,
            "taken_from_verified_segments": gate.taken_verified,
            "held": len(self.held),
            "refused": {
                "by_code": dict(sorted(gate.counts.items())),
                "recent": [
                    {
                        "origin": r.origin,
                        "source": r.source,
                        "id": r.message_id,
                        "code": r.code,
                        "reason": r.reason,
                    }
                    for r in gate.recent
                ],
            },
            "pairs_refused": {"count": self.pair_refusals, "recent": list(self.pairs_refused)},
        }


def _too_long(error: Exception) -> KeyNotPinned:
    return KeyNotPinned(f"held {HOLD_SECONDS:g} s for its key, which was never pinned: {error}")


def _saved(state_dir: Path, book: PinBook, pin: Pin) -> None:
    try:
        save_pins(state_dir, dict(book.pins))
    except OSError as exc:
        log.warning("identity.pins_not_saved", error=str(exc))
    log.info("identity.pinned", session=pin.session, key=pin.key.short, how=pin.how)


class PairGuard:
    """Signs our offers' and answers' fingerprints; checks theirs before ICE
    (node.mesh.signaling_client's PairAuthenticator)."""

    def __init__(self, identity: NodeIdentity) -> None:
        self.identity = identity
        self.proofs = identity.proofs

    def prove(self, frame: Offer | Answer) -> str:
        return self.proofs.prove(frame.type, frame.to, frame.epoch, frame.sdp)

    async def admit(self, frame: Offer | Answer) -> bool:
        sender = frame.sender or "?"
        deadline = time.monotonic() + PAIR_KEY_WAIT
        while True:
            version = self.identity.pins.version
            try:
                check = self.proofs.check(frame.type, sender, frame.epoch, frame.sdp, frame.proof)
            except PairRefused as exc:
                # A peer that just rotated its key signs with the new one before our fetch has
                # pinned it: fetch once, and judge again if the pins changed meanwhile.
                left = deadline - time.monotonic()
                if left > 0:
                    self.identity.request_fetch()
                    await self.identity.pinned(left)
                    if self.identity.pins.version != version:
                        continue
                self._refused(sender, exc.code, str(exc))
                return False
            if check is not Check.UNPINNED:
                return True
            left = deadline - time.monotonic()
            if left <= 0:
                self._refused(
                    sender,
                    "key_not_pinned",
                    f"{frame.type} from {sender} is signed, but no key is pinned for {sender}"
                    f" after {PAIR_KEY_WAIT:g} s (is its key on the coordination branch?)",
                )
                return False
            self.identity.request_fetch()
            await self.identity.pinned(left)

    def _refused(self, peer: str, code: str, reason: str) -> None:
        identity = self.identity
        identity.pair_refusals += 1
        first = all(r["peer"] != peer or r["code"] != code for r in identity.pairs_refused)
        identity.pairs_refused.append({"peer": peer, "code": code, "reason": reason})
        if first:
            log.warning("identity.pair_refused", peer=peer, code=code, reason=reason)
