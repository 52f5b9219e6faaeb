"""What each captured SDP fixture is: its description and the ``exercises`` tags its
metadata gets. ``scripts/capture_sdp.py`` writes these next to the SDP it captured; the
negotiation result it records comes from replaying that SDP.
"""

from __future__ import annotations

FIXTURES: dict[str, tuple[str, list[str]]] = {
    "chromium-datachannel-offer": (
        "Chromium's data-channel offer once ICE gathering completed (candidates inline); "
        "aiortc answered it and a negotiated channel carried a message each way.",
        ["data-channel", "sctp", "bundle", "ice-host", "ipv6", "dtls-actpass"],
    ),
    "chromium-trickle-offer": (
        "The same Chromium offer as createOffer() returned it, before any candidate: the "
        "candidates arrive trickled (NAME.trickle.jsonl, onicecandidate events, end marker "
        "included).",
        ["data-channel", "trickle-ice", "ice-host", "ipv6", "end-of-candidates"],
    ),
    "aiortc-datachannel-answer": (
        "aiortc's answer to chromium-datachannel-offer (DTLS active, all candidates inline, "
        "end-of-candidates); Chromium accepted it and the channel opened.",
        ["data-channel", "sctp", "bundle", "dtls-active", "end-of-candidates", "dtls-sha-384"],
    ),
    "aiortc-datachannel-offer": (
        "aiortc's data-channel offer: sha-256/384/512 fingerprints, end-of-candidates; "
        "Chromium answered it and the channel carried a message each way.",
        ["data-channel", "sctp", "bundle", "dtls-actpass", "dtls-sha-512", "end-of-candidates"],
    ),
    "chromium-datachannel-answer": (
        "Chromium's answer to aiortc-datachannel-offer (DTLS active); aiortc accepted it "
        "and the channel opened.",
        ["data-channel", "sctp", "bundle", "dtls-active", "ice-host", "ipv6"],
    ),
    "chromium-mdns-offer": (
        "Chromium's data-channel offer with its default privacy setting: host candidates "
        "hidden behind mDNS names (<uuid>.local), as a browser on the web sends them. The "
        "replay reports them and never resolves them.",
        ["data-channel", "ice-host", "mdns-candidate", "dtls-actpass"],
    ),
    "chromium-av-offer": (
        "Chromium's audio + video + data offer: every codec Chromium has (opus, red, G722, "
        "PCMU/PCMA, CN, telephone-event; VP8, VP9, AV1, H264 profiles, rtx, red, ulpfec), "
        "BUNDLE of three sections, rtcp-mux and rtcp-rsize.",
        ["basic-av-offer", "multi-codec", "bundle", "rtcp-mux", "data-channel", "dtls-actpass"],
    ),
    "aiortc-av-answer": (
        "aiortc's answer to chromium-av-offer: codec negotiation keeps only what aiortc "
        "supports (opus, G722, PCMU, PCMA; VP8, H264 + rtx).",
        ["codec-negotiation", "bundle", "rtcp-mux", "dtls-active"],
    ),
    "aiortc-av-offer": (
        "aiortc's basic audio + video offer (no data channel), BUNDLE and rtcp-mux.",
        ["basic-av-offer", "bundle", "rtcp-mux", "dtls-actpass", "end-of-candidates"],
    ),
    "chromium-av-answer": (
        "Chromium's answer to aiortc-av-offer: the codecs Chromium selects from aiortc's.",
        ["codec-negotiation", "bundle", "rtcp-mux", "dtls-active"],
    ),
    "firefox-datachannel-offer": (
        "Firefox's data-channel offer once ICE gathering completed: UDP host candidates and "
        "TCP active ones (port 9), IPv4 and IPv6, end-of-candidates; aiortc answered it and "
        "a negotiated channel carried a message each way.",
        ["data-channel", "sctp", "bundle", "ice-host", "ice-tcp", "ipv6", "dtls-actpass",
         "end-of-candidates"],
    ),
    "firefox-trickle-offer": (
        "The same Firefox offer as createOffer() returned it, before any candidate; the "
        "trickled candidates (NAME.trickle.jsonl) end with Firefox's per-section empty "
        "candidate and then the null event.",
        ["data-channel", "trickle-ice", "ice-host", "ice-tcp", "ipv6", "end-of-candidates"],
    ),
    "firefox-datachannel-answer": (
        "Firefox's answer to an aiortc data-channel offer (DTLS active); aiortc accepted it "
        "and the channel carried a message each way.",
        ["data-channel", "sctp", "bundle", "dtls-active", "ice-host", "ice-tcp", "ipv6"],
    ),
    "firefox-av-offer": (
        "Firefox's audio + video + data offer (transceivers without tracks): opus, G722, "
        "PCMU/PCMA, telephone-event; VP8, VP9, AV1 + rtx, red, ulpfec; rtcp-mux offered "
        "with RTCP candidates (component 2) as a fallback; aiortc answered it.",
        ["basic-av-offer", "multi-codec", "bundle", "rtcp-mux", "data-channel", "dtls-actpass",
         "ice-host", "ice-tcp"],
    ),
    "firefox-av-answer": (
        "Firefox's answer to aiortc's audio + video offer: the codecs Firefox selects.",
        ["codec-negotiation", "bundle", "rtcp-mux", "dtls-active"],
    ),
}  # fmt: skip
