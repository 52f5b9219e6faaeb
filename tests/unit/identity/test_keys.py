"""The key file in the state directory, and public keys as text."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from ifmesh.node.identity import keys
from ifmesh.node.identity.errors import KeyFileProblem


def test_a_key_is_made_on_first_start_with_mode_0600_and_kept(tmp_path: Path) -> None:
    first = keys.load_or_create(tmp_path / "state")
    path = keys.key_path(tmp_path / "state")
    assert path.stat().st_mode & 0o777 == 0o600
    assert keys.load_or_create(tmp_path / "state").public == first.public


def test_a_key_file_others_can_read_is_refused(tmp_path: Path) -> None:
    keys.load_or_create(tmp_path)
    keys.key_path(tmp_path).chmod(0o644)
    with pytest.raises(KeyFileProblem, match="chmod 600"):
        keys.load_or_create(tmp_path)


def test_a_file_that_is_no_key_is_refused(tmp_path: Path) -> None:
    path = keys.key_path(tmp_path)
    path.write_text("hello")
    path.chmod(0o600)
    with pytest.raises(KeyFileProblem, match="not an unencrypted PEM"):
        keys.load_or_create(tmp_path)


def test_public_keys_read_as_base64_spki_or_the_origins_hex() -> None:
    key = keys.SessionKey.generate().public
    assert len(key.text) == 60 and key.text.startswith("MCowBQYDK2VwAyEA")
    assert keys.raw_public_key(key.text) == key.raw
    assert keys.raw_public_key(key.raw.hex()) == key.raw
    wrong_prefix = base64.b64encode(bytes(12) + key.raw).decode()
    assert keys.raw_public_key(wrong_prefix) is None
    assert keys.parse_public_key("nonsense") is None
