"""Trickled candidates: one JSON object per line, as a browser's ``onicecandidate`` gives them.

``{"candidate": "candidate:…", "sdpMid": "0", "sdpMLineIndex": 0}``; an empty ``candidate``
(or ``null``) is the end-of-candidates marker. Line numbers are those of this file.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from ifmesh.node.sdp.candidate import Candidate, parse_candidate
from ifmesh.node.sdp.errors import BadCandidate, MalformedSdp
from ifmesh.node.sdp.model import SessionDescription


class BadTrickle(BadCandidate):
    """A trickled candidate that names no media section of the SDP it belongs to."""


@dataclass(frozen=True)
class TrickledCandidate:
    sdp_mid: str | None
    sdp_mline_index: int | None
    candidate: Candidate | None  # None: end of candidates
    line: int


def parse_trickle(text: str) -> list[TrickledCandidate]:
    result = []
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            item = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise MalformedSdp(f"trickled candidate is not JSON: {exc.msg}", line=number) from None
        if not isinstance(item, dict):
            raise MalformedSdp("trickled candidate must be a JSON object", line=number)
        mid = item.get("sdpMid")
        index = item.get("sdpMLineIndex")
        if mid is not None and not isinstance(mid, str):
            raise MalformedSdp("sdpMid must be a string", line=number)
        if index is not None and (not isinstance(index, int) or isinstance(index, bool)):
            raise MalformedSdp("sdpMLineIndex must be an integer", line=number)
        text_value = item.get("candidate")
        if text_value is not None and not isinstance(text_value, str):
            raise BadCandidate("candidate must be a string", line=number)
        candidate = parse_candidate(text_value, line=number) if text_value else None
        result.append(TrickledCandidate(mid, index, candidate, number))
    return result


def check_trickle(trickled: list[TrickledCandidate], description: SessionDescription) -> None:
    """Each trickled candidate must name a media section of ``description``."""
    mids = [m.mid for m in description.media]
    for item in trickled:
        if item.candidate is None:
            continue
        if item.sdp_mid is not None:
            if item.sdp_mid not in mids:
                raise BadTrickle(
                    f"trickled candidate names sdpMid {item.sdp_mid!r}, which the SDP lacks",
                    line=item.line,
                )
        elif item.sdp_mline_index is None or not 0 <= item.sdp_mline_index < len(mids):
            raise BadTrickle(
                "trickled candidate has neither a known sdpMid nor a valid sdpMLineIndex",
                line=item.line,
            )
