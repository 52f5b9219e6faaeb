"""The bare aiortc baseline of benchmarks/claims.py: a message to every peer and an ack back.

benchmarks/_bare_aiortc_node.py's node (plain RTCPeerConnections and data channels, no ifmesh
code), taught one thing more: a node that receives a document answers the sender with an ack
of the same size on the channel that carried it, and the sender emits ``acked`` when the last
ack of a label is in hand (parsed, as the mesh would have it). That round trip — every member
of the room acknowledging a claim on the pair channel that carried it — is what a claim decided
on the mesh would cost at the least (docs/claims.md, "How a claim is decided").

Commands and events are ``ifmesh.node.mesh.probe``'s JSON lines, plus the ``acked`` event.
Run by benchmarks/claims.py: ``python benchmarks/_bare_ack_node.py URL ROOM SESSION``.
"""

from __future__ import annotations

import asyncio
import sys
import time
from typing import Any

import orjson
from _bare_aiortc_node import BareNode, emit, main


class AckingNode(BareNode):
    def __init__(self, url: str, room: str, session: str) -> None:
        super().__init__(url, room, session)
        self.awaiting: dict[str, set[str]] = {}  # label → peers whose ack has not come yet

    def _message(self, peer: str, data: bytes | str) -> None:
        doc = orjson.loads(data)
        now = time.monotonic()
        label = doc["label"]
        if doc.get("ack"):
            waiting = self.awaiting.get(label)
            if waiting is not None and peer in waiting:
                waiting.discard(peer)
                if not waiting:
                    del self.awaiting[label]
                    emit("acked", label=label, t=now)
            return
        # The ack is the request with its flag set: the same size, back on the same channel.
        doc["ack"], doc["from"] = True, self.session
        self.channels[peer].send(orjson.dumps(doc))

    def broadcast(self, label: str, count: int, size: int) -> None:
        self.awaiting[label] = set(self.open)
        doc: dict[str, Any] = {
            "source": self.session, "label": label, "i": 0, "n": 1, "t": time.monotonic(),
            "ack": False, "from": "", "pad": "",
        }  # fmt: skip
        # Padded with the ack's longer fields in place, so request and ack are both ``size``.
        sized = doc | {"ack": True, "from": self.session}
        doc["pad"] = "x" * max(0, size - len(orjson.dumps(sized)))
        started = time.monotonic()
        data = orjson.dumps(doc)
        for peer in self.awaiting[label]:
            self.channels[peer].send(data)
        emit("sent", label=label, count=1, acked=[], t_first=started)


if __name__ == "__main__":
    if len(sys.argv) != 4:
        # `make bench` runs every script here; this one is a helper with nothing to measure.
        print("a helper of benchmarks/claims.py (args: URL ROOM SESSION)", file=sys.stderr)
        sys.exit(0)
    asyncio.run(main(*sys.argv[1:4], node_class=AckingNode))
