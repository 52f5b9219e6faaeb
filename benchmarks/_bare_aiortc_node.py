"""The bare aiortc baseline of benchmarks/mesh.py: plain RTCPeerConnections, no ifmesh code.

It speaks the same JSON lines as ``ifmesh.node.mesh.probe`` (commands on stdin, events on stdout) so
one driver measures both. What it leaves out is exactly what ifmesh adds: no framing, no
chunking, no dedupe, no pydantic validation, no liveness pings, no reconnection. Messages are
plain JSON documents of the same shape and size. Rendezvous uses the same signaling server,
spoken as raw JSON over aiohttp (it imports nothing from ifmesh).

Run by benchmarks/mesh.py: ``python benchmarks/_bare_aiortc_node.py URL ROOM SESSION``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp
import aioice.ice
import orjson
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription

# Same as node.mesh.ice does, minus the context variable: gather on 127.0.0.1 only.
aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: ["127.0.0.1"] if use_ipv4 else []


def emit(event: str, **fields: Any) -> None:
    fields["event"] = event
    fields.setdefault("t", time.monotonic())
    with contextlib.suppress(BrokenPipeError):
        sys.stdout.buffer.write(orjson.dumps(fields) + b"\n")
        sys.stdout.buffer.flush()


def rss_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


class BareNode:
    def __init__(self, url: str, room: str, session: str) -> None:
        self.url, self.room, self.session = url, room, session
        self.pcs: dict[str, RTCPeerConnection] = {}
        self.channels: dict[str, Any] = {}
        self.open: set[str] = set()
        self.ws: aiohttp.ClientWebSocketResponse | None = None
        self.floods: dict[tuple[str, str], int] = {}
        self.flood_first: dict[tuple[str, str], float] = {}

    def _pc(self, peer: str) -> RTCPeerConnection:
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        channel = pc.createDataChannel("bare", negotiated=True, id=0, ordered=True)
        self.pcs[peer], self.channels[peer] = pc, channel

        def opened() -> None:
            self.open.add(peer)
            emit("up", peer=peer, epoch=0)

        def ended(reason: str) -> None:
            if peer in self.open:
                self.open.discard(peer)
                emit("down", peer=peer, reason=reason)

        channel.on("open", opened)
        channel.on("message", lambda data: self._message(peer, data))
        channel.on("close", lambda: ended("closed"))

        @pc.on("connectionstatechange")
        def state() -> None:
            if pc.connectionState in ("failed", "closed"):
                ended(pc.connectionState)

        return pc

    def _message(self, peer: str, data: bytes | str) -> None:
        doc = orjson.loads(data)
        now = time.monotonic()  # the message in hand, parsed: where the mesh stamps too
        label = doc["label"]
        if label.startswith("flood"):
            key = (peer, label)
            self.flood_first.setdefault(key, now)
            self.floods[key] = self.floods.get(key, 0) + 1
            if self.floods[key] == doc["n"]:
                emit("flood", peer=peer, label=label, count=doc["n"],
                     t_first=self.flood_first[key], t=now)  # fmt: skip
        else:
            emit("message", peer=peer, label=label, i=doc["i"], size=len(data), t=now)

    async def _send(self, frame: dict[str, Any]) -> None:
        assert self.ws is not None
        await self.ws.send_str(orjson.dumps(frame).decode())

    async def _offer(self, peer: str) -> None:
        pc = self._pc(peer)
        await pc.setLocalDescription(await pc.createOffer())
        await self._send({"type": "offer", "to": peer, "epoch": 1, "sdp": pc.localDescription.sdp})

    async def signaling(self, http: aiohttp.ClientSession) -> None:
        async with http.ws_connect(self.url) as ws:
            self.ws = ws
            await self._send({"type": "join", "room": self.room, "session": self.session})
            async for message in ws:
                frame = orjson.loads(message.data)
                kind = frame["type"]
                if kind == "joined":
                    emit("joined")
                    for member in frame["roster"]:
                        if self.session < member["session"]:
                            await self._offer(member["session"])
                elif kind == "peer-joined" and self.session < frame["session"]:
                    await self._offer(frame["session"])
                elif kind == "offer":
                    pc = self._pc(frame["from"])
                    await pc.setRemoteDescription(RTCSessionDescription(frame["sdp"], "offer"))
                    await pc.setLocalDescription(await pc.createAnswer())
                    await self._send({"type": "answer", "to": frame["from"], "epoch": 1,
                                      "sdp": pc.localDescription.sdp})  # fmt: skip
                elif kind == "answer":
                    pc = self.pcs[frame["from"]]
                    await pc.setRemoteDescription(RTCSessionDescription(frame["sdp"], "answer"))

    def broadcast(self, label: str, count: int, size: int) -> None:
        """Sends ``count`` documents of ``size`` bytes each (padded to the size of the mesh's
        IFMessage for the same label: aiortc's congestion window counts bytes, so a smaller
        message would flatter the baseline)."""
        batch: list[dict[str, Any]] = []
        for index in range(count):
            doc: dict[str, Any] = {"source": self.session, "label": label, "i": index,
                                   "n": count, "t": time.monotonic(), "pad": ""}  # fmt: skip
            doc["pad"] = "x" * max(0, size - len(orjson.dumps(doc)))
            batch.append(doc)
        started = time.monotonic()  # as the probe: building messages is not sending them
        for doc in batch:
            doc["t"] = time.monotonic()
            data = orjson.dumps(doc)
            for peer in self.open:
                self.channels[peer].send(data)
        emit("sent", label=label, count=count, acked=[], t_first=started)


async def main(url: str, room: str, session: str, node_class: type[BareNode] = BareNode) -> None:
    """Runs one node of ``node_class`` on the probe's JSON-lines commands from stdin."""
    reader = asyncio.StreamReader()
    loop = asyncio.get_running_loop()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    node = node_class(url, room, session)
    emit("started", pid=os.getpid())
    async with aiohttp.ClientSession() as http:
        signaling: asyncio.Task[None] | None = None
        while line := await reader.readline():
            command = orjson.loads(line)
            if command["cmd"] == "join":
                signaling = asyncio.create_task(node.signaling(http))
            elif command["cmd"] == "broadcast":
                node.broadcast(command["label"], int(command.get("count", 1)),
                               int(command.get("size", 0)))  # fmt: skip
            elif command["cmd"] == "metrics":
                emit("metrics", rss_kb=rss_kb(), peers={})
            elif command["cmd"] == "close":
                break
        await asyncio.gather(*(pc.close() for pc in node.pcs.values()))
        if signaling is not None:
            signaling.cancel()
    emit("closed")


if __name__ == "__main__":
    if len(sys.argv) != 4:
        # `make bench` runs every script here; this one is a helper with nothing to measure.
        print("a helper of benchmarks/mesh.py (args: URL ROOM SESSION)", file=sys.stderr)
        sys.exit(0)
    asyncio.run(main(*sys.argv[1:4]))
