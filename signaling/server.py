"""The signaling server: the /ws route, frame dispatch, roster fan-out, start and shutdown.

Each WebSocket is read by its handler and written by its Connection's outbox. Frames are
decoded by ``protocol``, rosters live in a Directory (this process, or Redis), and every
refusal becomes an ``error`` frame with a stable code; a client cannot crash the server or
disturb other clients. Clocks are read here, at the edge, and passed down as ``now``.
The operators' pages (/healthz, /metrics) are ``status``; they read the server's ``census``.
The dashboard (/dashboard/) is a static page that joins rooms as a peer (``dashboard_page``).
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import time

from aiohttp import WSCloseCode, WSMsgType, web

from ifmesh.signaling import auth, errors
from ifmesh.signaling.config import ServerConfig
from ifmesh.signaling.connection import Connection, FrameSocket
from ifmesh.signaling.dashboard_page import DashboardPage
from ifmesh.signaling.directory import Directory, LocalDirectory
from ifmesh.signaling.limits import TokenBucket
from ifmesh.signaling.metrics import Census, SignalingMetrics
from ifmesh.signaling.protocol import (
    Answer,
    Candidate,
    ClientFrame,
    Join,
    Joined,
    Leave,
    Limits,
    Member,
    Offer,
    PeerJoined,
    PeerLeft,
    Ping,
    Pong,
    ServerClosing,
    decode_client_frame,
    encode_relay,
)
from ifmesh.signaling.rooms import Presence, Rooms, RosterChange
from ifmesh.signaling.status import StatusPages

__all__ = ["SignalingServer"]

log = logging.getLogger("signaling")


class SignalingServer:
    def __init__(self, config: ServerConfig) -> None:
        self.config = config
        self.limits = config.limits
        self._connections: dict[str, Connection] = {}
        self._local: dict[str, dict[str, Connection]] = {}  # room → session → connection
        self._handlers: set[asyncio.Task[object]] = set()
        self._stopping = False
        self._runner: web.AppRunner | None = None
        self._port = config.port
        self.metrics = SignalingMetrics(self.census)
        self.directory: Directory = self._make_directory()
        status = StatusPages(config, self.metrics, census=self.census, healthy=self.healthy)
        self.app = web.Application()
        self.app.router.add_get("/ws", self._websocket)
        self.app.router.add_routes(status.routes())
        self.app.router.add_routes(DashboardPage().routes())

    def _make_directory(self) -> Directory:
        if self.config.redis_url is None:
            rooms = Rooms(max_peers=self.limits.max_peers, max_rooms=self.limits.max_rooms)
            return LocalDirectory(rooms, self._on_change)
        from ifmesh.signaling.backplane import RedisDirectory

        directory: Directory = RedisDirectory(
            self.config, on_change=self._on_change, on_relay=self._deliver
        )
        return directory

    @property
    def port(self) -> int:
        return self._port

    @property
    def url(self) -> str:
        return f"ws://{self.config.host}:{self._port}/ws"

    def census(self) -> Census:
        return Census(
            connections=len(self._connections),
            rooms=len(self._local),
            peers=sum(len(members) for members in self._local.values()),
        )

    def healthy(self) -> bool:
        return self.directory.healthy() and not self._stopping

    # --- lifecycle ----------------------------------------------------------------------------

    async def start(self) -> None:
        await self.directory.start()
        self._runner = web.AppRunner(
            self.app, access_log=None, shutdown_timeout=self.config.shutdown_grace
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.config.host, self.config.port)
        await site.start()
        server = site._server
        sockets = getattr(server, "sockets", None) or []
        if sockets:
            self._port = int(sockets[0].getsockname()[1])
        if self.config.open:
            log.warning(
                "open_server auth=none host=%s note=%s",
                self.config.host,
                "no --secret-file: any client that reaches this server may join any room",
            )
        log.info(
            "listening url=%s instance=%s backplane=%s",
            self.url,
            self.config.instance_id,
            "redis" if self.config.redis_url else "none",
        )

    async def stop(self) -> None:
        """Graceful: every client gets ``server-closing`` and a 1001 close, members leave."""
        if self._stopping:
            return
        self._stopping = True
        log.info("shutting_down connections=%d", len(self._connections))
        for conn in list(self._connections.values()):
            conn.send(ServerClosing(reason="shutdown", retry_after=1.0))
            conn.close(WSCloseCode.GOING_AWAY, "server shutting down")
        if self._handlers:
            await asyncio.wait(set(self._handlers), timeout=self.config.shutdown_grace)
        if self._runner is not None:
            await self._runner.cleanup()
        await self.directory.close()
        log.info("stopped")

    # --- WebSocket ----------------------------------------------------------------------------

    async def _websocket(self, request: web.Request) -> web.StreamResponse:
        if self._stopping:
            return web.json_response({"error": "server shutting down"}, status=503)
        ws = FrameSocket(
            heartbeat=self.config.heartbeat,
            max_msg_size=self.limits.max_frame_bytes,
            compress=False,
        )
        ws.frame_limit = self.limits.max_frame_bytes
        ws.on_refused = lambda code: self.metrics.errors.inc(code=code)
        await ws.prepare(request)
        loop = asyncio.get_running_loop()
        conn = Connection(
            secrets.token_hex(8),
            ws,
            TokenBucket(self.limits.rate, self.limits.burst, loop.time()),
            send_queue=self.limits.send_queue,
            on_error=lambda code: self.metrics.errors.inc(code=code),
            on_relay_sent=self.metrics.relay_latency.observe,
            transport=request.transport,
        )
        task = asyncio.current_task()
        if task is not None:
            self._handlers.add(task)
        self._connections[conn.id] = conn
        self.metrics.connections_total.inc()
        deadline = loop.call_later(self.limits.join_deadline, self._join_deadline, conn)
        try:
            async for message in ws:
                if message.type in (WSMsgType.TEXT, WSMsgType.BINARY):
                    await self._on_frame(conn, message.data)
                elif message.type is WSMsgType.ERROR:
                    break
        finally:
            deadline.cancel()
            timed_out = isinstance(ws.exception(), asyncio.TimeoutError)
            await self._drop_membership(conn, "timeout" if timed_out else "closed")
            conn.close(WSCloseCode.OK, "")
            await conn.wait_closed(timeout=1.0)
            del self._connections[conn.id]
            if task is not None:
                self._handlers.discard(task)
        return ws

    # --- frames -------------------------------------------------------------------------------

    async def _on_frame(self, conn: Connection, data: str | bytes) -> None:
        self.metrics.frames.inc()
        received_at = time.time()
        if conn.closing:
            return
        if not conn.bucket.take(asyncio.get_running_loop().time()):
            conn.send_error(
                errors.RateLimited(
                    f"more than {self.limits.rate:g} frames/s (burst {self.limits.burst}); "
                    f"frame dropped, send again in {conn.bucket.retry_after():.3f} s"
                )
            )
            return
        frame: ClientFrame | None = None
        try:
            frame = decode_client_frame(data, max_bytes=self.limits.max_frame_bytes)
            await self._dispatch(conn, frame, received_at)
        except errors.SignalingError as error:
            self._refuse(conn, error, frame)
        except Exception:
            log.exception("internal_error conn=%s room=%s session=%s", *_who(conn))
            self._refuse(conn, errors.InternalError("the server failed on this frame"), frame)

    def _refuse(
        self, conn: Connection, error: errors.SignalingError, frame: ClientFrame | None
    ) -> None:
        ref = frame.type if frame is not None else None
        log.info(
            "error code=%s conn=%s room=%s session=%s ref=%s message=%s",
            error.code, *_who(conn), ref, json.dumps(str(error)),
        )  # fmt: skip
        conn.send_error(error, ref=ref)

    async def _dispatch(self, conn: Connection, frame: ClientFrame, received_at: float) -> None:
        if isinstance(frame, Join):
            await self._join(conn, frame)
        elif isinstance(frame, Offer | Answer | Candidate):
            await self._relay(conn, frame, received_at)
        elif isinstance(frame, Ping):
            conn.send(Pong(nonce=frame.nonce))
        elif isinstance(frame, Leave):
            if not conn.joined:
                raise errors.NotJoined("leave before join: this connection is in no room")
            await self._drop_membership(conn, "left")

    async def _join(self, conn: Connection, frame: Join) -> None:
        if conn.joined or conn.joining:
            raise errors.AlreadyJoined(
                f"this connection is already in room {conn.room!r} as {conn.session!r}; "
                "send leave first, or open another connection"
            )
        role = auth.admitted_role(
            self.config.secret, frame.token, room=frame.room, session=frame.session,
            asked=frame.role, now=time.time(),
        )  # fmt: skip
        member = Presence(
            frame.session, tuple(frame.capabilities), self.config.instance_id, conn.id, role
        )
        conn.joining = True
        try:
            roster = await self.directory.join(frame.room, member)
        finally:
            conn.joining = False
        conn.room, conn.session, conn.capabilities = frame.room, frame.session, member.capabilities
        conn.role = role
        conn.roster_version = roster.version
        self._local.setdefault(frame.room, {})[frame.session] = conn
        members = sorted(roster.members.values(), key=lambda m: m.session)
        conn.send(
            Joined(
                room=frame.room,
                session=frame.session,
                roster=[
                    Member(session=m.session, capabilities=list(m.capabilities), role=m.wire_role)
                    for m in members
                ],
                roster_version=roster.version,
                limits=Limits(
                    max_frame_bytes=self.limits.max_frame_bytes,
                    rate=self.limits.rate,
                    burst=self.limits.burst,
                    max_peers=self.limits.max_peers,
                ),
                heartbeat=self.config.heartbeat,
            )
        )
        self.metrics.joins.inc()
        log.info(
            "join room=%s session=%s role=%s conn=%s roster_version=%d members=%d",
            frame.room, frame.session, role, conn.id, roster.version, len(members),
        )  # fmt: skip

    async def _relay(
        self, conn: Connection, frame: Offer | Answer | Candidate, received_at: float
    ) -> None:
        if conn.room is None or conn.session is None:
            raise errors.NotJoined(f"{frame.type} before join: join a room first")
        if frame.to == conn.session:
            raise errors.InvalidField("cannot relay to yourself", path="to")
        target = self.directory.lookup(conn.room, frame.to)
        if target is None:
            raise errors.UnknownPeer(f"no member {frame.to!r} in room {conn.room!r}")
        text = encode_relay(frame, conn.session)
        self.metrics.relays.inc(type=frame.type)
        if target.instance == self.config.instance_id:
            self._deliver(target.conn, text, received_at)
        else:
            await self.directory.forward(target, text, received_at)

    def _deliver(self, conn_id: str, text: str, received_at: float) -> None:
        target = self._connections.get(conn_id)
        if target is not None and target.joined:
            target.send_text(text, received_at=received_at)

    def _join_deadline(self, conn: Connection) -> None:
        if not conn.joined and not conn.joining and not conn.closing:
            self._refuse(
                conn,
                errors.JoinTimeout(f"no join within {self.limits.join_deadline:g} s of connecting"),
                None,
            )

    # --- roster changes -----------------------------------------------------------------------

    async def _drop_membership(self, conn: Connection, reason: str) -> None:
        room, session = conn.room, conn.session
        if room is None or session is None:
            return
        self._forget(conn)
        conn.room = None
        conn.roster_version = 0
        if not conn.evicted:
            self.metrics.leaves.inc(reason=reason)
            log.info("leave room=%s session=%s conn=%s reason=%s", room, session, conn.id, reason)
        member = Presence(session, conn.capabilities, self.config.instance_id, conn.id, conn.role)
        await self.directory.leave(room, member, reason)

    def _forget(self, conn: Connection) -> None:
        if conn.room is None or conn.session is None:
            return
        members = self._local.get(conn.room, {})
        if members.get(conn.session) is conn:
            del members[conn.session]
            if not members:
                del self._local[conn.room]

    def _on_change(self, change: RosterChange) -> None:
        member = change.member
        if change.kind == "left" and member.instance == self.config.instance_id:
            self._evict(change)
        for conn in list(self._local.get(change.room, {}).values()):
            # Strictly older only: a resync announces several changes under one version.
            if conn.id == member.conn or change.version < conn.roster_version:
                continue
            conn.roster_version = change.version
            if change.kind == "joined":
                conn.send(
                    PeerJoined(
                        room=change.room,
                        session=member.session,
                        capabilities=list(member.capabilities),
                        roster_version=change.version,
                        role=member.wire_role,
                    )
                )
            else:
                conn.send(
                    PeerLeft(
                        room=change.room,
                        session=member.session,
                        roster_version=change.version,
                        reason=change.reason,
                    )
                )

    def _evict(self, change: RosterChange) -> None:
        """A member of this instance was removed by someone else: replaced, or expired."""
        conn = self._connections.get(change.member.conn)
        if conn is None or conn.room != change.room or conn.evicted:
            return
        conn.evicted = True
        self._forget(conn)
        self.metrics.leaves.inc(reason=change.reason)
        log.info(
            "leave room=%s session=%s conn=%s reason=%s",
            change.room, change.member.session, conn.id, change.reason,
        )  # fmt: skip
        if change.reason == "replaced":
            error: errors.SignalingError = errors.SessionReplaced(
                f"session {change.member.session!r} joined room {change.room!r} again on "
                "another connection; this one is closed"
            )
        else:
            error = errors.PresenceExpired(
                "this server lost its shared presence (Redis); reconnect and join again"
            )
        self._refuse(conn, error, None)


def _who(conn: Connection) -> tuple[str, str | None, str | None]:
    return conn.id, conn.room, conn.session
