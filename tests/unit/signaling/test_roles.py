"""Roles in join tokens and on the roster: a node's token is the v1 token it always was, an
observer's or operator's names its role inside the MAC, and the roster carries the role (absent
for a node, so a room of nodes looks as it did before roles)."""

from __future__ import annotations

import pytest

from ifmesh.signaling import auth, errors
from ifmesh.signaling.protocol import (
    Member,
    PeerJoined,
    decode_client_frame,
    decode_server_frame,
    encode_frame,
)
from ifmesh.signaling.rooms import Presence

SECRET = b"0123456789abcdef-roles"
EXPIRY = 4_000_000_000


def verify(token: str, session: str = "dashboard") -> auth.TokenClaims:
    return auth.verify(SECRET, token, room="phase-0", session=session, now=1_000)


def test_a_nodes_token_is_still_a_v1_token_and_old_tokens_mean_node() -> None:
    token = auth.mint(SECRET, "phase-0", "session-2", EXPIRY)
    assert token.startswith("v1.") and token.count(".") == 4
    assert auth.mint(SECRET, "phase-0", "session-2", EXPIRY, "node") == token
    assert verify(token, "session-2").role == "node"


@pytest.mark.parametrize("role", ["observer", "operator"])
def test_an_observer_or_operator_token_names_its_role(role: str) -> None:
    token = auth.mint(SECRET, "phase-0", "dashboard", EXPIRY, role)
    assert token.startswith("v2.") and f".{role}." in token
    assert verify(token).role == role


def test_a_role_can_be_neither_changed_nor_dropped() -> None:
    observer = auth.mint(SECRET, "phase-0", "dashboard", EXPIRY, "observer")
    with pytest.raises(errors.BadToken):
        verify(observer.replace(".observer.", ".operator."))
    head, mac = observer.rsplit(".", 1)
    as_v1 = "v1." + head.removeprefix("v2.").rsplit(".", 1)[0] + "." + mac
    with pytest.raises(errors.BadToken):
        verify(as_v1)
    with pytest.raises(errors.BadToken, match="role must be one of"):
        verify(observer.replace(".observer.", ".admin."))


def test_only_known_roles_are_minted() -> None:
    with pytest.raises(errors.ConfigError, match="unknown role"):
        auth.mint(SECRET, "phase-0", "dashboard", EXPIRY, "admin")


def test_presence_keeps_its_role_through_the_backplane_and_old_entries_are_nodes() -> None:
    observer = Presence("dashboard", (), "i-1", "c-1", "observer")
    assert Presence.from_dict(observer.as_dict()) == observer
    assert observer.wire_role == "observer"
    old = {"session": "session-2", "capabilities": [], "instance": "i-1", "conn": "c-2"}
    assert Presence.from_dict(old).role == "node" and Presence.from_dict(old).wire_role is None


def test_the_roster_writes_a_role_only_for_a_member_that_is_not_a_node() -> None:
    assert encode_frame(Member(session="session-2")) == '{"session":"session-2","capabilities":[]}'
    joined = PeerJoined(room="r", session="dashboard", roster_version=2, role="observer")
    assert decode_server_frame(encode_frame(joined)) == joined


def test_a_join_may_name_a_role_and_only_a_known_one() -> None:
    join = decode_client_frame('{"type":"join","room":"r","session":"s","role":"observer"}')
    assert join.role == "observer"  # type: ignore[union-attr]
    with pytest.raises(errors.InvalidField) as raised:
        decode_client_frame('{"type":"join","room":"r","session":"s","role":"admin"}')
    assert raised.value.path == "role"
