"""docs/signaling-protocol.md must name every frame, error code and close code the server uses."""

from __future__ import annotations

import typing
from pathlib import Path

from ifmesh.signaling import errors, protocol

DOC = (Path(__file__).resolve().parents[3] / "docs" / "signaling-protocol.md").read_text()
# Roots of the hierarchy, never sent on the wire.
ABSTRACT = {"signaling_error", "invalid_frame", "auth_failed", "config_error"}


def test_every_error_code_and_its_close_code_is_documented() -> None:
    for cls in errors.error_classes():
        if cls.code in ABSTRACT:
            continue
        row = next((line for line in DOC.splitlines() if line.startswith(f"| `{cls.code}` |")), "")
        assert row, f"error code {cls.code} is missing from the table"
        if cls.close_code is None:
            assert "stays open" in row, cls.code
        else:
            assert f"**{cls.close_code}**" in row, cls.code
            assert f"| {cls.close_code} |" in DOC, f"close code {cls.close_code} table row"


def test_every_frame_type_is_documented() -> None:
    for union in (protocol.ClientFrame, protocol.ServerFrame):
        members = typing.get_args(typing.get_args(union)[0])
        for model in members:
            kind = model.model_fields["type"].default
            assert f'"type": "{kind}"' in DOC, kind


def test_documented_token_recipe_matches_the_server() -> None:
    import base64
    import hashlib
    import hmac

    secret, room, session, expiry = b"0123456789abcdef", "phase-0", "session-2", 1767225600

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    msg = f"ifmesh-signaling-v1\n{room}\n{session}\n{expiry}".encode()
    mac = b64(hmac.new(secret, msg, hashlib.sha256).digest())
    token = f"v1.{b64(room.encode())}.{b64(session.encode())}.{expiry}.{mac}"
    from ifmesh.signaling.auth import mint

    assert mint(secret, room, session, expiry) == token


def test_documented_role_token_recipe_matches_the_server() -> None:
    import base64
    import hashlib
    import hmac

    secret, room, session, expiry, role = (
        b"0123456789abcdef",
        "phase-0",
        "dash",
        1767225600,
        "observer",
    )

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    assert 'message = "ifmesh-signaling-v2\\n" + room' in DOC
    msg = f"ifmesh-signaling-v2\n{room}\n{session}\n{expiry}\n{role}".encode()
    mac = b64(hmac.new(secret, msg, hashlib.sha256).digest())
    token = f"v2.{b64(room.encode())}.{b64(session.encode())}.{expiry}.{role}.{mac}"
    from ifmesh.signaling.auth import mint

    assert mint(secret, room, session, expiry, role) == token


def test_every_role_is_documented() -> None:
    from ifmesh.signaling.auth import ROLES

    for role in ROLES:
        assert f"| `{role}` |" in DOC, role
