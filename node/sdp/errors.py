"""Typed errors of SDP checking: one class per reason the replay tool refuses an SDP.

Each keeps ``ifmesh.node.errors.SdpError``'s 1-based ``line``; the ``code`` is what fixtures'
metadata name as the expected error.
"""

from __future__ import annotations

from ifmesh.node.errors import SdpError


class MalformedSdp(SdpError):
    """A line that is not ``x=value``, a missing mandatory line, or an unparsable value."""

    code = "sdp_malformed"


class MissingFingerprint(SdpError):
    """A media section with no DTLS fingerprint, at media or session level."""

    code = "sdp_missing_fingerprint"


class BadFingerprint(SdpError):
    """A fingerprint with an unknown hash or a digest of the wrong shape."""

    code = "sdp_bad_fingerprint"


class BadSetup(SdpError):
    """A DTLS ``a=setup`` value that is unknown, or ``actpass`` in an answer."""

    code = "sdp_bad_setup"


class BadCandidate(SdpError):
    """An ``a=candidate`` line (or a trickled candidate) that breaks RFC 8839's grammar."""

    code = "sdp_bad_candidate"


class MissingIceCredentials(SdpError):
    """A media section without ``a=ice-ufrag`` / ``a=ice-pwd``, or with malformed ones."""

    code = "sdp_missing_ice_credentials"


class BundleUnknownMid(SdpError):
    """A BUNDLE group naming a mid that no media section carries."""

    code = "sdp_bundle_unknown_mid"


class DuplicateMid(SdpError):
    code = "sdp_duplicate_mid"


class MissingRtcpMux(SdpError):
    """An audio/video section without ``a=rtcp-mux``: WebRTC (and aiortc) require it."""

    code = "sdp_missing_rtcp_mux"


class NoCommonCodec(SdpError):
    """An audio/video section whose codecs the local peer supports none of."""

    code = "sdp_no_common_codec"


class AnswerMismatch(SdpError):
    """An answer whose media sections cannot answer any offer the replay could make."""

    code = "sdp_answer_mismatch"


class NegotiationRefused(SdpError):
    """aiortc itself refused the description (its message is kept)."""

    code = "sdp_refused"


ALL_CODES: frozenset[str] = frozenset(
    cls.code
    for cls in (
        MalformedSdp,
        MissingFingerprint,
        BadFingerprint,
        BadSetup,
        BadCandidate,
        MissingIceCredentials,
        BundleUnknownMid,
        DuplicateMid,
        MissingRtcpMux,
        NoCommonCodec,
        AnswerMismatch,
        NegotiationRefused,
    )
)
