"""Two-node rooms whose only path is a TURN server (test_turn.py, benchmarks/faults.py), with
or without the user-space impairment relay (impair.py) in front of it.

Clean: coturn listens on the relay namespace's end of each island's link. Impaired: coturn
listens only on RELAY_ADDRESS, which no island routes to, and on each island's link an
impairment relay forwards to it; every datagram between the nodes crosses an impairment relay
twice each way.
"""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

from tests.integration.faults.netroom import NamespacedRoom, hosts_for
from tests.integration.faults.topology import islands
from tests.integration.faults.turn import TURN_PORT, coturn, listening_udp

ROOT = Path(__file__).resolve().parents[3]


@contextlib.asynccontextmanager
async def relayed_room(
    directory: Path, board: Path, *, impaired: bool = False, impair_args: tuple[str, ...] = ()
) -> AsyncIterator[NamespacedRoom]:
    with islands(2) as net:
        sides = [net.relay_side(h) for h in net.hosts]
        with coturn(net.relay, [net.relay.address] if impaired else sides, directory) as turn:
            relays: list[subprocess.Popen[bytes]] = []
            try:
                if impaired:
                    for side in sides:
                        relays.append(_impair(net.relay.exec_prefix, side, net.relay.address,
                                              impair_args, directory))  # fmt: skip
                async with asyncio.timeout(30):
                    while not all(listening_udp(net.relay.namespace, TURN_PORT, s) for s in sides):  # noqa: ASYNC110
                        await asyncio.sleep(0.1)
                hosts = hosts_for(net.hosts)
                room = NamespacedRoom(
                    directory, sessions=2, fetch_interval_seconds=1, board=board,
                    status_sessions=(), services=net.relay, hosts=hosts,
                    signaling_bind="0.0.0.0",
                    signaling_addresses={s: net.relay_side(h) for s, h in hosts.items()},
                    node_config={s: {"ice_servers": turn.ice_servers(net.relay_side(h))}
                                 for s, h in hosts.items()},
                )  # fmt: skip
                async with room:
                    yield room
            finally:
                for relay in relays:
                    relay.terminate()
                for relay in relays:
                    await asyncio.to_thread(relay.wait, 10)


def _impair(
    prefix: list[str], listen: str, upstream: str, args: tuple[str, ...], directory: Path
) -> subprocess.Popen[bytes]:
    log = directory / f"impair-{listen}.log"
    with log.open("ab") as out:
        process = subprocess.Popen(
            [*prefix, sys.executable, "-m", "tests.integration.faults.impair",
             f"{listen}:{TURN_PORT}", f"{upstream}:{TURN_PORT}", *args],
            stdout=out, stderr=out, cwd=ROOT,
        )  # fmt: skip
    return process
