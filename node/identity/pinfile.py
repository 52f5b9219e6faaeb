"""Pins kept in the state directory (``pins.json``), so that what this node pinned survives a
restart and a force-push of the branch (:mod:`ifmesh.node.identity.pins`)."""

from __future__ import annotations

import json
from pathlib import Path

import structlog

from ifmesh.node.identity.keys import parse_public_key
from ifmesh.node.identity.pins import Pin

log = structlog.get_logger(__name__)

PIN_FILE = "pins.json"


def load_pins(state_dir: Path) -> list[Pin]:
    """The pins saved in ``state_dir``; an unreadable file is reported and read as empty (the
    branch pins the keys again on the next read)."""
    path = state_dir / PIN_FILE
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return []
    except (OSError, ValueError) as exc:
        log.warning("identity.pin_file_unreadable", path=str(path), error=str(exc))
        return []
    pins = []
    for session, entry in (document if isinstance(document, dict) else {}).items():
        key = parse_public_key(str(entry.get("key", ""))) if isinstance(entry, dict) else None
        if key is None:
            log.warning("identity.pin_unreadable", path=str(path), session=session)
            continue
        pins.append(
            Pin(
                session,
                key,
                str(entry.get("commit", "")),
                str(entry.get("how", "")),
                int(entry.get("depth", 0) or 0),
            )
        )
    return pins


def save_pins(state_dir: Path, pins: dict[str, Pin]) -> None:
    """Writes every pin at once (a temporary file renamed over the old one)."""
    document = {
        session: {"key": p.key.text, "commit": p.commit, "how": p.how, "depth": p.depth}
        for session, p in sorted(pins.items())
    }
    path = state_dir / PIN_FILE
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    temporary.replace(path)
