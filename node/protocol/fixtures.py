"""Ready-made IFMessages for test suites: ``load_fixture("h323/blocker")``.

The fixtures live in ``fixtures/ifmessages/`` at the top of the repository and ship with the wheel
(override with ``IFMESH_FIXTURES=/path/to/fixtures``): one directory per provider session (``ndi``,
``webrtc``, ``h323``, ``sip``, ``cli``) with a file per message type (``message.json``, the
generic type, written in the origin's shape), ``edge/`` for boundary cases (``origin-*`` in the
origin's shape) and ``invalid/`` for negative cases with their expected errors in
``manifest.yaml``. A ``.jsonl`` fixture holds several messages: read it with :func:`load_thread`.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ifmesh import shipped_path
from ifmesh.node.protocol import codec
from ifmesh.node.protocol.messages import Envelope
from ifmesh.node.protocol.validation import MANIFEST, NEGATIVE_DIR, load_manifest

PROVIDERS = ("ndi", "webrtc", "h323", "sip", "cli")


def fixtures_root() -> Path:
    override = os.environ.get("IFMESH_FIXTURES")
    if override:
        return Path(override)
    return shipped_path("fixtures")


def messages_dir() -> Path:
    return fixtures_root() / "ifmessages"


def fixture_path(name: str) -> Path:
    """``"h323/blocker"`` → the .json (or .jsonl) file of that fixture."""
    base = messages_dir() / name
    for candidate in (base.with_name(base.name + ".json"), base.with_name(base.name + ".jsonl")):
        if candidate.is_file():
            return candidate
    known = ", ".join(fixture_names()[:8])
    raise FileNotFoundError(f"no fixture {name!r} under {messages_dir()} (e.g. {known}, …)")


def load_fixture(name: str) -> Envelope:
    """One valid fixture, decoded and validated."""
    return codec.validate(load_document(name))


def load_thread(name: str) -> list[Envelope]:
    """A .jsonl fixture (a conversation), every message decoded in file order."""
    path = fixture_path(name)
    lines = path.read_text(encoding="utf-8").splitlines()
    return [codec.validate(json.loads(line)) for line in lines if line.strip()]


def load_document(name: str) -> Any:
    """The raw JSON of a fixture, valid or not (negative cases are read with this)."""
    return json.loads(fixture_path(name).read_text(encoding="utf-8"))


def fixture_names(provider: str | None = None) -> list[str]:
    """Every valid fixture's name, e.g. ``["cli/blocker", …]``; negative cases excluded."""
    top = messages_dir() if provider is None else messages_dir() / provider
    names = []
    for path in sorted(top.rglob("*.json*")):
        relative = path.relative_to(messages_dir())
        if relative.parts[0] == NEGATIVE_DIR or path.suffix not in (".json", ".jsonl"):
            continue
        names.append(str(relative.with_suffix("")))
    return names


@dataclass(frozen=True)
class InvalidCase:
    name: str
    document: Any
    code: str
    path: str
    why: str


def invalid_cases() -> list[InvalidCase]:
    """Every negative case with the error code and field path it must produce."""
    directory = messages_dir() / NEGATIVE_DIR
    expectations = load_manifest(directory)
    notes = yaml.safe_load((directory / MANIFEST).read_text(encoding="utf-8")) or {}
    cases = []
    for file_name, expected in sorted(expectations.items()):
        document = json.loads((directory / file_name).read_text(encoding="utf-8"))
        why = str(notes[file_name].get("why", ""))
        name = f"{NEGATIVE_DIR}/{Path(file_name).stem}"
        cases.append(InvalidCase(name, document, expected.code, expected.path, why))
    return cases
