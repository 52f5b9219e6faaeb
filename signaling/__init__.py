"""ifmesh signaling server: the WebSocket rendezvous nodes use to find each other.

Imported as ``ifmesh.signaling`` only (see :mod:`ifmesh.node` for why).
"""

if __name__ != "ifmesh.signaling":  # pragma: no cover - a wrong import, caught at once
    raise ImportError(f"import ifmesh.signaling, not {__name__} (see docs/architecture.md)")
