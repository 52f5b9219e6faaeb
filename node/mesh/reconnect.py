"""When to rebuild a failed pair, and which offer/answer belongs to the current build.

aiortc has no rollback and no restartIce, so a pair that fails is rebuilt from a fresh
RTCPeerConnection. Two things keep that sane:

* :class:`Backoff` spaces the rebuilds: jittered exponential delays from about 250 ms up to
  5 s, so a peer that is gone for good costs little and a room of nodes that lost the same
  peer does not rebuild in lock-step.
* :class:`PairEpochs` numbers the builds of each pair. The offerer (lower session id) bumps
  the epoch for every build; offers, answers and candidates carry it, and anything for an
  older epoch is ignored (a late answer to an abandoned offer must not be applied to the new
  connection). Epochs start from the wall clock in milliseconds, so a restarted offerer
  still outbids the epoch its previous incarnation reached (one build per millisecond is far
  above what the backoff allows).

Sans-IO: the caller passes ``now`` where time matters and a ``random.Random`` for the jitter.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class BackoffConfig:
    initial: float = 0.25
    maximum: float = 5.0
    factor: float = 2.0
    jitter: float = 0.5  # each delay is drawn from [delay * (1 - jitter), delay]

    def __post_init__(self) -> None:
        if not 0 < self.initial <= self.maximum or self.factor < 1 or not 0 <= self.jitter < 1:
            raise ValueError("backoff needs 0 < initial <= maximum, factor >= 1, 0 <= jitter < 1")


@dataclass(slots=True)
class Backoff:
    """Delays for successive failed attempts; :meth:`reset` after a success."""

    config: BackoffConfig = field(default_factory=BackoffConfig)
    rng: random.Random = field(default_factory=random.Random)
    attempts: int = 0

    def next_delay(self) -> float:
        """The wait before the next attempt (and count it)."""
        ceiling = min(self.config.maximum, self.config.initial * self.config.factor**self.attempts)
        self.attempts += 1
        return ceiling * (1 - self.config.jitter * self.rng.random())

    def reset(self) -> None:
        self.attempts = 0


class PairEpochs:
    """Current epoch per peer: bumped by the offerer, adopted by the answerer."""

    def __init__(self, start: int) -> None:
        self._start = start
        self._current: dict[str, int] = {}
        self._used: dict[str, int] = {}  # highest epoch we offered; never forgotten

    def current(self, peer: str) -> int | None:
        return self._current.get(peer)

    def bump(self, peer: str) -> int:
        """A new build of the pair with ``peer`` (we offer): its epoch."""
        epoch = max(self._start, self._used.get(peer, self._start - 1) + 1)
        self._used[peer] = self._current[peer] = epoch
        return epoch

    def adopt(self, peer: str, epoch: int) -> bool:
        """An offer for ``epoch`` arrived (we answer): True if it starts a newer build."""
        known = self._current.get(peer)
        if known is not None and epoch <= known:
            return False
        self._current[peer] = epoch
        return True

    def is_current(self, peer: str, epoch: int) -> bool:
        return self._current.get(peer) == epoch

    def forget(self, peer: str) -> None:
        """The peer left the room: its next incarnation may offer below what we adopted."""
        self._current.pop(peer, None)
