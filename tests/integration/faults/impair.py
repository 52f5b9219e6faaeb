"""A user-space UDP impairment relay: delay, loss and reordering without netem.

The kernel here has no netem qdisc, so a degraded link is made in user space. The relay
listens on one address and forwards every datagram to one upstream address (a TURN server),
through a socket of its own per client (as a NAT would), and every answer back: each
datagram is dropped with probability ``loss``, else sent after ``delay`` plus a uniform
``jitter``, and with probability ``reorder`` held ``reorder_extra`` longer, so that later
datagrams overtake it. Placed in front of the TURN server that is the nodes' only path, a
datagram between two nodes crosses it twice each way (node → TURN, TURN → other node): a
per-crossing delay of RTT/4 and loss of about half the wanted one-way loss give the link the
issue asks for (50 ms RTT, 1 % loss). Real ICE, DTLS and SCTP run through it unchanged.

Run: ``python -m tests.integration.faults.impair LISTEN_HOST:PORT UPSTREAM_HOST:PORT
[--delay-ms 12.5] [--jitter-ms 2] [--loss 0.005] [--reorder 0.02] [--reorder-extra-ms 8]``
(inside the relay's namespace); it prints one JSON line of counters on SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import signal
import sys
from collections import Counter
from dataclasses import dataclass
from typing import cast

Address = tuple[str, int]


@dataclass(frozen=True)
class Impairment:
    delay: float  # seconds per crossing
    jitter: float
    loss: float
    reorder: float
    reorder_extra: float

    def fate(self, rng: random.Random) -> float | None:
        """Seconds until a datagram leaves, or None when it is lost."""
        if rng.random() < self.loss:
            return None
        wait = self.delay + rng.uniform(0, self.jitter)
        if rng.random() < self.reorder:
            wait += self.reorder_extra
        return wait


class _Upstream(asyncio.DatagramProtocol):
    """One client's socket towards the upstream server; answers go back to the client."""

    def __init__(self, relay: Relay, client: Address) -> None:
        self.relay, self.client = relay, client

    def datagram_received(self, data: bytes, addr: object) -> None:
        if self.relay.listener is not None:
            self.relay.forward(self.relay.listener, data, self.client, "down")


class Relay(asyncio.DatagramProtocol):
    def __init__(self, upstream: Address, impairment: Impairment, seed: int = 22) -> None:
        self.upstream = upstream
        self.impairment = impairment
        self.rng = random.Random(seed)
        self.listener: asyncio.DatagramTransport | None = None
        self.clients: dict[Address, asyncio.DatagramTransport] = {}
        self.counts: Counter[str] = Counter()
        self._opening: set[asyncio.Future[None]] = set()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.listener = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        client = self.clients.get(addr)
        if client is None:
            self._opening.add(task := asyncio.ensure_future(self._open(addr, data)))
            task.add_done_callback(self._opening.discard)
            return
        self.forward(client, data, None, "up")

    async def _open(self, addr: Address, first: bytes) -> None:
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(
            lambda: _Upstream(self, addr), remote_addr=self.upstream
        )
        self.clients[addr] = transport
        self.forward(transport, first, None, "up")

    def forward(
        self, transport: asyncio.DatagramTransport, data: bytes, to: Address | None, way: str
    ) -> None:
        wait = self.impairment.fate(self.rng)
        self.counts[f"{way}_in"] += 1
        if wait is None:
            self.counts[f"{way}_lost"] += 1
            return
        loop = asyncio.get_running_loop()
        loop.call_later(wait, self._send, transport, data, to)

    @staticmethod
    def _send(transport: asyncio.DatagramTransport, data: bytes, to: Address | None) -> None:
        if not transport.is_closing():
            transport.sendto(data, to)


def _address(text: str) -> Address:
    host, _, port = text.rpartition(":")
    return host, int(port)


async def _serve(arguments: argparse.Namespace) -> None:
    impairment = Impairment(
        arguments.delay_ms / 1000, arguments.jitter_ms / 1000, arguments.loss,
        arguments.reorder, arguments.reorder_extra_ms / 1000,
    )  # fmt: skip
    relay = Relay(_address(arguments.upstream), impairment)
    loop = asyncio.get_running_loop()
    listener, _ = await loop.create_datagram_endpoint(
        lambda: relay, local_addr=_address(arguments.listen)
    )
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    print(json.dumps({"listening": arguments.listen}), flush=True)
    await stop.wait()
    listener.close()
    print(json.dumps(dict(relay.counts)), flush=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("listen")
    parser.add_argument("upstream")
    parser.add_argument("--delay-ms", type=float, default=12.5)
    parser.add_argument("--jitter-ms", type=float, default=2.0)
    parser.add_argument("--loss", type=float, default=0.005)
    parser.add_argument("--reorder", type=float, default=0.02)
    parser.add_argument("--reorder-extra-ms", type=float, default=8.0)
    asyncio.run(_serve(parser.parse_args(argv)))


if __name__ == "__main__":
    main(sys.argv[1:])
