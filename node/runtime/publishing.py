"""How a node publishes its own events: to git (its log, committed and pushed by the bridge),
to the mesh (broadcast, or sent for acknowledgement when a claim is being decided) and to the
agents watching its event stream.

A mixin of :class:`~ifmesh.node.runtime.node.Node`, which owns the parts it uses; kept apart
because publishing is one idea with its own ordering rules (a claim is queued on every peer's
channel before anything received later is acked; a command's broadcast is handed to the mesh
before the command replies).
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Sequence
from typing import Any

import structlog

from ifmesh.node import errors
from ifmesh.node.control.server import EventFeed
from ifmesh.node.control.views import event_for_stream
from ifmesh.node.gitsync.runner import AsyncGitSync
from ifmesh.node.mesh.mesh import Mesh
from ifmesh.node.mesh.messaging import AckedSend
from ifmesh.node.protocol.messages import Envelope
from ifmesh.node.runtime.journal import Journal
from ifmesh.node.runtime.statedir import SeqReservation

log = structlog.get_logger(__name__)


class Publishing:
    git: AsyncGitSync | None
    mesh: Mesh | None
    feed: EventFeed
    _sent: SeqReservation | None
    _journal: Journal | None
    _tasks: list[asyncio.Task[None]]

    def _after_change(self) -> None:
        raise NotImplementedError

    def publish(self, events: Sequence[Envelope]) -> None:
        """Events the replica accepted from this session: to git, to the mesh, to watchers.
        The broadcast runs beside the caller (timers, git verdicts)."""
        if self._record(events):
            self._background(self._broadcast(events))
        self._announce(events)

    async def publish_now(self, events: Sequence[Envelope]) -> None:
        """:meth:`publish` for a command: the broadcast is handed to the mesh before the
        command replies, not on a later turn of the loop behind the reply."""
        if self._record(events):
            await self._broadcast(events)
            # aiortc transmits from tasks the send scheduled: let them put the datagrams on the
            # wire now, before this command's reply is encoded and written.
            await asyncio.sleep(0)
        self._announce(events)

    def publish_claim(self, events: Sequence[Envelope]) -> AckedSend | None:
        """:meth:`publish` for a claim being decided (node.claims): the claim is in every open
        peer's channel queue, sent for acknowledgement, when this returns (no ``await``: a
        competing claim received later is answered behind it). None without open peers."""
        send = None
        if self._record(events):
            assert self.mesh is not None
            try:
                send = self.mesh.send_for_ack(events[0])
            except errors.IfmeshError as exc:
                log.warning("node.broadcast_failed", event=events[0].id, error=str(exc))
            if len(events) > 1:
                self._background(self._broadcast(events[1:]))
        self._announce(events)
        return send

    def _record(self, events: Sequence[Envelope]) -> bool:
        """Reserves the seqs and hands the events to git; whether the mesh should carry them."""
        if not events:
            return False
        if self._sent is not None:
            self._sent.record(max(e.seq for e in events), max(e.lamport for e in events))
        if self.git is not None:
            if self._journal is not None:  # kept until git's chain holds them: a kill -9
                self._journal.append(events, self.git.saved_seq)  # loses no sent event
            for event in events:
                self.git.submit(event)
        return self.mesh is not None and bool(self.mesh.peers_up)

    def _announce(self, events: Sequence[Envelope]) -> None:
        for event in events:
            self.feed.publish(event_for_stream(event, own=True))
        self._after_change()

    def background(self, work: Coroutine[Any, Any, Any]) -> None:
        """Runs ``work`` beside the node (a provisional claim's decision); cancelled at
        shutdown if still running."""
        self._background(work)

    def _background(self, work: Coroutine[Any, Any, Any]) -> None:
        """Runs ``work`` beside the node; cancelled at shutdown if still running."""
        task = asyncio.create_task(work)
        self._tasks.append(task)
        task.add_done_callback(self._tasks.remove)

    async def _broadcast(self, events: Sequence[Envelope]) -> None:
        assert self.mesh is not None
        for event in events:
            try:
                await self.mesh.broadcast(event)
            except errors.IfmeshError as exc:
                log.warning("node.broadcast_failed", event=event.id, error=str(exc))
