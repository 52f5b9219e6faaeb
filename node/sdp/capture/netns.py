"""A throw-away network namespace with a veth pair inside it, so captures (and the dashboard's
browser tests, which also run nodes and a signaling server in it) stay inside.

Chromium gathers no loopback candidates, so a browser needs real interfaces; both ends of
the pair live in the namespace (10.77.0.1/24 and 10.77.0.2/24, plus fd77::1/64 and
fd77::2/64 so IPv6 candidates appear), ``lo`` is up and the default routes (IPv4 and IPv6)
point at the pair. Nothing routed there can leave the namespace. Needs root and iproute2's ``ip``.
"""

from __future__ import annotations

import logging
import os
import secrets
import shlex
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

ADDRESSES = (("veth-a", "10.77.0.1/24", "fd77::1/64"), ("veth-b", "10.77.0.2/24", "fd77::2/64"))


class NamespaceError(RuntimeError):
    """The namespace could not be set up (not root, no ``ip``, or the kernel refused)."""


@dataclass(frozen=True)
class Namespace:
    name: str

    @property
    def exec_prefix(self) -> list[str]:
        """Prepend to a command to run it inside the namespace."""
        return ["ip", "netns", "exec", self.name]

    def wrap(self, executable: str, directory: Path) -> Path:
        """An executable in ``directory`` that runs ``executable`` inside the namespace with
        the arguments it is given: for a launcher that takes a path and nothing else
        (Playwright's ``executable_path``). ``ip netns exec`` execs the program, so the
        launcher's pipes and process id are the program's own."""
        script = directory / f"{Path(executable).name}-in-{self.name}"
        command = " ".join(shlex.quote(part) for part in [*self.exec_prefix, executable])
        script.write_text(f'#!/bin/sh\nexec {command} "$@"\n', encoding="utf-8")
        script.chmod(0o755)
        return script


def _ip(*args: str) -> None:
    done = subprocess.run(["ip", *args], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise NamespaceError(f"ip {' '.join(args)} failed: {done.stderr.strip()}")


@contextmanager
def network_namespace(prefix: str = "ifmesh-sdp") -> Iterator[Namespace]:
    """Create the namespace, yield it, and delete it (with its veth pair) afterwards."""
    if os.geteuid() != 0:
        raise NamespaceError("creating a network namespace needs root")
    name = f"{prefix}-{os.getpid()}-{secrets.token_hex(3)}"
    _ip("netns", "add", name)
    try:
        (a, _, _), (b, b4, _) = ADDRESSES
        _ip("-n", name, "link", "add", a, "type", "veth", "peer", "name", b)
        for dev, v4, v6 in ADDRESSES:
            _ip("-n", name, "addr", "add", v4, "dev", dev)
            _ip("-n", name, "addr", "add", v6, "dev", dev, "nodad")
            _ip("-n", name, "link", "set", dev, "up")
        _ip("-n", name, "link", "set", "lo", "up")
        _ip("-n", name, "route", "add", "default", "via", b4.split("/")[0], "dev", a)
        # Chromium gathers IPv6 candidates only on an interface holding an IPv6 default route.
        _ip("-n", name, "-6", "route", "add", "default", "dev", a)
        log.info("netns.created name=%s", name)
        yield Namespace(name)
    finally:
        _ip("netns", "delete", name)
        log.info("netns.deleted name=%s", name)
