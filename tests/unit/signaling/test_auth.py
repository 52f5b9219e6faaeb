"""Join tokens: what admits a session, and the typed refusal for everything else."""

from __future__ import annotations

from pathlib import Path

import pytest

from ifmesh.signaling import auth, errors

SECRET = b"0123456789abcdef-secret"
NOW = 1_700_000_000


def test_a_minted_token_admits_its_room_and_session_until_expiry() -> None:
    token = auth.mint(SECRET, "phase-0", "session-2-webrtc", NOW + 3600)
    claims = auth.verify(SECRET, token, room="phase-0", session="session-2-webrtc", now=NOW)
    assert claims == auth.TokenClaims("phase-0", "session-2-webrtc", NOW + 3600)
    assert token.startswith("v1.")


@pytest.mark.parametrize(
    ("room", "session", "now", "error"),
    [
        ("other", "a", NOW, errors.WrongRoom),
        ("r", "b", NOW, errors.WrongSession),
        ("r", "a", NOW + 60, errors.TokenExpired),
        ("r", "a", NOW + 61, errors.TokenExpired),
    ],
)
def test_token_refusals_name_the_cause(
    room: str, session: str, now: int, error: type[errors.AuthError]
) -> None:
    token = auth.mint(SECRET, "r", "a", NOW + 60)
    with pytest.raises(error) as caught:
        auth.verify(SECRET, token, room=room, session=session, now=now)
    assert caught.value.close_code == 4401


def test_a_token_from_another_secret_is_bad_even_for_another_room() -> None:
    token = auth.mint(b"another-secret-of-16+", "other", "a", NOW + 60)
    with pytest.raises(errors.BadToken):
        auth.verify(SECRET, token, room="r", session="a", now=NOW)


def test_tampering_with_any_part_breaks_the_signature() -> None:
    token = auth.mint(SECRET, "r", "a", NOW + 60)
    version, room, session, _expiry, mac = token.split(".")
    later = ".".join([version, room, session, str(NOW + 10**6), mac])
    with pytest.raises(errors.BadToken):
        auth.verify(SECRET, later, room="r", session="a", now=NOW)


@pytest.mark.parametrize("token", ["", "v1", "v2.a.b.1.c", "v1.!!.YQ.1.x", "v1.cg.YQ.soon.x"])
def test_malformed_tokens_are_bad_tokens(token: str) -> None:
    with pytest.raises(errors.BadToken):
        auth.verify(SECRET, token, room="r", session="a", now=NOW)


@pytest.mark.parametrize(
    ("text", "seconds"), [("3600", 3600), ("90s", 90), ("30m", 1800), ("1h", 3600), ("7d", 604800)]
)
def test_parse_ttl(text: str, seconds: int) -> None:
    assert auth.parse_ttl(text) == seconds


@pytest.mark.parametrize("text", ["", "0", "-1h", "1w", "h"])
def test_bad_ttl_is_a_config_error(text: str) -> None:
    with pytest.raises(errors.ConfigError):
        auth.parse_ttl(text)


def test_secret_file_is_stripped_and_must_be_long_enough(tmp_path: Path) -> None:
    good = tmp_path / "good"
    good.write_text(SECRET.decode() + "\n")
    assert auth.load_secret(good) == SECRET
    short = tmp_path / "short"
    short.write_text("tiny\n")
    with pytest.raises(errors.ConfigError, match="at least 16"):
        auth.load_secret(short)
    with pytest.raises(errors.ConfigError, match="cannot read"):
        auth.load_secret(tmp_path / "missing")
