"""The git tier's gate: every event read from another session's log is verified before the
board (or the scribe) sees it.

A forged line pushed into a session's log by anyone who can push is refused here, counted and
logged once (:class:`ifmesh.node.identity.gate.Gate`), and never reaches ``git_events`` or the
bridge's outputs. Before the logs, the reader hands the commits' key files to the pin book
(:mod:`ifmesh.node.gitsync.keyfiles`), so an event and the key that signs it, pushed together,
are read together. An event signed by a key not pinned yet is held (at most
:data:`HELD_LIMIT`, the oldest refused beyond) and asked about again after each read.

STATUS files of sessions without a node are not signed (the seed's loop writes them); events
derived from them are refused only for a session whose key was pinned at or before that
commit: such a session speaks through its signed log.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator, Sequence

from ifmesh.node.errors import GitSyncError
from ifmesh.node.gitsync.clone import Clone
from ifmesh.node.gitsync.keyfiles import KeyFileReader
from ifmesh.node.gitsync.verified_segments import VerifiedSegments
from ifmesh.node.identity.errors import KeyNotPinned, Unsigned
from ifmesh.node.identity.gate import Gate, Verdict
from ifmesh.node.identity.pins import PinConflict
from ifmesh.node.protocol.messages import Envelope

HELD_LIMIT = 1024
ORIGIN = "git"


class KeyRefused(GitSyncError):
    """A key on the branch that conflicts with the pinned one (see the message)."""

    code = "key_conflict"


class LogVerifier:
    def __init__(self, clone: Clone, gate: Gate, verified: VerifiedSegments | None = None) -> None:
        self.gate = gate
        self.verified = verified
        self._keys = KeyFileReader(clone)
        self._held: deque[Envelope] = deque()
        self._pins_seen = -1

    def pins_changed(self) -> bool:
        """True once after each change of the pins (the node then judges what it held)."""
        version = self.gate.pins.version
        changed, self._pins_seen = version != self._pins_seen, version
        return changed

    def read_keys(self, tip: str) -> list[GitSyncError]:
        """Pins the keys the commits up to ``tip`` publish; conflicts come back as errors."""
        problems: list[GitSyncError] = []
        for change in self._keys.read(tip):
            outcome = self.gate.pins.observe(change)
            if isinstance(outcome, PinConflict):
                problems.append(KeyRefused(str(outcome.error())))
        return problems

    def admitted(
        self, session: str, messages: Sequence[Envelope], sealed: bytes | None
    ) -> Iterator[Envelope]:
        """Those of ``messages`` (a piece of ``session``'s log) that may be read now. A whole
        sealed segment (its blob: ``sealed``) that this node verified before under the key
        pinned now is taken as it is (:mod:`~ifmesh.node.gitsync.verified_segments`); one whose
        every event is accepted is noted as verified."""
        verified = self.verified if sealed is not None else None
        pin = self.gate.pins.get(session) if verified is not None else None
        if verified is None or pin is None:
            yield from (message for message in messages if self.admit(message))
            return
        assert sealed is not None
        if verified.key_for(session, sealed) == pin.key.text:
            self.gate.taken_verified += len(messages)
            yield from messages
            return
        every = True
        for message in messages:
            if self.admit(message):
                yield message
            else:
                every = False
        after = self.gate.pins.get(session)  # a key pinned meanwhile: not noted
        if every and after is not None and after.key.text == pin.key.text:
            verified.add(session, sealed, pin.key.text)

    def admit(self, message: Envelope) -> bool:
        """Whether a log's event may be read into the board now (False: refused or held)."""
        judgement = self.gate.judge(message)
        if judgement.verdict is Verdict.ACCEPT:
            return True
        assert judgement.error is not None
        if judgement.verdict is Verdict.HOLD:
            self._held.append(message)
            if len(self._held) > HELD_LIMIT:
                oldest = self._held.popleft()
                self.gate.refuse(ORIGIN, oldest, KeyNotPinned(f"held too long: {judgement.error}"))
        else:
            self.gate.refuse(ORIGIN, message, judgement.error)
        return False

    def released(self) -> list[Envelope]:
        """Held events that may now be read (their key got pinned); the refused ones are
        counted, the rest stay held."""
        held, self._held = self._held, deque()
        ready = [message for message in held if self.admit(message)]
        return ready

    def may_derive(self, session: str, depth: int) -> bool:
        """Whether a STATUS change at first-parent ``depth`` may become events for ``session``."""
        pin = self.gate.pins.get(session)
        return pin is None or pin.depth == 0 or depth < pin.depth

    def refuse_derived(self, event: Envelope) -> None:
        self.gate.refuse(
            ORIGIN,
            event,
            Unsigned(
                f"a STATUS change for {event.source}, whose key is pinned, without its log:"
                " its events come only signed, from its log"
            ),
        )
