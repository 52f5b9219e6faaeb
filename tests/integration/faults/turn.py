"""coturn (Debian's ``coturn`` package) in a namespace, with long-term credentials.

It listens on the relay namespace's address on every island's link (each node reaches only
its own) and relays from RELAY_ADDRESS, which no island can route to: a node's relayed
candidate is therefore reachable only through the TURN server, and the only working ICE pair
between two islands is relay to relay. ``turn_servers`` is the node's ``ice_servers`` setting.
"""

from __future__ import annotations

import secrets
import subprocess
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.integration.faults.topology import Host, TopologyError

TURN_PORT = 3478
REALM = "ifmesh.test"
USER = "ifmesh"


@dataclass(frozen=True)
class Turn:
    password: str
    log: Path

    def ice_servers(self, address: str, port: int = TURN_PORT) -> list[dict[str, object]]:
        """The ``ice_servers`` setting of a node that reaches the server at ``address``."""
        return [
            {
                "urls": [f"turn:{address}:{port}?transport=udp"],
                "username": USER,
                "credential": self.password,
            }
        ]


@contextmanager
def coturn(relay: Host, listen: Sequence[str], directory: Path) -> Iterator[Turn]:
    """Runs ``turnserver`` in ``relay``'s namespace until the block ends."""
    password = secrets.token_urlsafe(16)
    log = directory / "turnserver.log"
    command = [
        *relay.exec_prefix, "turnserver", "--no-cli", "--no-tls", "--no-dtls",
        "--lt-cred-mech", f"--user={USER}:{password}", f"--realm={REALM}", "--fingerprint",
        *(f"--listening-ip={address}" for address in listen), f"--relay-ip={relay.address}",
        f"--listening-port={TURN_PORT}", "--min-port=49152", "--max-port=49999",
        f"--userdb={directory / 'turndb'}", f"--pidfile={directory / 'turnserver.pid'}",
        f"--log-file={log}", "--simple-log", "--no-software-attribute",
    ]  # fmt: skip
    with (directory / "turnserver.out").open("ab") as out:
        process = subprocess.Popen(command, stdout=out, stderr=out)
    try:
        deadline = time.monotonic() + 30
        while not listening_udp(relay.namespace, TURN_PORT):
            if process.poll() is not None or time.monotonic() > deadline:
                raise TopologyError(f"turnserver did not start; see {log}")
            time.sleep(0.1)
        yield Turn(password, log)
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


def listening_udp(namespace: str, port: int, address: str = "") -> bool:
    """Whether a UDP socket in ``namespace`` is bound to ``port`` (on ``address``, if given)."""
    where = f"src {address} and sport = :{port}" if address else f"sport = :{port}"
    done = subprocess.run(
        ["ss", "-N", namespace, "-Huln", where],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    return done.returncode == 0 and bool(done.stdout.strip())
