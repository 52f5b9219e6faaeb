"""Which effects a replica has told its session already, so a re-fold does not tell them twice.

A late event re-folds the log from the checkpoint before it, which produces again the effects
of every event after that checkpoint; only those not told before are new. The memory keeps the
newest :data:`TOLD_KEPT`: a re-fold reaches back a few hundred events, while a start-up's fold
of a long day (8 sessions' logs of 20,000 events) produced 137,000 effects, and remembering
every one was a node's largest memory after its events. A re-fold reaching further back than
the memory may tell an old effect again.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence

from ifmesh.node.board.effects import Effect

TOLD_KEPT = 16_384


class Told:
    def __init__(self, kept: int = TOLD_KEPT) -> None:
        self.kept = kept
        self._told: OrderedDict[Effect, None] = OrderedDict()  # oldest first

    def __len__(self) -> int:
        return len(self._told)

    def fresh(self, effects: Sequence[Effect]) -> list[Effect]:
        """``effects`` (one fold's) not told before, in order; from now on they are told."""
        told = self._told
        # All are looked up before any is remembered: remembering one may forget the oldest,
        # which a long re-fold would otherwise meet further on. A fold may repeat one.
        fresh = list(dict.fromkeys(e for e in effects if e not in told))
        for effect in fresh:
            told[effect] = None
        while len(told) > self.kept:
            told.popitem(last=False)
        return fresh
