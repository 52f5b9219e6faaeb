"""Putting this session's public key on the coordination branch, once, before it speaks.

At start, after the first fetch and once the keys already on the branch are pinned
(:mod:`ifmesh.node.gitsync.verifying`), the bridge compares what the branch pins for its
session with its own key:

* nothing pinned: ``.ifmesh/keys/<session>.pub`` is committed on the branch's tip and pushed
  (compare-and-swap; a lost race fetches and tries again), so peers can pin it before this
  node's first message reaches them;
* the same key: nothing to do (the file is put back if someone changed it: the pin stands);
* another key: the node has a rotation record from that key (``ifmesh keys rotate``) or an
  operator's override (``ifmesh keys override``) in its state directory, which is committed
  with the new ``.pub``; without one it cannot speak for the session, and says so
  (:class:`KeyNotAccepted`).

A commit of its own, not part of the session's chain (:mod:`ifmesh.node.gitsync.chain`): the
chain replays only the log and STATUS, and the key is needed on the branch first.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import structlog

from ifmesh.node.errors import GitSyncError
from ifmesh.node.gitsync.chain import OwnChain
from ifmesh.node.gitsync.clone import Clone, PushOutcome
from ifmesh.node.gitsync.keyfiles import key_file_path, rotation_path
from ifmesh.node.gitsync.reader import BranchReader
from ifmesh.node.gitsync.verified_segments import VerifiedSegments
from ifmesh.node.gitsync.verifying import LogVerifier
from ifmesh.node.identity.gate import Gate
from ifmesh.node.identity.keys import PublicKey
from ifmesh.node.identity.pins import PinBook
from ifmesh.node.identity.rotation import RotationRecord

log = structlog.get_logger(__name__)

ATTEMPTS = 12
# A room starting at once has every bridge publishing at once: lost races back off, jittered
# (full jitter, doubling from BACKOFF_BASE up to BACKOFF_CAP seconds).
BACKOFF_BASE = 0.05
BACKOFF_CAP = 1.0


class KeyNotAccepted(GitSyncError):
    """The branch pins another key for this session and no rotation record explains ours."""

    code = "key_not_accepted"


class KeyNotPublished(GitSyncError):
    """The key could not be pushed (lost every race, or the remote refused)."""

    code = "key_not_published"


@dataclass(frozen=True)
class OwnKey:
    """What this session publishes: its public key, and the record moving the pin to it."""

    session: str
    key: PublicKey
    rotation: RotationRecord | None = None

    def files(self) -> dict[str, bytes]:
        files = {key_file_path(self.session): (self.key.text + "\n").encode()}
        if self.rotation is not None:
            files[rotation_path(self.session)] = self.rotation.encode()
        return files


def files_needed(own: OwnKey, pins: PinBook, clone: Clone, tip: str | None) -> dict[str, bytes]:
    """The files to commit so the branch pins (or keeps) this session's key; raises
    :class:`KeyNotAccepted` when it cannot."""
    pinned = pins.get(own.session)
    files = own.files()
    if pinned is not None and pinned.key.raw != own.key.raw:
        record = own.rotation
        if record is None or record.previous != pinned.key.text:
            raise KeyNotAccepted(
                f"the coordination branch pins key {pinned.key.short} for {own.session}"
                f" ({pinned.how} at {pinned.commit[:12]}), and this state directory holds key"
                f" {own.key.short}: peers would refuse every event. Restore the old key, or"
                " have an operator override the pin (`ifmesh keys override`; see"
                " docs/security.md)"
            )
    if tip is None:
        return files
    return {path: data for path, data in files.items() if clone.read(tip, path) != data}


def publish(
    clone: Clone,
    files: Mapping[str, bytes],
    session: str,
    fetch: Callable[[], None],
    rng: random.Random,
) -> str | None:
    """Commits ``files`` on the remote tip and pushes until it lands; returns the new tip (None
    when nothing was needed). ``fetch()`` refreshes the remote-tracking ref after a lost race.
    Blocking (it sleeps between attempts): the bridge's worker thread runs it."""
    for attempt in range(ATTEMPTS):
        tip = clone.ref(clone.remote_ref)
        wanted = {p: d for p, d in files.items() if tip is None or clone.read(tip, p) != d}
        if not wanted:
            return None
        sha = clone.commit_files(tip, wanted, f"chore: Publish {session} key")
        if clone.push(sha) is PushOutcome.LANDED:
            clone.set_ref(clone.remote_ref, sha)
            log.info("gitsync.key_published", session=session, commit=sha[:12])
            return sha
        time.sleep(rng.uniform(0, min(BACKOFF_CAP, BACKOFF_BASE * 2**attempt)))
        fetch()
    raise KeyNotPublished(
        f"{session}'s key did not land in {ATTEMPTS} attempts (the branch is busy); it is"
        " tried again at the next fetch"
    )


class KeyPublisher:
    """The bridge's key publishing: at start (:class:`KeyNotAccepted` stops the start) and,
    while it has not landed, again after each fetch (problems reported through ``record``)."""

    def __init__(
        self,
        own: OwnKey,
        clone: Clone,
        verifier: LogVerifier,
        *,
        seed_glob: str | None,
        rng: random.Random,
        record: Callable[[GitSyncError], None],
    ) -> None:
        self.own = own
        self._clone = clone
        self._verifier = verifier
        self._seed_glob = seed_glob
        self._rng = rng
        self._record = record
        self.pending = True

    def publish(self, *, starting: bool = False) -> None:
        clone = self._clone
        tip = clone.ref(clone.remote_ref)
        if tip is not None:
            for problem in self._verifier.read_keys(tip):
                self._record(problem)
        try:
            files = files_needed(self.own, self._verifier.gate.pins, clone, tip)
        except KeyNotAccepted as exc:
            if starting:
                raise
            self._record(exc)
            return
        if files:
            try:
                publish(clone, files, self.own.session, self._fetch, self._rng)
            except GitSyncError as exc:
                self._record(exc)
                return
        self.pending = False

    def _fetch(self) -> None:
        self._clone.fetch(self._seed_glob, maintenance=False)


def attach(
    gate: Gate | None,
    own: OwnKey | None,
    clone: Clone,
    reader: BranchReader,
    chain: OwnChain,
    state_dir: Path,
    *,
    seed_glob: str | None,
    rng: random.Random,
    record: Callable[[GitSyncError], None],
) -> KeyPublisher | None:
    """Signed events on a bridge: the reader verifies others' events (sealed segments verified
    before, as ``state_dir`` records, are taken as they are), the chain knows which key speaks
    for our log, and the publisher that puts our key on the branch (None without one)."""
    if gate is None:
        return None
    reader.verifier = verifier = LogVerifier(clone, gate, VerifiedSegments(state_dir))
    if own is None:
        return None
    chain.own_key = own.key
    return KeyPublisher(own, clone, verifier, seed_glob=seed_glob, rng=rng, record=record)
