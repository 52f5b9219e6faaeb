"""Turn hints between bridges: what one tells the others over the mesh, and what it takes.

A bridge outputs the tips its pushes landed and whether it lost a race
(:class:`ifmesh.node.gitsync.outputs.Outputs`); the runtime sends each as a mesh hint on
:data:`TOPIC` (:meth:`ifmesh.node.mesh.mesh.Mesh.hint`) and hands every hint it receives to
:func:`received`. What they change is in :mod:`ifmesh.node.gitsync.turns` ("Hints"). A hint is
advice only, never an event: it is not logged, not folded, and a malformed one is dropped.
"""

from __future__ import annotations

import base64
import binascii
from typing import Protocol

import structlog

from ifmesh.node.gitsync.objects import is_sha
from ifmesh.node.gitsync.outputs import Outputs

log = structlog.get_logger(__name__)

TOPIC = "gitsync.turn"


class HintTaker(Protocol):
    def landed_elsewhere(self, session: str, tip: str, objects: bytes | None) -> None: ...
    def waiting_elsewhere(self, session: str) -> None: ...


def to_send(outputs: Outputs) -> list[dict[str, object]]:
    hints: list[dict[str, object]] = []
    for landed in outputs.landed:
        hint: dict[str, object] = {"landed": landed.tip}
        if landed.objects is not None:
            hint["objects"] = base64.b64encode(landed.objects).decode()
        hints.append(hint)
    if outputs.waiting and not outputs.landed:
        hints.append({"waiting": True})
    return hints


def received(taker: HintTaker, peer: str, data: dict[str, object]) -> None:
    """A hint from ``peer`` (a session id: the mesh names peers by session)."""
    tip = data.get("landed")
    if isinstance(tip, str) and is_sha(tip):
        taker.landed_elsewhere(peer, tip, _objects(data.get("objects")))
    elif data.get("waiting") is True:
        taker.waiting_elsewhere(peer)
    else:
        log.warning("gitsync.hint_dropped", peer=peer, reason="neither a landed tip nor waiting")


def _objects(value: object) -> bytes | None:
    """The landing's objects (node.gitsync.handoff), if the hint carries them intact."""
    if not isinstance(value, str):
        return None
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return None
