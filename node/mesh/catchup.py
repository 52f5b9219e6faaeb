"""Catch-up: what each side of a fresh channel sends first, and whether both sides have.

When a pair's channel opens (a new pair epoch), a peer may have missed some of our events: the
ones after its last git fetch and before the channel existed. So the first frames on every
channel are our catch-up — the recent events the runtime's provider names — then one ``U``
("caught up") frame (:mod:`ifmesh.node.mesh.framing`). The pair queues them synchronously when
the channel opens, before it reads any frame from it, so they precede every ack we send on that
channel (:mod:`ifmesh.node.mesh.outbox`); a competing claim we made while the channel did not
exist therefore reaches the peer before our ack of its claim.

Catch-up is *exchanged* on a channel once we have queued ours and received the peer's ``U``
(which comes after all of the peer's catch-up, in the channel's order). Until it is exchanged
with every member, what a claim's acks say is incomplete; git decides instead. A provider that
fails sends no ``U``, so the exchange never completes on that channel rather than wrongly.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import structlog

from ifmesh.node.mesh.frame_writer import FrameWriter
from ifmesh.node.protocol import codec
from ifmesh.node.protocol.messages import Envelope

log = structlog.get_logger(__name__)

CatchUpProvider = Callable[[str], Sequence[Envelope]]
"""Given a peer whose channel just opened, the events to send it first (oldest first). Called
inside the channel's open callback: it must not block."""


@dataclass(slots=True)
class CatchUp:
    """Catch-up on one channel (one pair epoch)."""

    epoch: int
    sent: bool = False  # ours and our U frame are queued
    received: bool = False  # the peer's U frame arrived

    @property
    def exchanged(self) -> bool:
        return self.sent and self.received


def catch_up_frames(
    provider: CatchUpProvider | None, peer: str, writer: FrameWriter
) -> list[bytes] | None:
    """The frames that open a channel to ``peer``: the provider's events, then a ``U`` frame.
    None if the provider (or encoding what it gave) failed: then nothing is sent."""
    frames: list[bytes] = []
    count = 0
    if provider is not None:
        try:
            for event in provider(peer):
                frames += writer.message(codec.encode(event))
                count += 1
        except Exception:  # a bug in the provider must not take the channel down
            log.exception("catch_up_failed", peer=peer)
            return None
    frames.append(writer.caught_up(count))
    return frames
