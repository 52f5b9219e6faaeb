"""The mesh's client of the signaling server: one WebSocket, joined to one room, rejoined on loss.

It speaks :mod:`ifmesh.signaling.protocol` (the server's own frame models) and nothing else. What it
receives is handed, in order, to one ``deliver`` callback: the server's frames (``joined``,
``peer-joined``, ``peer-left``, relayed ``offer``/``answer``/``candidate``, ``error``) plus two
local notices, :class:`SignalingUp` and :class:`SignalingDown`.

Outage. Established peer connections do not need the server, so losing it only stops new
negotiations. The client reconnects and re-joins under the same session id with jittered
backoff, forever, until closed, except when the server says retrying cannot help (bad or
expired token, or another process took over our session id): then it stops and reports a
fatal :class:`SignalingDown`.

Authenticated pairs. With a :class:`PairAuthenticator` (``pair_auth``; the runtime sets it when
events are signed), every offer and answer sent carries the sender's signed DTLS fingerprints
(``proof``), and every one received is checked before it is delivered: a refused one never
reaches the pair, so no ICE starts (node.identity.pairproof, docs/security.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import aiohttp
import structlog

from ifmesh.node.mesh.reconnect import Backoff, BackoffConfig
from ifmesh.signaling import errors as signaling_errors
from ifmesh.signaling.protocol import (
    Answer,
    Candidate,
    Error,
    Join,
    Joined,
    Leave,
    Offer,
    ServerClosing,
    ServerFrame,
    decode_server_frame,
    encode_frame,
)

log = structlog.get_logger(__name__)

# Server error codes after which re-joining the same way cannot succeed.
FATAL_CODES = frozenset(
    {"auth_failed", "auth_required", "bad_token", "token_expired", "wrong_room",
     "wrong_session", "session_replaced"}
)  # fmt: skip
_CLIENT_HEARTBEAT = 5.0  # s; notices a half-open connection to a vanished server
# s; how long close() waits for the server's answer to our close frame (aiohttp's default is
# 10 s): a few round trips on any network, and no longer than a stopping node can spare.
_CLOSE_HANDSHAKE = 1.0


@dataclass(frozen=True, slots=True)
class SignalingUp:
    joined: Joined


@dataclass(frozen=True, slots=True)
class SignalingDown:
    reason: str
    fatal: bool = False
    code: str = ""


SignalingNotice = ServerFrame | SignalingUp | SignalingDown


class PairAuthenticator(Protocol):
    def prove(self, frame: Offer | Answer) -> str:
        """The ``proof`` an outgoing offer or answer carries."""
        ...

    async def admit(self, frame: Offer | Answer) -> bool:
        """Whether a received offer or answer may reach its pair (False: refused, and the
        authenticator has said why). May wait, briefly, for the sender's key to be pinned."""
        ...


TokenSource = str | Callable[[], str] | None


class SignalingClient:
    """Keeps this session joined to ``room`` on the server at ``url`` (``ws://…/ws``)."""

    def __init__(
        self,
        url: str,
        room: str,
        session: str,
        deliver: Callable[[SignalingNotice], None],
        *,
        token: TokenSource = None,
        capabilities: Sequence[str] = (),
        backoff: BackoffConfig | None = None,
        join_timeout: float = 5.0,
        rng: random.Random | None = None,
    ) -> None:
        self.url = url
        self.room = room
        self.session = session
        self._deliver = deliver
        self._token = token
        self._capabilities = list(capabilities)
        self._backoff = Backoff(backoff or BackoffConfig(), rng or random.Random())
        self._join_timeout = join_timeout
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._task: asyncio.Task[None] | None = None
        self._closing = asyncio.Event()
        self.joined = asyncio.Event()
        self.joins = 0
        self.pair_auth: PairAuthenticator | None = None

    @property
    def is_joined(self) -> bool:
        return self.joined.is_set()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=f"signaling-{self.session}")

    async def send(self, frame: Offer | Answer | Candidate) -> bool:
        """Sends a relay frame; False (nothing sent) while we are not joined."""
        ws = self._ws
        if ws is None or ws.closed or not self.joined.is_set():
            return False
        if self.pair_auth is not None and isinstance(frame, Offer | Answer):
            frame = frame.model_copy(update={"proof": self.pair_auth.prove(frame)})
        try:
            await ws.send_str(encode_frame(frame))
        except (ConnectionError, aiohttp.ClientError, RuntimeError):
            return False
        return True

    async def close(self) -> None:
        """Leaves the room (best effort) and stops re-joining, without waiting on the server:
        one that stopped answering (overloaded, or stopped with SIGSTOP) held a node's SIGTERM
        for 8 s here, its close handshake unanswered or its connection attempt pending."""
        self._closing.set()
        ws = self._ws
        if ws is not None and not ws.closed:
            with contextlib.suppress(ConnectionError, aiohttp.ClientError, RuntimeError):
                await ws.send_str(encode_frame(Leave()))
            await ws.close()  # bounded by _CLOSE_HANDSHAKE (ws_connect's timeout)
        task = self._task
        if task is not None and not task.done():
            task.cancel()
            # asyncio.wait, not `suppress(CancelledError)`: a cancel of close() itself must
            # propagate, not be taken for the task's.
            await asyncio.wait([task])
            if task.cancelled():  # it did not get to say so itself
                self.joined.clear()
                self._deliver(SignalingDown("closed locally"))

    def _token_now(self) -> str | None:
        return self._token() if callable(self._token) else self._token

    async def _run(self) -> None:
        timeout = aiohttp.ClientTimeout(total=None, connect=self._join_timeout)
        async with aiohttp.ClientSession(timeout=timeout) as http:
            while not self._closing.is_set():
                retry_after = await self._session(http)
                if retry_after is None:
                    return  # fatal, or closing
                delay = max(retry_after, self._backoff.next_delay())
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(delay):
                        await self._closing.wait()

    async def _session(self, http: aiohttp.ClientSession) -> float | None:
        """One connection: join, then deliver frames until it ends. Returns the retry floor
        in seconds, or None when no retry should follow."""
        retry_after = 0.0
        reason = "connection closed"
        try:
            async with http.ws_connect(
                self.url,
                heartbeat=_CLIENT_HEARTBEAT,
                timeout=aiohttp.ClientWSTimeout(ws_close=_CLOSE_HANDSHAKE),
            ) as ws:
                self._ws = ws
                join = Join(
                    room=self.room, session=self.session, token=self._token_now(),
                    capabilities=self._capabilities,
                )  # fmt: skip
                await ws.send_str(encode_frame(join))
                async for message in ws:
                    if message.type is not aiohttp.WSMsgType.TEXT:
                        continue
                    frame = self._decode(message.data)
                    if frame is None:
                        continue
                    if isinstance(frame, Joined):
                        if self.joins:
                            log.info("signaling_rejoined", room=self.room, session=self.session)
                        self.joins += 1
                        self._backoff.reset()
                        self.joined.set()
                        self._deliver(SignalingUp(frame))
                        continue
                    if isinstance(frame, Error) and frame.code in FATAL_CODES:
                        self._lost(f"{frame.code}: {frame.message}", fatal=True, code=frame.code)
                        return None
                    if (
                        isinstance(frame, Offer | Answer)
                        and self.pair_auth is not None
                        and not await self.pair_auth.admit(frame)
                    ):
                        continue  # refused before ICE; the authenticator reported why
                    if isinstance(frame, ServerClosing):
                        retry_after = frame.retry_after
                        reason = f"server closing ({frame.reason})"
                    self._deliver(frame)
                if ws.close_code is not None:
                    reason = f"closed by server (code {ws.close_code})"
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            reason = f"cannot reach {self.url}: {exc.__class__.__name__}: {exc}"
        finally:
            self._ws = None
        if self._closing.is_set():
            self.joined.clear()
            self._deliver(SignalingDown("closed locally"))
            return None
        self._lost(reason)
        return retry_after

    def _decode(self, data: str) -> ServerFrame | None:
        try:
            return decode_server_frame(data)
        except signaling_errors.UnknownFrameType:
            log.info("signaling_frame_ignored", reason="unknown type", frame=data[:80])
        except signaling_errors.SignalingError as exc:
            log.warning("signaling_frame_malformed", error=str(exc), frame=data[:80])
        return None

    def _lost(self, reason: str, *, fatal: bool = False, code: str = "") -> None:
        was_joined = self.joined.is_set()
        self.joined.clear()
        if was_joined or fatal:
            log.warning("signaling_lost", room=self.room, session=self.session, reason=reason)
            self._deliver(SignalingDown(reason, fatal=fatal, code=code))
        else:
            log.info("signaling_unreachable", url=self.url, reason=reason)
