"""Node configuration: sources merge in order, errors name the setting and where to set it."""

from __future__ import annotations

from pathlib import Path

import pytest

from ifmesh.node.errors import ConfigError
from ifmesh.node.runtime import config


def test_precedence_file_then_environment_then_flags(tmp_path: Path) -> None:
    file = tmp_path / "node.yaml"
    file.write_text(
        "session: session-2-webrtc\nroom: from-file\nlease-seconds: 60\n"
        "capabilities: [docs:technical-writing]\n"
    )
    env = {"IFMESH_ROOM": "from-env", "IFMESH_CAPABILITIES": "protocol:webrtc, test:fixtures"}
    loaded = config.load({"room": None, "lease_seconds": 30}, config_file=file, environ=env)
    assert loaded.session == "session-2-webrtc"
    assert loaded.room == "from-env"
    assert loaded.lease_seconds == 30
    assert loaded.capabilities == ["protocol:webrtc", "test:fixtures"]


def test_defaults_are_loopback_only_and_explicit_ice(tmp_path: Path) -> None:
    loaded = config.load({"session": "session-5-cli"}, environ={})
    assert loaded.ice_servers == []
    assert loaded.host_addresses == ["127.0.0.1"]
    assert loaded.resolved_state_dir.name == "session-5-cli"
    turn = config.load(
        {"session": "s", "ice_servers": ["turn:turn.example.org:3478"]}, environ={}
    ).ice_servers
    assert turn[0].urls == ["turn:turn.example.org:3478"]


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        ({}, "setting session: Field required"),
        ({"session": "Session Two"}, "setting session"),
        ({"session": "s", "capabilities": ["writing"]}, "setting capabilities.0"),
        ({"session": "s", "lease_seconds": -1}, "IFMESH_LEASE_SECONDS"),
        ({"session": "s", "colour": "blue"}, "setting colour"),
    ],
)
def test_errors_name_the_setting(flags: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        config.load(flags, environ={})


def test_broken_config_file_is_a_config_error(tmp_path: Path) -> None:
    file = tmp_path / "node.yaml"
    file.write_text("session: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        config.load({}, config_file=file, environ={})
    with pytest.raises(ConfigError, match="cannot read"):
        config.load({}, config_file=tmp_path / "missing.yaml", environ={})
    file.write_text("- a list\n")
    with pytest.raises(ConfigError, match="mapping"):
        config.load({}, config_file=file, environ={})
