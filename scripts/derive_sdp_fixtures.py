#!/usr/bin/env python3
"""Derive the edited SDP fixtures (valid variants and malformed cases) from captured ones.

    .venv/bin/python scripts/derive_sdp_fixtures.py [--dir fixtures/sdp]

Run it after scripts/capture_sdp.py. Each derived fixture is one captured fixture with a few
lines edited, written with metadata naming its source and the edit. Valid variants state,
by hand, the result the replay must report for what they exercise; malformed ones state
the expected error code, a message substring, and the line (found by locating the edited
line in the result, not by asking the checker).
"""

from __future__ import annotations

import argparse
import itertools
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
Lines = list[str]
Edit = Callable[[Lines], Lines]

EXTRA_CANDIDATES = [
    # What Chromium adds with TCP gathering and STUN/TURN servers configured (RFC 5737 /
    # RFC 3849 documentation addresses: never reachable, never contacted).
    "a=candidate:1563413843 1 tcp 1518280447 10.77.0.1 9 typ host tcptype active "
    "generation 0 network-cost 999",
    "a=candidate:3052393729 1 tcp 1518283007 fd77::1 9 typ host tcptype active "
    "generation 0 network-cost 999",
    "a=candidate:2999745851 1 tcp 1518214911 10.77.0.1 50000 typ host tcptype passive",
    "a=candidate:2999745852 1 tcp 1518149375 10.77.0.1 50001 typ host tcptype so",
    "a=candidate:842163049 1 udp 1677729535 198.51.100.7 51000 typ srflx raddr 10.77.0.1 "
    "rport 43876 generation 0 network-cost 999",
    "a=candidate:842163050 1 udp 1677732095 2001:db8::7 51002 typ srflx raddr fd77::1 "
    "rport 43877 generation 0 network-cost 999",
    "a=candidate:3329512345 1 udp 33562623 203.0.113.9 60000 typ relay raddr 198.51.100.7 "
    "rport 51000 generation 0 network-cost 999",
    "a=end-of-candidates",
]


def index(lines: Lines, prefix: str, nth: int = 0) -> int:
    hits = [i for i, line in enumerate(lines) if line.startswith(prefix)]
    if len(hits) <= nth:
        raise SystemExit(f"derive: no line #{nth} starting with {prefix!r}")
    return hits[nth]


def replace(prefix: str, new: str, nth: int = 0) -> Edit:
    def edit(lines: Lines) -> Lines:
        i = index(lines, prefix, nth)
        return [*lines[:i], new, *lines[i + 1 :]]

    return edit


def remove(prefix: str) -> Edit:
    return lambda lines: [line for line in lines if not line.startswith(prefix)]


def insert_after(prefix: str, new: list[str], nth: int = 0) -> Edit:
    def edit(lines: Lines) -> Lines:
        i = index(lines, prefix, nth) + 1
        return [*lines[:i], *new, *lines[i:]]

    return edit


def move_to_session(prefixes: tuple[str, ...]) -> Edit:
    """Media-level attributes (identical in every section) hoisted to the session level."""

    def edit(lines: Lines) -> Lines:
        first_m = index(lines, "m=")
        hoisted = [line for line in lines[first_m:] if line.startswith(prefixes)]
        unique = list(dict.fromkeys(hoisted))
        kept = [line for line in lines[first_m:] if not line.startswith(prefixes)]
        return [*lines[:first_m], *unique, *kept]

    return edit


def keep_payloads(kind: str, keep: tuple[int, ...], add: dict[int, str] | None = None) -> Edit:
    """The m=KIND section keeps only payload types ``keep`` (and their rtpmap, fmtp and
    rtcp-fb lines); ``add`` appends new payload types with their rtpmap."""
    extra = add or {}

    def edit(lines: Lines) -> Lines:
        start = index(lines, f"m={kind}")
        end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("m=")), None)
        end = len(lines) if end is None else end
        head = lines[start].split()[:3] + [str(pt) for pt in (*keep, *extra)]
        body = [
            line
            for line in lines[start + 1 : end]
            if not line.startswith(("a=rtpmap:", "a=fmtp:", "a=rtcp-fb:"))
            or int(line.split(":", 1)[1].split()[0]) in keep
        ]
        added = [f"a=rtpmap:{pt} {codec}" for pt, codec in extra.items()]
        return [*lines[:start], " ".join(head), *body, *added, *lines[end:]]

    return edit


def move_section_first(kind: str) -> Edit:
    def edit(lines: Lines) -> Lines:
        starts = [i for i, line in enumerate(lines) if line.startswith("m=")] + [len(lines)]
        sections = [lines[a:b] for a, b in itertools.pairwise(starts)]
        moved = [s for s in sections if s[0].startswith(f"m={kind}")]
        rest = [s for s in sections if not s[0].startswith(f"m={kind}")]
        return lines[: starts[0]] + [line for s in moved + rest for line in s]

    return edit


@dataclass
class Derived:
    name: str
    source: str
    edit_note: str
    edits: list[Edit]
    description: str
    exercises: list[str]
    expect: dict[str, Any] | None = None
    error: dict[str, Any] | None = None
    error_at: tuple[str, int] | None = None  # (prefix, nth) of the line the error names
    sdp_type: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


VALID = [
    Derived(
        "ice-candidate-types-offer",
        "chromium-datachannel-offer",
        "added TCP host (active, passive, so), srflx (IPv4 + IPv6) and relay candidates and "
        "a=end-of-candidates after the captured host candidates",
        [insert_after("a=candidate:", EXTRA_CANDIDATES, nth=1)],
        "Every ICE candidate kind: host UDP/TCP over IPv4 and IPv6, TCP active/passive/so, "
        "srflx and relay with raddr/rport, end-of-candidates.",
        ["ice-host", "ice-tcp", "ice-srflx", "ice-relay", "ipv6", "end-of-candidates"],
        expect={
            "candidate_count": 9,
            "candidate_types": {"host": 6, "relay": 1, "srflx": 2},
            "candidate_transports": {"tcp": 4, "udp": 5},
            "candidate_families": {"ipv4": 6, "ipv6": 3},
            "end_of_candidates": True,
        },
    ),
    Derived(
        "dtls-passive-sha1-answer",
        "chromium-datachannel-answer",
        "a=setup:active -> passive; the sha-256 fingerprint replaced by a sha-1 one (20 bytes)",
        [
            replace("a=setup:", "a=setup:passive"),
            replace("a=fingerprint:", "a=fingerprint:sha-1 " + ":".join(["5E"] * 20)),
        ],
        "An answer taking the DTLS server role (setup:passive) with a legacy sha-1 "
        "fingerprint: aiortc becomes the DTLS client.",
        ["dtls-passive", "dtls-sha-1", "data-channel"],
        expect={
            "dtls_setup": "passive",
            "dtls_role": "client",
            "fingerprint_algorithms": ["sha-1"],
        },
    ),
    Derived(
        "session-level-attributes-offer",
        "aiortc-datachannel-offer",
        "ice-ufrag, ice-pwd, fingerprints and setup moved from the media to the session level",
        [move_to_session(("a=ice-ufrag:", "a=ice-pwd:", "a=fingerprint:", "a=setup:"))],
        "ICE credentials and DTLS fingerprints/setup at session level (older endpoints, "
        "SIP gateways): the media section inherits them.",
        ["session-level-attributes", "dtls-sha-384", "dtls-sha-512", "data-channel"],
        expect={
            "dtls_setup": "actpass",
            "dtls_role": "client",
            "fingerprint_algorithms": ["sha-256", "sha-384", "sha-512"],
            "sctp_port": 5000,
        },
    ),
    Derived(
        "unbundled-av-offer",
        "aiortc-av-offer",
        "a=group:BUNDLE removed",
        [remove("a=group:BUNDLE")],
        "Audio and video without BUNDLE: aiortc keeps one ICE/DTLS transport per section.",
        ["no-bundle", "rtcp-mux", "basic-av-offer"],
        expect={"bundle": None, "bundle_transport_shared": False, "rtcp_mux": True},
    ),
    Derived(
        "sendonly-hold-offer",
        "aiortc-av-offer",
        "audio a=sendrecv -> a=sendonly, video a=sendrecv -> a=inactive",
        [replace("a=sendrecv", "a=sendonly"), replace("a=sendrecv", "a=inactive")],
        "A hold re-offer (the SIP session's re-INVITE case): audio sendonly, video inactive.",
        ["direction-sendonly", "direction-inactive", "hold"],
        expect={
            "media": [
                {
                    "mid": "0",
                    "kind": "audio",
                    "direction": "sendonly",
                    "negotiated_direction": "recvonly",
                },
                {
                    "mid": "1",
                    "kind": "video",
                    "direction": "inactive",
                    "negotiated_direction": "inactive",
                },
            ]
        },
    ),
    Derived(
        "codec-subset-answer",
        "chromium-av-answer",
        "audio keeps only PCMA (8), video only H264 42e01f (101) and its rtx (102)",
        [keep_payloads("audio", (8,)), keep_payloads("video", (101, 102))],
        "An answer selecting a subset of the offered codecs: PCMA for audio, H264 "
        "constrained-baseline (+ rtx) for video.",
        ["codec-negotiation", "codec-subset"],
        expect={"codecs": {"0": ["PCMA/8000/1"], "1": ["H264/90000", "rtx/90000"]}},
    ),
    Derived(
        "legacy-sctpmap-offer",
        "chromium-datachannel-offer",
        "m=application in the pre-RFC 8841 form: DTLS/SCTP 5000 + a=sctpmap, no a=sctp-port",
        [
            lambda lines: [
                "m=application 9 DTLS/SCTP 5000" if line.startswith("m=application") else line
                for line in lines
            ],
            remove("a=sctp-port"),
            remove("a=max-message-size"),
            lambda lines: [*lines, "a=sctpmap:5000 webrtc-datachannel 1024"],
        ],
        "The legacy data-channel form older Chrome and Firefox sent (draft-ietf-mmusic-sctp-"
        "sdp-05): the SCTP port is the m= format, no max-message-size.",
        ["data-channel", "legacy-sctpmap"],
        expect={"sctp_port": 5000, "max_message_size": None},
    ),
    Derived(
        "ice-lite-offer",
        "chromium-datachannel-offer",
        "a=ice-lite added at session level (as an SFU such as a media server offers)",
        [insert_after("t=", ["a=ice-lite"])],
        "An offer from an ICE-lite endpoint: aiortc must take the controlling role.",
        ["ice-lite", "data-channel"],
        expect={"ice_lite": True, "ice_role": "controlling"},
    ),
]

MALFORMED = [
    Derived(
        "malformed/no-fingerprint",
        "chromium-datachannel-offer",
        "a=fingerprint removed",
        [remove("a=fingerprint:")],
        "No DTLS fingerprint anywhere: aiortc 1.16 accepts this; the replay must not.",
        ["missing-fingerprint"],
        error={"code": "sdp_missing_fingerprint", "message": "no a=fingerprint"},
        error_at=("m=application", 0),
    ),
    Derived(
        "malformed/bad-candidate-fields",
        "chromium-datachannel-offer",
        "the port removed from the first candidate",
        [replace("a=candidate:", "a=candidate:2154662704 1 udp 2113937151 10.77.0.1 typ host")],
        "A candidate line with a field missing (aiortc's candidate_from_sdp misreads it).",
        ["bad-candidate"],
        error={"code": "sdp_bad_candidate", "message": "needs at least 8"},
        error_at=("a=candidate:", 0),
    ),
    Derived(
        "malformed/bad-candidate-address",
        "chromium-datachannel-offer",
        "the second candidate's address made 10.77.0.300",
        [replace("a=candidate:", "a=candidate:1 1 udp 2113937151 10.77.0.300 5000 typ host", 1)],
        "A candidate whose address is not an address.",
        ["bad-candidate"],
        error={"code": "sdp_bad_candidate", "message": "10.77.0.300"},
        error_at=("a=candidate:", 1),
    ),
    Derived(
        "malformed/bad-candidate-type",
        "chromium-datachannel-offer",
        "typ host -> typ hots",
        [replace("a=candidate:", "a=candidate:1 1 udp 2113937151 10.77.0.1 5000 typ hots")],
        "A candidate of an unknown type.",
        ["bad-candidate"],
        error={"code": "sdp_bad_candidate", "message": "'hots'"},
        error_at=("a=candidate:", 0),
    ),
    Derived(
        "malformed/bundle-absent-mid",
        "aiortc-av-offer",
        "BUNDLE names a third mid, 2, that no section has",
        [replace("a=group:BUNDLE", "a=group:BUNDLE 0 1 2")],
        "A BUNDLE group naming an absent mid: aiortc 1.16 accepts this; the replay must not.",
        ["bundle-absent-mid"],
        error={"code": "sdp_bundle_unknown_mid", "message": "mid '2'"},
        error_at=("a=group:BUNDLE", 0),
    ),
    Derived(
        "malformed/no-common-codec",
        "aiortc-av-offer",
        "audio offers only AMR-WB and telephone-event",
        [keep_payloads("audio", (), {100: "AMR-WB/16000", 101: "telephone-event/16000"})],
        "An audio section with no codec aiortc has (found by the tool's own check).",
        ["no-common-codec"],
        error={"code": "sdp_no_common_codec", "message": "AMR-WB/16000"},
        error_at=("m=audio", 0),
    ),
    Derived(
        "malformed/h264-high-only",
        "aiortc-av-offer",
        "video offers only H264 High profile (640c1f)",
        [
            keep_payloads("video", (99,)),
            lambda ls: [line.replace("level-id=42001f", "level-id=640c1f") for line in ls],
        ],
        "H264 by name but a profile aiortc cannot do: aiortc itself refuses it, and the "
        "tool reports which section.",
        ["no-common-codec", "h264-profile"],
        error={"code": "sdp_no_common_codec", "message": "video"},
        error_at=("m=video", 0),
    ),
    Derived(
        "malformed/short-fingerprint",
        "aiortc-datachannel-offer",
        "the sha-256 fingerprint cut to 31 bytes",
        [
            lambda ls: [
                line[:-3] if line.startswith("a=fingerprint:sha-256") else line for line in ls
            ]
        ],
        "A fingerprint whose digest has the wrong length for its hash.",
        ["bad-fingerprint"],
        error={"code": "sdp_bad_fingerprint", "message": "32 colon-separated"},
        error_at=("a=fingerprint:sha-256", 0),
    ),
    Derived(
        "malformed/unknown-fingerprint-hash",
        "chromium-datachannel-offer",
        "fingerprint hash sha-256 -> sha3-256",
        [lambda ls: [line.replace(":sha-256 ", ":sha3-256 ") for line in ls]],
        "A fingerprint hash that RFC 8122 does not name.",
        ["bad-fingerprint"],
        error={"code": "sdp_bad_fingerprint", "message": "'sha3-256'"},
        error_at=("a=fingerprint:", 0),
    ),
    Derived(
        "malformed/answer-actpass",
        "chromium-datachannel-answer",
        "a=setup:active -> actpass",
        [replace("a=setup:", "a=setup:actpass")],
        "An answer that leaves the DTLS role open (only an offer may say actpass).",
        ["bad-setup"],
        error={"code": "sdp_bad_setup", "message": "actpass"},
        error_at=("a=setup:", 0),
        sdp_type="answer",
    ),
    Derived(
        "malformed/no-ice-pwd",
        "chromium-datachannel-offer",
        "a=ice-pwd removed",
        [remove("a=ice-pwd:")],
        "No ICE password: no connectivity check could be authenticated.",
        ["missing-ice-credentials"],
        error={"code": "sdp_missing_ice_credentials", "message": "a=ice-pwd"},
        error_at=("m=application", 0),
    ),
    Derived(
        "malformed/no-rtcp-mux",
        "aiortc-av-offer",
        "a=rtcp-mux removed from the video section",
        [lambda ls: [line for i, line in enumerate(ls) if i != index(ls, "a=rtcp-mux", 1)]],
        "A video section without rtcp-mux, which WebRTC requires.",
        ["missing-rtcp-mux"],
        error={"code": "sdp_missing_rtcp_mux", "message": "video section"},
        error_at=("m=video", 0),
    ),
    Derived(
        "malformed/not-an-sdp-line",
        "chromium-datachannel-offer",
        "a line 'hello world' inserted after t=",
        [insert_after("t=", ["hello world"])],
        "A line that is not type=value (pasted text, a broken signaling frame).",
        ["not-sdp"],
        error={"code": "sdp_malformed", "message": "'hello world'"},
        error_at=("hello world", 0),
    ),
    Derived(
        "malformed/duplicate-mid",
        "aiortc-av-offer",
        "the video section's mid 1 -> 0 (BUNDLE 0 0)",
        [replace("a=mid:", "a=mid:0", 1), replace("a=group:BUNDLE", "a=group:BUNDLE 0 0")],
        "Two sections with the same mid.",
        ["duplicate-mid"],
        error={"code": "sdp_duplicate_mid", "message": "mid '0'"},
        error_at=("a=mid:", 1),
    ),
    Derived(
        "malformed/rtpmap-unlisted",
        "aiortc-av-offer",
        "an rtpmap for payload type 120, which the m=audio line does not list",
        [insert_after("a=rtpmap:8 ", ["a=rtpmap:120 iLBC/8000"])],
        "An rtpmap for a payload type the m= line does not carry.",
        ["bad-rtpmap"],
        error={"code": "sdp_malformed", "message": "payload type 120"},
        error_at=("a=rtpmap:120", 0),
    ),
    Derived(
        "malformed/no-sctp-port",
        "chromium-datachannel-offer",
        "a=sctp-port removed",
        [remove("a=sctp-port")],
        "A data section that does not say its SCTP port.",
        ["missing-sctp-port"],
        error={"code": "sdp_malformed", "message": "a=sctp-port"},
        error_at=("m=application", 0),
    ),
    Derived(
        "malformed/answer-data-first",
        "aiortc-av-answer",
        "the application section moved before audio and video",
        [move_section_first("application")],
        "An answer whose sections are in an order no offer from aiortc has.",
        ["answer-mismatch"],
        error={"code": "sdp_answer_mismatch", "message": "after"},
        error_at=("m=audio", 0),
        sdp_type="answer",
    ),
]


def derive(directory: Path, spec: Derived) -> None:
    source_sdp = (directory / f"{spec.source}.sdp").read_bytes().decode()
    source_meta = yaml.safe_load((directory / f"{spec.source}.yaml").read_text())
    lines = source_sdp.split("\r\n")[:-1] if "\r\n" in source_sdp else source_sdp.splitlines()
    for edit in spec.edits:
        lines = edit(lines)
    target = directory / f"{spec.name}.sdp"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(("\r\n".join(lines) + "\r\n").encode())
    meta: dict[str, Any] = {
        "description": spec.description,
        "exercises": spec.exercises,
        "type": spec.sdp_type or source_meta["type"],
        "origin": {
            "method": "derived",
            "implementation": f"{source_meta['origin']['implementation']} (edited)",
            "how": f"scripts/derive_sdp_fixtures.py from {spec.source}: {spec.edit_note}",
            "derived_from": spec.source,
        },
    }
    if spec.expect is not None:
        meta["expect"] = spec.expect
    if spec.error is not None:
        line = index(lines, *spec.error_at) + 1 if spec.error_at else None
        meta["error"] = {**spec.error, "line": line}
    target.with_suffix(".yaml").write_text(yaml.safe_dump(meta, sort_keys=False, width=100))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, default=ROOT / "fixtures" / "sdp")
    args = parser.parse_args(argv)
    for spec in VALID + MALFORMED:
        derive(args.dir, spec)
    print(f"derived {len(VALID)} valid and {len(MALFORMED)} malformed fixtures in {args.dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
