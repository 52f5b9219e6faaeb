"""ifmesh: real-time coordination for coding-agent sessions.

The one import namespace the distribution installs. ``ifmesh.node`` is what a session runs,
``ifmesh.signaling`` the rendezvous server. In the repository they are the top-level folders
``node/`` and ``signaling/``; this folder links to them (see docs/architecture.md, "One import
namespace"), and the wheel carries their files here, with the fixtures and example files the
commands read.
"""

from __future__ import annotations

from pathlib import Path

__version__ = "0.1.0"


def shipped_path(*parts: str) -> Path:
    """A file or folder shipped with ifmesh: ``shipped_path("fixtures", "sdp")``.

    The same call works from a source checkout and from an installed wheel, from any directory.
    """
    # Imported here, not above: importlib.resources costs ~10 ms, and `ifmesh agent-hook
    # PreToolUse` runs before every edit an agent makes (benchmarks/agents.py).
    from importlib import resources

    return Path(str(resources.files(__name__).joinpath(*parts)))
