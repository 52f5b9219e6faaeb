"""SDP fixtures for test suites: ``sdp_fixture("chromium-datachannel-offer")``.

Each fixture in ``fixtures/sdp/`` is ``NAME.sdp`` plus ``NAME.yaml`` (what it exercises, where
it came from, the expected negotiation result or the expected error) and, for trickle ICE,
``NAME.trickle.jsonl``. Malformed fixtures live in ``fixtures/sdp/malformed/``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from ifmesh.node.protocol.fixtures import fixtures_root
from ifmesh.node.sdp.errors import ALL_CODES


def sdp_dir() -> Path:
    return fixtures_root() / "sdp"


class FixtureOrigin(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    method: Literal["captured", "derived", "hand-written"]
    implementation: str
    how: str
    derived_from: str | None = None
    captured_at: str | None = None


class ExpectedError(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    code: str
    line: int | None
    message: str = Field(description="a substring the error message must contain")

    @model_validator(mode="after")
    def _known_code(self) -> ExpectedError:
        if self.code not in ALL_CODES:
            raise ValueError(f"unknown SDP error code {self.code!r}")
        return self


class FixtureMeta(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    description: str
    exercises: list[str]
    type: Literal["offer", "answer"]
    origin: FixtureOrigin
    trickle: str | None = None
    expect: dict[str, Any] | None = None
    error: ExpectedError | None = None

    @model_validator(mode="after")
    def _one_outcome(self) -> FixtureMeta:
        if (self.expect is None) == (self.error is None):
            raise ValueError("a fixture states exactly one of 'expect' and 'error'")
        return self


@dataclass(frozen=True)
class SdpFixture:
    name: str
    path: Path
    text: str
    meta: FixtureMeta
    trickle_text: str | None = None

    @property
    def malformed(self) -> bool:
        return self.meta.error is not None


def sdp_fixture_path(name: str) -> Path:
    """``"chromium-datachannel-offer"`` or ``"malformed/no-fingerprint"`` → its .sdp file."""
    path = sdp_dir() / f"{name}.sdp"
    if not path.is_file():
        known = ", ".join(sdp_fixture_names()[:6])
        raise FileNotFoundError(f"no SDP fixture {name!r} under {sdp_dir()} (e.g. {known}, …)")
    return path


def sdp_fixture(name: str) -> SdpFixture:
    """One fixture: its SDP text (exactly as captured), metadata and trickled candidates."""
    path = sdp_fixture_path(name)
    meta = FixtureMeta.model_validate(
        yaml.safe_load(path.with_suffix(".yaml").read_text(encoding="utf-8"))
    )
    trickle = (path.parent / meta.trickle).read_text(encoding="utf-8") if meta.trickle else None
    text = path.read_bytes().decode("utf-8")  # keep CRLF exactly as captured
    return SdpFixture(name, path, text, meta, trickle)


def sdp_fixture_names(*, malformed: bool | None = None) -> list[str]:
    """Every fixture name, sorted; ``malformed`` picks only negative or only valid ones."""
    root = sdp_dir()
    names = sorted(p.relative_to(root).with_suffix("").as_posix() for p in root.rglob("*.sdp"))
    if malformed is None:
        return names
    return [n for n in names if n.startswith("malformed/") == malformed]
