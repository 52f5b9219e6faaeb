"""`ifmesh dashboard` writes the page's URL (with a token for the page's role when it has the
server's secret, and an operator's key when given one), and `ifmesh token --role` mints the
tokens the server stamps roles from. No network: the commands only write text."""

from __future__ import annotations

import base64
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import load_der_private_key

from ifmesh.node.cli.dashboard import dashboard_url
from ifmesh.node.cli.main import main
from ifmesh.node.identity import keys
from ifmesh.signaling import auth, errors

SECRET = b"cli-dashboard-secret-0123456789"


def test_the_url_is_the_page_on_the_nodes_server() -> None:
    url = dashboard_url("ws://127.0.0.1:8765/ws", "phase-0", "dashboard", "observer")
    assert url == "http://127.0.0.1:8765/dashboard/#room=phase-0&session=dashboard&role=observer"
    behind_a_proxy = dashboard_url("wss://example.org/ifmesh/ws", "r", "alice", "operator", "t")
    parts = urlsplit(behind_a_proxy)
    assert (parts.scheme, parts.netloc, parts.path) == (
        "https",
        "example.org",
        "/ifmesh/dashboard/",
    )
    assert parse_qs(parts.fragment)["signaling"] == ["wss://example.org/ifmesh/ws"]
    with pytest.raises(errors.ConfigError):
        dashboard_url("http://127.0.0.1:8765/ws", "r", "s", "observer")


def test_the_command_mints_a_token_for_the_pages_role(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "secret").write_bytes(SECRET)
    secret = str(tmp_path / "secret")
    argv = ["dashboard", "--signaling", "ws://127.0.0.1:9000/ws", "--room", "demo",
            "--session", "alice", "--role", "operator", "--secret-file", secret]  # fmt: skip
    assert main(argv) == 0
    fragment = parse_qs(urlsplit(capsys.readouterr().out.strip()).fragment)
    assert fragment["role"] == ["operator"] and fragment["session"] == ["alice"]
    claims = auth.verify(
        SECRET, fragment["token"][0], room="demo", session="alice", now=time.time()
    )
    assert claims.role == "operator"


def test_a_page_needs_a_session_id_that_can_be_an_ifmessage_source(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["dashboard", "--session", "Alice Smith"]) == 2
    assert "no valid session id" in capsys.readouterr().err


def test_token_role(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "secret").write_bytes(SECRET)
    common = ["token", "--room", "r", "--session", "s", "--secret-file", str(tmp_path / "secret")]
    assert main([*common, "--role", "observer"]) == 0
    assert (
        auth.verify(SECRET, capsys.readouterr().out.strip(), room="r", session="s", now=0).role
        == "observer"
    )
    assert main(common) == 0
    assert capsys.readouterr().out.startswith("v1.")  # a node's token, as before roles


def test_the_operators_link_carries_the_key_the_page_signs_with(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`--operator-key FILE` makes the page an operator's and puts the key, PKCS#8 DER in
    base64url, into the fragment (never sent to the server); stderr says what the link holds."""
    key = keys.SessionKey.generate()
    keys.write_key_file(tmp_path / "operator.key", key)
    argv = ["dashboard", "--signaling", "ws://127.0.0.1:9000/ws", "--session", "alice",
            "--operator-key", str(tmp_path / "operator.key")]  # fmt: skip
    assert main(argv) == 0
    out, err = capsys.readouterr()
    parts = urlsplit(out.strip())
    assert "opkey" not in parts.query and "opkey" not in parts.path
    fragment = parse_qs(parts.fragment)
    assert fragment["role"] == ["operator"]
    der = base64.urlsafe_b64decode(fragment["opkey"][0] + "==")
    private = load_der_private_key(der, password=None)
    assert isinstance(private, Ed25519PrivateKey)
    assert keys.SessionKey.from_private(private).public == key.public
    assert key.public.text in err and "secure context" not in err

    # A page from a LAN address over plain http cannot sign: said at once.
    assert main([*argv[:2], "ws://192.0.2.10:9000/ws", *argv[3:]]) == 0
    assert "no secure context" in capsys.readouterr().err


def test_an_operator_key_is_for_an_operators_page_and_must_be_private(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "operator.key"
    keys.write_key_file(path, keys.SessionKey.generate())
    assert main(["dashboard", "--role", "observer", "--operator-key", str(path)]) == 2
    assert "operator's page" in capsys.readouterr().err
    path.chmod(0o644)
    assert main(["dashboard", "--operator-key", str(path)]) == 2
    assert "readable by others" in capsys.readouterr().err
