"""The mesh: this node's data channels to every other member of its room, and its API.

``async with Mesh(config) as mesh:`` joins the room through the signaling server and keeps one
:class:`~node.mesh.pair.Pair` per other member. The owner then uses ``broadcast``, ``send``,
``request``/``reply`` (from :class:`~node.mesh.messaging.Messaging`) and ``events()``; what
arrives is sorted by the :class:`~node.mesh.inbox.Inbox`. Everything that happens arrives
through three entry points, each run on the event loop and never concurrently with another:
signaling notices (one dispatcher task, in order), frames from a pair's channel (aiortc
callbacks), and the liveness timer (one task, woken at the earliest deadline of all pairs).

Roster rules. The room's roster (from signaling) says whom to build pairs with; the data plane
says who is reachable. So a peer that drops off the roster keeps its working channel (its
signaling connection may be what failed, or the server restarted), a ``peer-left`` with reason
``replaced`` ends the pair at once (the peer restarted under the same id), and ``left`` stops
rebuilds. After the server comes back, members re-join and new members build pairs as usual.

Roles (node, observer, operator) come stamped on the roster; the :class:`~node.mesh.roles.RoleGate`
judges every message of an observer or operator, and ``excused`` names who never counts for a claim.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import secrets
import time
from collections.abc import Callable, Coroutine
from types import TracebackType

import structlog

from ifmesh.node.errors import IfmeshError, TransportError
from ifmesh.node.mesh.catchup import CatchUpProvider, catch_up_frames
from ifmesh.node.mesh.config import MeshConfig
from ifmesh.node.mesh.errors import MeshClosed, PeerUnavailable, SignalingRefused
from ifmesh.node.mesh.events import (
    DownReason,
    MeshEvent,
    MeshReady,
    PeerCaughtUp,
    PeerDown,
    PeerMetrics,
    PeerState,
    PeerSuspect,
    PeerUp,
    SignalingChanged,
    Subscription,
)
from ifmesh.node.mesh.frame_writer import FrameWriter
from ifmesh.node.mesh.framing import FrameEvent
from ifmesh.node.mesh.inbox import DeclinePolicy, HintHandler, Inbox, MessageHandler
from ifmesh.node.mesh.messaging import Messaging
from ifmesh.node.mesh.pair import Pair
from ifmesh.node.mesh.peer import PeerLink
from ifmesh.node.mesh.reconnect import PairEpochs
from ifmesh.node.mesh.roles import OperatorAnswerHandler, RoleGate
from ifmesh.node.mesh.signaling_client import (
    SignalingClient,
    SignalingDown,
    SignalingNotice,
    SignalingUp,
)
from ifmesh.signaling.protocol import Answer, Candidate, Error, Offer, PeerJoined, PeerLeft

log = structlog.get_logger(__name__)


class Mesh(Messaging):
    def __init__(self, config: MeshConfig, *, rng: random.Random | None = None) -> None:
        self.config = config
        self.session = config.session
        self.rng = rng or random.Random()
        self.ice_servers = config.rtc_ice_servers()
        # Wall-clock start: a restarted offerer outbids its previous incarnation's epochs.
        self.epochs = PairEpochs(start=time.time_ns() // 1_000_000)
        self.writer = FrameWriter(config.limits)
        self.inbox = Inbox(self.writer, config.dedupe_capacity)
        # Who may send what, by the roles the signaling server stamps on the roster.
        self.role_gate = self.inbox.roles = RoleGate(self.writer)
        self.pairs: dict[str, Pair] = {}
        self.roster: frozenset[str] = frozenset()
        self._notices: asyncio.Queue[SignalingNotice] = asyncio.Queue()
        self._changed = asyncio.Event()
        self._timer_wake = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()
        self._fatal: SignalingDown | None = None
        self._dispatcher: asyncio.Task[None] | None = None
        self._timer: asyncio.Task[None] | None = None
        self._ready = self._closed = False
        self._catch_up: CatchUpProvider | None = None
        self.signaling = SignalingClient(
            config.signaling_url, config.room, config.session, self._notices.put_nowait,
            token=config.token, capabilities=config.capabilities, backoff=config.backoff,
            rng=self.rng,
        )  # fmt: skip

    # --- lifecycle -------------------------------------------------------------------------

    async def __aenter__(self) -> Mesh:
        self._dispatcher = self._spawn(self._dispatch(), "mesh-signaling")
        self._timer = self._spawn(self._timer_loop(), "mesh-liveness")
        self.signaling.start()
        if self.config.join_timeout is not None:
            try:
                await self.wait_joined(self.config.join_timeout)
            except IfmeshError:
                await self.close()
                raise
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Says bye to every peer, drains every channel (bounded), then closes everything."""
        if self._closed:
            return
        self._closed = True
        open_pairs = [p for p in self.pairs.values() if p.is_open and p.link is not None]
        token = secrets.token_hex(8)
        byes = self.inbox.expect_acks(token)
        bye = [self.writer.bye(token, "closing")]
        for pair in open_pairs:
            assert pair.link is not None
            with contextlib.suppress(TransportError):
                byes.carried_by(pair.peer, pair.link)
                await pair.link.send(bye)
        links = [p.link for p in open_pairs if p.link is not None]
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.config.drain_timeout
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self.config.drain_timeout):
                await asyncio.gather(*(link.drain(self.config.drain_timeout) for link in links))
        said_bye = await byes.until({p.peer for p in open_pairs}, max(0.0, deadline - loop.time()))
        for task in (self._dispatcher, self._timer):
            if task is not None:
                task.cancel()
        for pair in list(self.pairs.values()):
            await pair.stop(None, "mesh closed")
        await self.signaling.close()
        # What is left are links closing: let them finish (sockets released), bounded.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self.config.drain_timeout):
                await asyncio.gather(*self._tasks, return_exceptions=True)
        self.inbox.fail_replies(MeshClosed("the mesh closed before a reply came"))
        self.inbox.close()
        log.info("mesh_closed", session=self.session, peers_said_bye=sorted(said_bye.acked))

    def _spawn(self, coro: Coroutine[object, object, None], name: str) -> asyncio.Task[None]:
        task = asyncio.create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("mesh_task_failed", task=task.get_name(), error=repr(task.exception()))

    def close_later(self, link: PeerLink) -> None:
        """Closes a retired link in the background (aiortc's close takes a few ms)."""
        self.inbox.link_retired(link)  # acks awaited on it will never count
        self._spawn(link.close(), f"close-{link.peer}-{link.epoch}")

    # --- state and waiting -----------------------------------------------------------------

    @property
    def excused(self) -> frozenset[str]:
        """Sessions excused from claims: those the server stamped observer or operator, on the
        roster or gone from it (node.mesh.roles, node.claims.asking)."""
        return self.role_gate.roles.restricted

    def now(self) -> float:
        return asyncio.get_running_loop().time()

    @property
    def peers_up(self) -> frozenset[str]:
        return frozenset(peer for peer, pair in self.pairs.items() if pair.is_open)

    @property
    def caught_up(self) -> frozenset[str]:
        """Peers with which catch-up has been exchanged both ways on the current channel (we
        queued ours, and the peer's caught-up frame arrived; see node.mesh.catchup)."""
        return frozenset(peer for peer, pair in self.pairs.items() if pair.caught_up)

    @property
    def decidable(self) -> frozenset[str]:
        """Peers a claim may be decided with on the mesh (docs/claims.md): catch-up exchanged
        on the current channel, and not suspect."""
        return frozenset(
            peer
            for peer, pair in self.pairs.items()
            if pair.caught_up and pair.metrics.state is not PeerState.SUSPECT
        )

    def metrics(self) -> dict[str, PeerMetrics]:
        """A snapshot of every peer's metrics (state, RTT, traffic, reconnects)."""
        result = {}
        for peer, pair in self.pairs.items():
            snapshot = pair.metrics.snapshot()
            snapshot.buffered = pair.link.buffered if pair.link is not None else 0
            snapshot.ice_pair = pair.link.ice_pair if pair.link is not None else None
            result[peer] = snapshot
        return result

    async def wait_joined(self, timeout: float) -> None:
        """Until the signaling server accepted our join; SignalingRefused if it never will."""
        await self._wait_until(lambda: self.signaling.is_joined, timeout, "join the room")

    async def wait_ready(self, timeout: float, peers: set[str] | None = None) -> None:
        """Until channels to ``peers`` (default: the whole roster, non-empty) are open."""

        def ready() -> bool:
            wanted = peers if peers is not None else self.roster
            return bool(wanted or peers is not None) and wanted <= self.peers_up

        await self._wait_until(ready, timeout, "form the mesh")

    async def signaling_joined(self) -> None:
        await self.signaling.joined.wait()

    async def _wait_until(self, predicate: Callable[[], bool], timeout: float, what: str) -> None:
        try:
            async with asyncio.timeout(timeout):
                while not predicate():
                    if self._fatal is not None:
                        raise SignalingRefused(self._fatal.reason, server_code=self._fatal.code)
                    if self._closed:
                        raise MeshClosed("the mesh is closed")
                    self._changed.clear()
                    await self._changed.wait()
        except TimeoutError:
            raise TransportError(
                f"{self.session} did not {what} within {timeout:g} s (peers up: "
                f"{sorted(self.peers_up)}, roster: {sorted(self.roster)})"
            ) from None

    def _state_changed(self) -> None:
        self._changed.set()
        complete = self.signaling.is_joined and self.roster <= self.peers_up
        if complete and not self._ready:
            self._emit(MeshReady(self.peers_up))
        self._ready = complete

    # --- events ----------------------------------------------------------------------------

    def events(self) -> Subscription:
        """Typed events; the first caller also gets everything since the mesh started."""
        return self.inbox.subscribe(closed=self._closed)

    @property
    def closed(self) -> bool:
        return self._closed

    def on_hint(self, topic: str, handler: HintHandler) -> None:
        """Hands every hint on ``topic`` to ``handler(peer, data)`` as it arrives (on the
        loop; it must not block)."""
        self.inbox.hint_handlers[topic] = handler

    def on_catch_up(self, provider: CatchUpProvider) -> None:
        """Names what each new channel carries first: ``provider(peer)``, called when the
        channel opens and before anything is read from it, returns the events to send that
        peer (this node's recent events it may have missed). They are queued ahead of every
        ack on that channel and followed by a caught-up frame (node.mesh.catchup). Register it
        before entering the mesh; it must not block."""
        self._catch_up = provider

    def catch_up_frames(self, peer: str) -> list[bytes] | None:
        return catch_up_frames(self._catch_up, peer, self.writer)

    def on_decline(self, policy: DeclinePolicy) -> None:
        """Names the acked messages this node answers with a nack instead of an ack:
        ``policy(message)``, asked after the message was handed to the message handler (so a
        board that folds it there already holds it). It must not block."""
        self.inbox.decline = policy

    def on_operator_answer(self, handler: OperatorAnswerHandler) -> None:
        """Names who gives an operator peer's answer to an ask-release (node.mesh.roles)."""
        self.role_gate.answer = handler

    def on_message(self, handler: MessageHandler, after: Callable[[], None] | None = None) -> None:
        """Hands each message to ``handler`` in the delivery callback, in order per sender (no
        hop through the loop; it must not block); ``after``, once its ack is queued."""
        self.inbox.message_handler, self.inbox.after_delivery = handler, after

    def _emit(self, event: MeshEvent) -> None:
        self.inbox.emit(event)

    def on_pair_up(self, pair: Pair) -> None:
        assert pair.link is not None
        self._emit(PeerUp(pair.peer, pair.link.epoch, pair.metrics.reconnects))
        self._timer_wake.set()
        self._state_changed()

    def on_pair_caught_up(self, pair: Pair) -> None:
        assert pair.link is not None
        self._emit(PeerCaughtUp(pair.peer, pair.link.epoch))
        self._state_changed()

    def on_pair_suspect(self, pair: Pair, silence: float) -> None:
        log.info("peer_suspect", peer=pair.peer, silence=round(silence, 2))
        self._emit(PeerSuspect(pair.peer, silence))

    def on_pair_down(self, pair: Pair, reason: DownReason, detail: str) -> None:
        log.info("peer_down", peer=pair.peer, reason=reason.value, detail=detail)
        self._emit(PeerDown(pair.peer, reason, detail))
        self.inbox.fail_replies(
            PeerUnavailable(f"{pair.peer} went down ({reason.value})"), pair.peer
        )
        self._state_changed()

    # --- receiving -------------------------------------------------------------------------

    def on_frame_event(self, pair: Pair, link: PeerLink, event: FrameEvent) -> None:
        self.inbox.on_frame_event(pair, link, event)

    # --- signaling -------------------------------------------------------------------------

    async def signal(self, frame: Offer | Answer | Candidate) -> bool:
        return await self.signaling.send(frame)

    def _pair(self, peer: str) -> Pair:
        pair = self.pairs.get(peer)
        if pair is None:
            pair = self.pairs[peer] = Pair(self, peer)
        return pair

    async def _dispatch(self) -> None:
        while True:
            notice = await self._notices.get()
            try:
                await self._on_notice(notice)
            except Exception:  # one bad negotiation must not stop the dispatcher
                log.exception("signaling_notice_failed", kind=type(notice).__name__)

    async def _on_notice(self, notice: SignalingNotice) -> None:
        if isinstance(notice, SignalingUp):
            self.role_gate.roles.joined(notice.joined.roster, self.session)
            self.roster = frozenset(m.session for m in notice.joined.roster) - {self.session}
            for peer in self.roster:  # on the roster again: a bye we heard before is over
                pair = self._pair(peer)
                pair.in_room, pair.left = True, False
                pair.wake()
            for peer, pair in self.pairs.items():
                pair.in_room = peer in self.roster
            self._emit(SignalingChanged(True, f"joined {notice.joined.room}"))
        elif isinstance(notice, SignalingDown):
            self._fatal = notice if notice.fatal else None
            self._emit(SignalingChanged(False, notice.reason, notice.fatal))
        elif isinstance(notice, PeerJoined) and notice.session != self.session:
            self.role_gate.roles.seen(notice.session, notice.role)
            self.roster = self.roster | {notice.session}
            pair = self._pair(notice.session)
            pair.in_room, pair.left = True, False
            pair.wake()
        elif isinstance(notice, PeerLeft):
            self.roster = self.roster - {notice.session}
            pair_or_none = self.pairs.get(notice.session)
            if pair_or_none is not None:
                pair_or_none.in_room = False
                if notice.reason == "left":
                    pair_or_none.left = True
                elif notice.reason == "replaced" and pair_or_none.link is not None:
                    self.epochs.forget(notice.session)
                    await pair_or_none.stop(DownReason.REPLACED, "session replaced")
                    del self.pairs[notice.session]
        elif isinstance(notice, Offer) and notice.sender is not None:
            await self._pair(notice.sender).on_offer(notice)
        elif isinstance(notice, Answer) and notice.sender in self.pairs:
            await self.pairs[notice.sender].on_answer(notice)
        elif isinstance(notice, Candidate) and notice.sender in self.pairs:
            await self.pairs[notice.sender].on_candidate(notice)
        elif isinstance(notice, Error):
            log.warning("signaling_error", code=notice.code, message=notice.message)
        self._state_changed()

    # --- liveness --------------------------------------------------------------------------

    async def _timer_loop(self) -> None:
        while True:
            self._timer_wake.clear()
            stretch = self.config.liveness.stretch_for(len(self.pairs))
            timers = []
            for liveness in (p.liveness for p in self.pairs.values() if p.liveness is not None):
                liveness.stretch = stretch  # the room's size sets the ping interval
                if (timer := liveness.get_timer()) is not None:
                    timers.append(timer)
            delay = max(0.0, min(timers) - self.now()) if timers else None
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(delay):
                    await self._timer_wake.wait()
            now = self.now()
            for pair in list(self.pairs.values()):
                pair.handle_timer(now)
