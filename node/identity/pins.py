"""Pinned keys: which public key speaks for each session, decided from git's history.

Trust on first use, in first-parent order: a session's key is pinned at the first commit of the
coordination branch's first-parent history that holds ``.ifmesh/keys/<session>.pub``. Every node
reading the same branch pins the same keys. After that, a different ``.pub`` is taken only with
a valid rotation record in the same commit (:mod:`ifmesh.node.identity.rotation`); otherwise it
is a conflict, reported and refused, and the old pin stays.

Pins also live in the state directory (:mod:`ifmesh.node.identity.pinfile`) and those win: a
force-push that rewrites history cannot un-pin a key this node has seen.

The book is written by the git bridge's thread and read by the mesh on the event loop: each
change replaces the whole mapping, so a reader sees the old or the new one, never half.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from ifmesh.node.identity import rotation
from ifmesh.node.identity.errors import BadRotation, KeyConflict
from ifmesh.node.identity.keys import PublicKey, parse_public_key

FIRST_USE, ROTATED, OVERRIDDEN, LOCAL = "first use", "rotation", "operator override", "local"


@dataclass(frozen=True)
class Pin:
    session: str
    key: PublicKey
    commit: str  # where it was pinned ("" when not from git)
    how: str  # FIRST_USE, ROTATED, OVERRIDDEN or LOCAL
    depth: int = 0  # first-parent depth of that commit (0: not known)


@dataclass(frozen=True)
class KeyFile:
    """What one commit changed about a session's key files (None: absent at that commit)."""

    session: str
    key: str | None
    rotation: bytes | None
    commit: str
    depth: int


@dataclass(frozen=True)
class PinConflict:
    session: str
    pinned: str  # short names of the keys
    offered: str
    commit: str
    reason: str

    def error(self) -> KeyConflict:
        return KeyConflict(
            f"{self.session}: the branch at {self.commit[:12]} shows key {self.offered}, but"
            f" {self.pinned} is pinned ({self.reason}). Refused: rotate with `ifmesh keys rotate`"
            " on the session's host, or have an operator override it (`ifmesh keys override`)"
        )


Observed = Pin | PinConflict | None


class PinBook:
    def __init__(
        self,
        pins: Iterable[Pin] = (),
        *,
        operator_keys: Collection[PublicKey] = (),
        on_pin: Callable[[Pin], None] | None = None,
    ) -> None:
        self._pins: Mapping[str, Pin] = MappingProxyType({p.session: p for p in pins})
        self.operator_keys = tuple(operator_keys)
        self.conflicts: Mapping[str, PinConflict] = MappingProxyType({})
        self._refused: Mapping[str, frozenset[bytes]] = MappingProxyType({})
        self.on_pin = on_pin
        self.version = 0  # counts changes (pins and conflicts), for whoever waits on them

    def get(self, session: str) -> Pin | None:
        return self._pins.get(session)

    @property
    def pins(self) -> Mapping[str, Pin]:
        return self._pins

    def refused_key(self, session: str, raw: bytes) -> bool:
        """Whether ``raw`` is a key the branch offered for ``session`` and this book refused."""
        return raw in self._refused.get(session, frozenset())

    def pin(self, pin: Pin) -> None:
        self._pins = MappingProxyType({**self._pins, pin.session: pin})
        self.version += 1
        if pin.session in self.conflicts:
            self.conflicts = MappingProxyType(
                {s: c for s, c in self.conflicts.items() if s != pin.session}
            )
        if self.on_pin is not None:
            self.on_pin(pin)

    def observe(self, change: KeyFile) -> Observed:
        """Applies one commit's key files for one session; the new pin, a conflict, or None
        (nothing changed: same key, or the file was removed — a removal never un-pins)."""
        if change.key is None:
            return None
        offered = parse_public_key(change.key)
        current = self._pins.get(change.session)
        if offered is None:
            return self._conflict(change, current, "?", "the .pub file is no Ed25519 key")
        if current is None:
            pin = Pin(change.session, offered, change.commit, FIRST_USE, change.depth)
            self.pin(pin)
            return pin
        if current.key.raw == offered.raw:
            return None
        if change.rotation is None:
            return self._conflict(change, current, offered.short, "no rotation record", offered)
        try:
            record = rotation.parse(change.rotation)
            signer = rotation.verify(
                record,
                session=change.session,
                pinned=current.key,
                new=offered,
                operator_keys=self.operator_keys,
            )
        except BadRotation as exc:
            return self._conflict(change, current, offered.short, str(exc), offered)
        how = ROTATED if signer == "previous" else OVERRIDDEN
        pin = Pin(change.session, offered, change.commit, how, change.depth)
        self.pin(pin)
        return pin

    def _conflict(
        self,
        change: KeyFile,
        current: Pin | None,
        offered: str,
        reason: str,
        key: PublicKey | None = None,
    ) -> PinConflict:
        conflict = PinConflict(
            change.session, current.key.short if current else "-", offered, change.commit, reason
        )
        self.conflicts = MappingProxyType({**self.conflicts, change.session: conflict})
        self.version += 1
        if key is not None:
            known = self._refused.get(change.session, frozenset())
            self._refused = MappingProxyType({**self._refused, change.session: known | {key.raw}})
        return conflict
