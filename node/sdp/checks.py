"""The replay tool's own checks: what a WebRTC peer must refuse, with the line at fault.

aiortc 1.16 takes an SDP with no fingerprint, a BUNDLE group naming an absent mid, or (via
``candidate_from_sdp``) a garbled candidate without complaint, so ifmesh judges them here,
before aiortc sees the text. ``problems`` lists every fault in document order;
``check`` raises the first.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator
from typing import Literal

from ifmesh.node.errors import SdpError
from ifmesh.node.sdp.errors import (
    BadFingerprint,
    BadSetup,
    BundleUnknownMid,
    DuplicateMid,
    MalformedSdp,
    MissingFingerprint,
    MissingIceCredentials,
    MissingRtcpMux,
    NoCommonCodec,
)
from ifmesh.node.sdp.model import MediaSection, SessionDescription

SdpType = Literal["offer", "answer"]

# Digest sizes in bytes (RFC 8122 hash-func names, lower-cased).
FINGERPRINT_BYTES = {
    "sha-1": 20,
    "sha-224": 28,
    "sha-256": 32,
    "sha-384": 48,
    "sha-512": 64,
    "md5": 16,
    "md2": 16,
}
SETUP_VALUES = frozenset({"actpass", "active", "passive", "holdconn"})
# Codecs that only help another codec: a section with nothing else has no media codec.
HELPER_CODECS = frozenset({"rtx", "red", "ulpfec", "flexfec-03", "cn", "telephone-event"})
_ICE_CHARS = re.compile(r"^[A-Za-z0-9+/]+$")
_HEX_PAIRS = re.compile(r"^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2})*$")


def check(
    description: SessionDescription,
    sdp_type: SdpType,
    *,
    supported_codecs: Collection[tuple[str, int]] | None = None,
) -> None:
    """Raise the first problem (by line) of ``description`` used as a remote ``sdp_type``."""
    found = problems(description, sdp_type, supported_codecs=supported_codecs)
    if found:
        raise found[0]


def problems(
    description: SessionDescription,
    sdp_type: SdpType,
    *,
    supported_codecs: Collection[tuple[str, int]] | None = None,
) -> list[SdpError]:
    """Every problem, ordered by line; ``supported_codecs`` is (name, clock rate) pairs."""
    supported = (
        {(name.lower(), clock) for name, clock in supported_codecs}
        if supported_codecs is not None
        else None
    )
    found = list(_group_problems(description))
    for media in description.media:
        if media.port == 0 and not media.bundle_only:
            continue  # a rejected or disabled section negotiates nothing
        found.extend(_media_problems(media, sdp_type, supported))
    return sorted(found, key=lambda e: e.line if e.line is not None else 10**9)


def _group_problems(description: SessionDescription) -> Iterator[SdpError]:
    seen: dict[str, int] = {}
    for media in description.media:
        attr = media.attributes.first("mid")
        if attr is None or not attr.value:
            continue
        if attr.value in seen:
            yield DuplicateMid(
                f"mid {attr.value!r} is already used on line {seen[attr.value]}", line=attr.line
            )
        seen.setdefault(attr.value, attr.line)
    for group in description.groups:
        if group.semantics != "BUNDLE":
            continue
        for mid in group.mids:
            if mid not in seen:
                present = ", ".join(seen) or "none"
                yield BundleUnknownMid(
                    f"BUNDLE group names mid {mid!r}, which no media section has "
                    f"(mids present: {present})",
                    line=group.line,
                )


def _media_problems(
    media: MediaSection, sdp_type: SdpType, supported: set[tuple[str, int]] | None
) -> Iterator[SdpError]:
    where = f"{media.kind} section (mid {media.mid!r})"
    yield from _ice_problems(media, where)
    yield from _dtls_problems(media, sdp_type, where)
    if media.kind in ("audio", "video"):
        if not media.rtcp_mux:
            yield MissingRtcpMux(f"{where} has no a=rtcp-mux (WebRTC requires it)", line=media.line)
        if supported is not None:
            usable = [
                c
                for c in media.codecs
                if c.name.lower() not in HELPER_CODECS
                and (c.name.lower(), c.clock_rate) in supported
            ]
            if not usable:
                offered = ", ".join(c.label for c in media.codecs) or "none"
                yield NoCommonCodec(
                    f"no common codec in {where}: offered {offered}; "
                    f"supported {', '.join(sorted(f'{n}/{c}' for n, c in supported))}",
                    line=media.line,
                )
    elif media.is_data and media.sctp_port is None:
        yield MalformedSdp(f"{where} has no a=sctp-port", line=media.line)


def _ice_problems(media: MediaSection, where: str) -> Iterator[SdpError]:
    ufrag = media.effective("ice-ufrag")
    pwd = media.effective("ice-pwd")
    if ufrag is None or pwd is None:
        missing = " and ".join(
            n for n, a in (("a=ice-ufrag", ufrag), ("a=ice-pwd", pwd)) if a is None
        )
        yield MissingIceCredentials(f"{where} has no {missing}", line=media.line)
        return
    if not 4 <= len(ufrag.value or "") <= 256 or not _ICE_CHARS.match(ufrag.value or ""):
        yield MissingIceCredentials(
            f"ice-ufrag {ufrag.value!r} must be 4-256 ice-chars", line=ufrag.line
        )
    if not 22 <= len(pwd.value or "") <= 256 or not _ICE_CHARS.match(pwd.value or ""):
        yield MissingIceCredentials("ice-pwd must be 22-256 ice-chars", line=pwd.line)


def _dtls_problems(media: MediaSection, sdp_type: SdpType, where: str) -> Iterator[SdpError]:
    fingerprints = media.effective_fingerprints()
    if not fingerprints:
        yield MissingFingerprint(
            f"{where} has no a=fingerprint (at media or session level): "
            "DTLS cannot authenticate the peer",
            line=media.line,
        )
    for fp in fingerprints:
        size = FINGERPRINT_BYTES.get(fp.algorithm)
        if size is None:
            yield BadFingerprint(
                f"fingerprint hash {fp.algorithm!r} is not one of {sorted(FINGERPRINT_BYTES)}",
                line=fp.line,
            )
        elif not _HEX_PAIRS.match(fp.value) or len(fp.value.split(":")) != size:
            yield BadFingerprint(
                f"{fp.algorithm} fingerprint must be {size} colon-separated hex bytes",
                line=fp.line,
            )
    setup = media.effective("setup")
    if setup is None:
        if sdp_type == "answer":
            yield BadSetup(f"{where} of an answer has no a=setup", line=media.line)
        return
    if setup.value not in SETUP_VALUES:
        yield BadSetup(
            f"a=setup:{setup.value} is not one of {sorted(SETUP_VALUES)}", line=setup.line
        )
    elif sdp_type == "answer" and setup.value not in ("active", "passive"):
        yield BadSetup(
            f"an answer must say a=setup:active or passive, not {setup.value}", line=setup.line
        )
