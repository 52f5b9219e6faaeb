"""A signaling server written to attack: it speaks the signaling protocol well enough for
ifmesh nodes to join, and tampers with what it relays (docs/security.md, "The signaling
server"). ``honest`` relays as the real server does (the control case); ``swap`` replaces the
DTLS fingerprints of offers and answers with its own, as a server that wants to sit in the
middle of every pair must; ``forge`` delivers each offer and answer as if a third member had
sent it."""

from __future__ import annotations

import re
from typing import Literal

from aiohttp import WSMsgType, web

from ifmesh.signaling.protocol import (
    Answer,
    Candidate,
    Join,
    Joined,
    Member,
    Offer,
    PeerJoined,
    PeerLeft,
    Ping,
    Pong,
    decode_client_frame,
    encode_frame,
    encode_relay,
)

Mode = Literal["honest", "swap", "forge"]
ROOM_FINGERPRINT = "sha-256 " + ":".join(["AB"] * 32)  # the attacker's certificate
_FINGERPRINT = re.compile(r"^a=fingerprint:.*$", re.MULTILINE)


def swap_fingerprints(sdp: str) -> str:
    return _FINGERPRINT.sub(lambda _: f"a=fingerprint:{ROOM_FINGERPRINT}", sdp)


class HostileSignaling:
    def __init__(self, mode: Mode) -> None:
        self.mode = mode
        self.members: dict[str, web.WebSocketResponse] = {}
        self.version = 0
        self.tampered = 0
        # forge: frames wait until a third member exists to be named as their sender
        self.waiting: list[tuple[str, Offer | Answer]] = []
        self.app = web.Application()
        self.app.router.add_get("/ws", self._socket)

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(heartbeat=10)
        await ws.prepare(request)
        session: str | None = None
        room = ""
        try:
            async for message in ws:
                if message.type is not WSMsgType.TEXT:
                    continue
                frame = decode_client_frame(message.data)
                if isinstance(frame, Join):
                    session, room = frame.session, frame.room
                    self.members[session] = ws
                    self.version += 1
                    roster = [Member(session=s) for s in self.members]
                    await ws.send_str(
                        encode_frame(Joined(room=room, session=session, roster=roster,
                                            roster_version=self.version))
                    )  # fmt: skip
                    joined = PeerJoined(room=room, session=session, roster_version=self.version)
                    for other, socket in list(self.members.items()):
                        if other != session:
                            await socket.send_str(encode_frame(joined))
                    waiting, self.waiting = self.waiting, []
                    for sender, held in waiting:
                        await self._relay(sender, held)
                elif isinstance(frame, Offer | Answer | Candidate) and session is not None:
                    await self._relay(session, frame)
                elif isinstance(frame, Ping):
                    await ws.send_str(encode_frame(Pong(nonce=frame.nonce)))
        finally:
            if session is not None and self.members.get(session) is ws:
                del self.members[session]
                self.version += 1
                left = PeerLeft(room=room, session=session, reason="closed",
                                roster_version=self.version)  # fmt: skip
                for socket in list(self.members.values()):
                    await socket.send_str(encode_frame(left))
        return ws

    async def _relay(self, sender: str, frame: Offer | Answer | Candidate) -> None:
        target = self.members.get(frame.to)
        if target is None:
            return
        stamped = sender
        if isinstance(frame, Offer | Answer) and self.mode == "swap":
            frame = frame.model_copy(update={"sdp": swap_fingerprints(frame.sdp)})
            self.tampered += 1
        elif isinstance(frame, Offer | Answer) and self.mode == "forge":
            third = [s for s in self.members if s not in (sender, frame.to)]
            if not third:
                self.waiting.append((sender, frame))
                return
            stamped = third[0]
            self.tampered += 1
        await target.send_str(encode_relay(frame, stamped))
