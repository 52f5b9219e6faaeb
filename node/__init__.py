"""ifmesh node: what a coding-agent session runs to coordinate in real time.

Imported as ``ifmesh.node`` only. Importing this folder as a top-level ``node`` (from a source
checkout) would load every module twice under two names, with two copies of each class.
"""

if __name__ != "ifmesh.node":  # pragma: no cover - a wrong import, caught at once
    raise ImportError(f"import ifmesh.node, not {__name__} (see docs/architecture.md)")
