"""Acknowledgements of one message, counted on the pair epoch that carried it.

Why per epoch: a claim is won on the mesh when every member has acked it and no lower-ordered
competing claim has arrived (DESIGN.md, "Data flow of one claim"). The second half rests on the
order of one channel: everything a peer sent us on a channel before its ack is already here when
the ack is (:mod:`ifmesh.node.mesh.outbox`). An ack that arrives on another build of the pair —
the channel broke and was rebuilt under a newer epoch — says nothing of what the peer sent before
it on the old channel, which may have been lost with it; so only an ack that comes back on the
very link that carried the message counts. A peer whose carrying link ended can no longer ack
on it: it is *lost* for this message, and the waiter stops waiting for it.

A peer may answer *nack* instead (it holds a git confirm record for a competing claim, see
docs/claims.md): one nack settles the wait, since git decides that claim whatever the others say.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol


class Carrier(Protocol):
    """The link a copy of the message left on (a :class:`~node.mesh.peer.PeerLink`)."""

    @property
    def epoch(self) -> int: ...


@dataclass(frozen=True, slots=True)
class Acks:
    """What became of one acknowledged message, peer by peer."""

    carried: Mapping[str, int]  # peer → the pair epoch its copy was handed to
    acked: frozenset[str]  # acked on the link (epoch) that carried it: these count
    elsewhere: frozenset[str]  # acked only on another link (a later epoch): not counted
    lost: frozenset[str]  # the carrying link ended before the peer's ack came back on it
    nacked: frozenset[str] = frozenset()  # declined: git must decide


class AckWait:
    """Acknowledgements of one id (a message, or a bye token) as they arrive."""

    def __init__(self) -> None:
        self._carriers: dict[str, Carrier] = {}
        self.acked: set[str] = set()
        self.elsewhere: set[str] = set()
        self.lost: set[str] = set()
        self.nacked: set[str] = set()
        self._changed = asyncio.Event()

    def carried_by(self, peer: str, link: Carrier) -> None:
        """The copy for ``peer`` was handed to ``link``: only an ack on ``link`` counts."""
        self._carriers[peer] = link

    def add(self, peer: str, link: Carrier) -> None:
        """An ack from ``peer`` arrived on ``link``."""
        if self._carriers.get(peer) is link:
            self.acked.add(peer)
            self._changed.set()
        else:
            self.elsewhere.add(peer)

    def declined(self, peer: str) -> None:
        """A nack from ``peer``, on whichever link: a refusal counts wherever it comes."""
        self.nacked.add(peer)
        self._changed.set()

    def link_retired(self, link: Carrier) -> None:
        """``link`` ended: a peer whose copy it carried and that has not acked never will."""
        for peer, carrier in self._carriers.items():
            if carrier is link and peer not in self.acked:
                self.lost.add(peer)
                self._changed.set()

    def report(self, peers: Iterable[str] | None = None) -> Acks:
        """The outcome so far, for ``peers`` (default: every peer a copy went to)."""
        wanted = set(self._carriers) if peers is None else set(peers)
        return Acks(
            carried={p: link.epoch for p, link in self._carriers.items() if p in wanted},
            acked=frozenset(self.acked & wanted),
            elsewhere=frozenset((self.elsewhere - self.acked) & wanted),
            lost=frozenset((self.lost - self.acked) & wanted),
            nacked=frozenset(self.nacked & wanted),
        )

    async def until(self, peers: set[str], timeout: float) -> Acks:
        """Waits until each of ``peers`` acked on its carrying link or lost that link, until
        one of them nacked, or until ``timeout``; then reports."""
        try:
            async with asyncio.timeout(timeout):
                while not peers <= self.acked | self.lost and not peers & self.nacked:
                    self._changed.clear()
                    await self._changed.wait()
        except TimeoutError:
            pass
        return self.report(peers)
