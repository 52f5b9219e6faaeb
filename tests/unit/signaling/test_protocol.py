"""Frames on the wire: round trips, browser-shaped candidates, and a typed error per bad input."""

from __future__ import annotations

import json

import pytest

from ifmesh.signaling import errors
from ifmesh.signaling.protocol import (
    Answer,
    Candidate,
    Error,
    Join,
    Joined,
    Leave,
    Limits,
    Member,
    Offer,
    PeerJoined,
    PeerLeft,
    Ping,
    Pong,
    ServerClosing,
    decode_client_frame,
    decode_server_frame,
    encode_frame,
    encode_relay,
    error_frame,
    stamp,
)

RELAY_TYPES = {"offer", "answer", "candidate"}

CLIENT_FRAMES = [
    Join(room="phase-0", session="session-2-webrtc", token="t", capabilities=["webrtc"]),
    Join(room="r", session="a"),
    Leave(),
    Ping(nonce="n1"),
    Offer(to="b", epoch=3, sdp="v=0\r\n"),
    Answer(to="b", epoch=3, sdp="v=0\r\n"),
    Candidate(to="b", epoch=0, candidate="candidate:1 1 udp 1 127.0.0.1 5000 typ host"),
    Candidate(to="b", epoch=0, candidate="", sdp_mid="0", sdp_mline_index=0),
]

SERVER_FRAMES = [
    Joined(
        room="r",
        session="a",
        roster=[Member(session="a"), Member(session="b", capabilities=["git"])],
        roster_version=2,
        limits=Limits(max_frame_bytes=65536, rate=50.0, burst=100, max_peers=64),
        heartbeat=10.0,
    ),
    PeerJoined(room="r", session="b", capabilities=["git"], roster_version=3),
    PeerLeft(room="r", session="b", roster_version=4, reason="timeout"),
    stamp(Offer(to="b", epoch=1, sdp="v=0"), "a"),
    stamp(Candidate(to="b", epoch=1, candidate="", sdp_mid="0"), "a"),
    Error(code="unknown_peer", message="no such peer", ref="offer"),
    ServerClosing(retry_after=2.5),
    Pong(nonce="n1"),
]


@pytest.mark.parametrize("frame", CLIENT_FRAMES, ids=lambda f: f.type)
def test_client_frames_round_trip(frame: object) -> None:
    assert decode_client_frame(encode_frame(frame)) == frame  # type: ignore[arg-type]


@pytest.mark.parametrize("frame", SERVER_FRAMES, ids=lambda f: f.type)
def test_server_frames_round_trip(frame: object) -> None:
    text = encode_frame(frame)  # type: ignore[arg-type]
    assert decode_server_frame(text) == frame
    assert next(iter(json.loads(text))) == "type", "type is the first key on the wire"


def test_browser_candidate_json_is_accepted_as_is() -> None:
    # What `{type, to, epoch, ...event.candidate.toJSON()}` produces in Chromium.
    text = json.dumps(
        {
            "type": "candidate",
            "to": "b",
            "epoch": 2,
            "candidate": "candidate:842163049 1 udp 1677729535 10.77.0.1 46154 typ srflx",
            "sdpMid": "0",
            "sdpMLineIndex": 0,
            "usernameFragment": "U7kh",
        }
    )
    frame = decode_client_frame(text)
    assert isinstance(frame, Candidate)
    assert (frame.sdp_mid, frame.sdp_mline_index, frame.username_fragment) == ("0", 0, "U7kh")
    assert not frame.end_of_candidates
    wire = json.loads(encode_frame(stamp(frame, "a")))
    assert wire["sdpMid"] == "0" and wire["sdpMLineIndex"] == 0 and wire["from"] == "a"


def test_end_of_candidates_is_an_empty_candidate() -> None:
    frame = decode_client_frame('{"type":"candidate","to":"b","epoch":0,"candidate":""}')
    assert isinstance(frame, Candidate) and frame.end_of_candidates


def test_stamp_overwrites_a_spoofed_from() -> None:
    frame = decode_client_frame('{"type":"offer","to":"b","epoch":0,"sdp":"v=0","from":"victim"}')
    assert isinstance(frame, Offer)
    delivered = json.loads(encode_frame(stamp(frame, "mallory")))
    assert delivered["from"] == "mallory"


def test_unknown_fields_are_ignored_for_forward_compatibility() -> None:
    frame = decode_server_frame(
        '{"type":"peer-joined","room":"r","session":"b","roster_version":1,"future":{"x":1}}'
    )
    assert isinstance(frame, PeerJoined) and frame.session == "b"


@pytest.mark.parametrize(
    ("text", "error", "path"),
    [
        ("not json", errors.MalformedFrame, ""),
        ("", errors.MalformedFrame, ""),
        ("[1, 2]", errors.MalformedFrame, ""),
        ('"join"', errors.MalformedFrame, ""),
        ("{}", errors.MissingField, "type"),
        ('{"type": 7}', errors.InvalidField, "type"),
        ('{"type": "hello"}', errors.UnknownFrameType, "type"),
        ('{"type": "joined"}', errors.UnknownFrameType, "type"),  # a server frame from a client
        ('{"type": "join", "room": "r"}', errors.MissingField, "session"),
        ('{"type": "join", "room": "r r", "session": "a"}', errors.InvalidField, "room"),
        ('{"type": "join", "room": "r", "session": "a", "capabilities": "x"}', errors.InvalidField,
         "capabilities"),
        ('{"type": "offer", "to": "b", "epoch": 0}', errors.MissingField, "sdp"),
        ('{"type": "offer", "to": "b", "epoch": -1, "sdp": "v"}', errors.InvalidField, "epoch"),
        ('{"type": "answer", "epoch": 0, "sdp": "v"}', errors.MissingField, "to"),
        ('{"type": "candidate", "to": "b", "epoch": 0}', errors.MissingField, "candidate"),
        ('{"type": "candidate", "to": "b", "epoch": 0, "candidate": "", "sdpMLineIndex": "x"}',
         errors.InvalidField, "sdpMLineIndex"),
    ],
)  # fmt: skip
def test_each_bad_frame_gets_its_typed_error(
    text: str, error: type[errors.FrameError], path: str
) -> None:
    with pytest.raises(error) as caught:
        decode_client_frame(text)
    assert type(caught.value) is error
    assert caught.value.path == path
    assert caught.value.close_code is None, "a bad frame never ends the connection"


def test_oversize_frame_is_refused_before_parsing() -> None:
    text = encode_frame(Offer(to="b", epoch=0, sdp="v" * 2000))
    with pytest.raises(errors.FrameTooLarge) as caught:
        decode_client_frame(text, max_bytes=1000)
    assert caught.value.close_code == 1009
    assert decode_client_frame(text, max_bytes=len(text)) is not None


def test_error_frame_carries_the_stable_code() -> None:
    frame = error_frame(errors.UnknownPeer("no member 'zed' in room 'r'"), ref="offer")
    assert json.loads(encode_frame(frame)) == {
        "type": "error",
        "code": "unknown_peer",
        "message": "no member 'zed' in room 'r'",
        "ref": "offer",
    }


def test_error_codes_are_unique_and_stable() -> None:
    codes = [cls.code for cls in errors.error_classes()]
    assert len(codes) == len(set(codes))
    assert {
        "bad_json", "unknown_type", "missing_field", "invalid_field", "frame_too_large",
        "not_joined", "already_joined", "unknown_peer", "rate_limited", "auth_required",
        "bad_token", "token_expired", "wrong_room", "wrong_session", "room_full",
        "too_many_rooms", "join_timeout", "session_replaced", "internal_error",
    } <= set(codes)  # fmt: skip


@pytest.mark.parametrize("frame", [f for f in CLIENT_FRAMES if f.type in RELAY_TYPES])
def test_encode_relay_equals_encoding_the_stamped_frame(frame: object) -> None:
    stamped = encode_frame(stamp(frame, "sender"))  # type: ignore[type-var]
    fast = encode_relay(frame, "sender")  # type: ignore[arg-type]
    assert json.loads(fast) == json.loads(stamped)
    assert next(iter(json.loads(fast))) == "type"
