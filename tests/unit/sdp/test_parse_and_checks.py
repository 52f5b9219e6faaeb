from __future__ import annotations

import pytest

from ifmesh.node.sdp.checks import check, problems
from ifmesh.node.sdp.errors import (
    BadSetup,
    BundleUnknownMid,
    MalformedSdp,
    MissingFingerprint,
    NoCommonCodec,
)
from ifmesh.node.sdp.fixtures import sdp_fixture
from ifmesh.node.sdp.parse import parse_sdp, strip_candidates
from ifmesh.node.sdp.trickle import BadTrickle, check_trickle, parse_trickle

SUPPORTED = {("opus", 48000), ("PCMU", 8000), ("VP8", 90000)}


def test_chromium_av_offer_parses_codecs_fmtp_and_feedback() -> None:
    d = parse_sdp(sdp_fixture("chromium-av-offer").text)
    assert [m.kind for m in d.media] == ["audio", "video", "application"]
    assert d.bundle is not None and d.bundle.mids == ("0", "1", "2")
    opus = d.media[0].codecs[0]
    assert (opus.label, opus.fmtp) == ("opus/48000/2", "minptime=10;useinbandfec=1")
    assert "transport-cc" in opus.rtcp_feedback
    vp8 = next(c for c in d.media[1].codecs if c.name == "VP8")
    assert {"nack", "nack pli", "goog-remb"} <= set(vp8.rtcp_feedback)
    assert d.media[2].sctp_port == 5000 and d.media[2].max_message_size == 262144
    check(d, "offer", supported_codecs=SUPPORTED)


def test_static_payload_types_need_no_rtpmap() -> None:
    text = sdp_fixture("aiortc-av-offer").text.replace("a=rtpmap:0 PCMU/8000\r\n", "")
    pcmu = next(c for c in parse_sdp(text).media[0].codecs if c.payload_type == 0)
    assert pcmu.label == "PCMU/8000/1"


def test_strip_candidates_leaves_everything_else() -> None:
    text = sdp_fixture("aiortc-datachannel-offer").text
    stripped = strip_candidates(text)
    assert "a=candidate" not in stripped and "a=end-of-candidates" not in stripped
    kept = [ln for ln in text.split("\r\n") if not ln.startswith(("a=candidate", "a=end-of"))]
    assert stripped == "\r\n".join(kept)


def test_lf_only_sdp_is_read_like_crlf() -> None:
    text = sdp_fixture("chromium-datachannel-offer").text
    assert parse_sdp(text.replace("\r\n", "\n")) == parse_sdp(text)


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("", None),
        ("v=1\r\n", 1),
        ("v=0\r\ns=-\r\n", None),
        ("v=0\r\no=x\r\ns=-\r\n\r\nt=0 0\r\n", 4),
    ],
)
def test_structural_problems_are_malformed(text: str, line: int | None) -> None:
    with pytest.raises(MalformedSdp) as raised:
        parse_sdp(text)
    assert raised.value.line == line


def test_problems_lists_every_fault_in_line_order() -> None:
    text = sdp_fixture("aiortc-av-offer").text
    text = text.replace("a=group:BUNDLE 0 1", "a=group:BUNDLE 0 1 9")
    text = "\r\n".join(ln for ln in text.split("\r\n") if not ln.startswith("a=fingerprint"))
    found = problems(parse_sdp(text), "offer", supported_codecs=SUPPORTED)
    assert [type(p) for p in found] == [BundleUnknownMid, MissingFingerprint, MissingFingerprint]
    assert [p.line for p in found] == sorted(p.line or 0 for p in found)


def test_session_level_fingerprint_serves_every_section() -> None:
    d = parse_sdp(sdp_fixture("session-level-attributes-offer").text)
    assert [f.algorithm for f in d.media[0].effective_fingerprints()] == [
        "sha-256", "sha-384", "sha-512",
    ]  # fmt: skip
    check(d, "offer")


def test_offer_setup_is_fine_but_an_answer_must_choose() -> None:
    d = parse_sdp(sdp_fixture("chromium-datachannel-offer").text)
    check(d, "offer")
    with pytest.raises(BadSetup, match="actpass"):
        check(d, "answer")


def test_codec_check_ignores_helper_codecs() -> None:
    d = parse_sdp(sdp_fixture("aiortc-av-offer").text)
    with pytest.raises(NoCommonCodec) as raised:
        check(d, "offer", supported_codecs={("rtx", 90000), ("opus", 48000)})
    assert raised.value.line == d.media[1].line


def test_trickle_lines_and_end_marker() -> None:
    fixture = sdp_fixture("chromium-trickle-offer")
    trickled = parse_trickle(fixture.trickle_text or "")
    assert trickled[-1].candidate is None  # Chromium's end-of-candidates event
    assert all(t.candidate is not None for t in trickled[:-1])
    check_trickle(trickled, parse_sdp(fixture.text))


@pytest.mark.parametrize(
    ("line", "error"),
    [
        ('{"candidate": "candidate:1 1 udp 1 10.0.0.1 1 typ host", "sdpMid": "7"}', BadTrickle),
        ('{"candidate": "candidate:1 1 udp 1 10.0.0.1 1 typ host"}', BadTrickle),
        ("not json", MalformedSdp),
    ],
)
def test_bad_trickle_names_its_line(line: str, error: type[Exception]) -> None:
    d = parse_sdp(sdp_fixture("chromium-trickle-offer").text)
    with pytest.raises(error) as raised:
        check_trickle(parse_trickle("\n" + line + "\n"), d)
    assert getattr(raised.value, "line", None) == 2
