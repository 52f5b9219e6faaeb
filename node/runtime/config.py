"""A node's configuration: defaults < YAML file < ``IFMESH_*`` environment < command-line flags.

Every setting has one name used in all three places: ``signaling`` is ``signaling:`` in the
file, ``IFMESH_SIGNALING`` in the environment and ``--signaling`` on the command line. Lists
(capabilities, ice servers, host addresses) are comma-separated in the environment.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ifmesh.node.errors import ConfigError
from ifmesh.node.protocol.fields import Capability, SessionId
from ifmesh.node.runtime.statedir import ENV_PREFIX, default_state_dir

__all__ = ["ENV_PREFIX", "IceServer", "NodeConfig", "from_environment", "from_file", "load"]


class IceServer(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    urls: list[str]
    username: str | None = None
    credential: str | None = None


class NodeConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    session: SessionId
    room: str = Field(default="phase-0", min_length=1, max_length=128)
    signaling: str = "ws://127.0.0.1:8765/ws"
    signaling_token: str | None = None
    remote: str | None = None
    branch: str = "ifmesh/coordination"
    status_branches: str = ""  # glob of branches where polling-loop sessions push STATUS files
    capabilities: list[Capability] = Field(default_factory=list)
    cost_per_hour: float = Field(default=1.0, ge=0)
    budget: float = Field(default=100.0, ge=0)
    model: str = "unspecified"
    policy: Path | None = None
    state_dir: Path | None = None
    control_port: int = Field(default=0, ge=0, le=65535)
    control_socket: Path | None = None
    # Explicit, never aiortc's default public STUN host; empty means host candidates only.
    ice_servers: list[IceServer] = Field(default_factory=list)
    host_addresses: list[str] = Field(default_factory=lambda: ["127.0.0.1"])
    lease_seconds: float = Field(default=900.0, gt=0)
    contest_window_ms: float = Field(default=50.0, ge=0)
    batch_window_ms: float = Field(default=200.0, ge=0)
    status_refresh_seconds: float = Field(default=900.0, gt=0)
    fetch_interval_seconds: float = Field(default=30.0, gt=0)
    create_branch: bool = False
    # Signed events and authenticated pairs (docs/security.md). ``signing: false`` turns both
    # off (a room from before keys, a benchmark's baseline); ``accept_unsigned`` is the
    # migration switch: unsigned events from sessions with no pinned key are folded, and the
    # board shows those sessions as unsigned. Operator keys (base64 SPKI DER) may sign key
    # overrides; they are pinned here, never on the branch.
    signing: bool = True
    accept_unsigned: bool = False
    operator_keys: list[str] = Field(default_factory=list)

    @field_validator("ice_servers", mode="before")
    @classmethod
    def _urls_as_servers(cls, value: Any) -> Any:
        """``stun:host:3478,turn:host`` (environment, flags) means one server per URL."""
        if isinstance(value, list):
            return [{"urls": [v]} if isinstance(v, str) else v for v in value]
        return value

    @property
    def resolved_state_dir(self) -> Path:
        return self.state_dir or default_state_dir(self.session)


_LIST_FIELDS = {"capabilities", "ice_servers", "host_addresses", "operator_keys"}
_BOOL_FIELDS = {"create_branch", "signing", "accept_unsigned"}


def from_environment(environ: Mapping[str, str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name in NodeConfig.model_fields:
        raw = environ.get(ENV_PREFIX + name.upper())
        if raw is None:
            continue
        if name in _LIST_FIELDS:
            values[name] = [item.strip() for item in raw.split(",") if item.strip()]
        elif name in _BOOL_FIELDS:
            values[name] = raw.lower() in {"1", "true", "yes", "on"}
        else:
            values[name] = raw
    return values


def from_file(path: Path) -> dict[str, Any]:
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"config file {path} is not valid YAML: {exc}") from None
    if document is None:
        return {}
    if not isinstance(document, dict):
        raise ConfigError(f"config file {path} must be a mapping of settings, not a list")
    return {str(key).replace("-", "_"): value for key, value in document.items()}


def load(
    flags: Mapping[str, Any],
    *,
    config_file: Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> NodeConfig:
    """Merges the sources (later wins); flags whose value is None are not given."""
    merged: dict[str, Any] = {}
    if config_file is not None:
        merged |= from_file(config_file)
    merged |= from_environment(os.environ if environ is None else environ)
    merged |= {key: value for key, value in flags.items() if value is not None}
    try:
        return NodeConfig.model_validate(merged)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        key = ".".join(str(part) for part in first["loc"])
        hint = f" (flag --{key.replace('_', '-')}, env {ENV_PREFIX}{key.upper()})" if key else ""
        raise ConfigError(f"setting {key or '?'}: {first['msg']}{hint}") from None
