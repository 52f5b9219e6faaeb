"""Text → ``SessionDescription``, sans-IO, with a line number on every refusal.

Only the structure is judged here (``x=value`` lines, ``m=`` lines, rtpmaps, candidate
grammar); what makes an SDP unusable for WebRTC is judged in ``ifmesh.node.sdp.checks``.
"""

from __future__ import annotations

import re

from ifmesh.node.sdp.candidate import Candidate, parse_candidate
from ifmesh.node.sdp.errors import MalformedSdp
from ifmesh.node.sdp.model import (
    Attribute,
    Attributes,
    Codec,
    Group,
    MediaSection,
    SessionDescription,
)

_LINE = re.compile(r"^([a-z])=(.*)$")
_RTPMAP = re.compile(r"^(\d{1,3}) ([^/\s]+)/(\d+)(?:/(\d+))?$")
# RFC 3551's static payload types that may appear without an rtpmap.
_STATIC = {0: ("PCMU", 8000, 1), 8: ("PCMA", 8000, 1), 9: ("G722", 8000, 1), 18: ("G729", 8000, 1)}


def split_lines(text: str) -> list[str]:
    """SDP lines without terminators; CRLF and bare LF are both accepted."""
    lines = re.split(r"\r?\n", text)
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def parse_sdp(text: str) -> SessionDescription:
    lines = split_lines(text)
    if not lines:
        raise MalformedSdp("the SDP is empty")
    if lines[0] != "v=0":
        raise MalformedSdp(f"an SDP starts with 'v=0', found {lines[0][:40]!r}", line=1)
    origin = session_name = None
    session: list[Attribute] = []
    groups: list[Group] = []
    sections: list[tuple[int, str, list[Attribute]]] = []  # (line, m= value, attributes)
    for number, raw in enumerate(lines, start=1):
        match = _LINE.match(raw)
        if match is None:
            what = "an empty line" if not raw.strip() else f"{raw[:40]!r}"
            raise MalformedSdp(f"{what} is not a 'type=value' SDP line", line=number)
        kind, value = match.groups()
        if kind == "m":
            sections.append((number, value, []))
        elif kind == "a":
            name, sep, rest = value.partition(":")
            attribute = Attribute(name, rest if sep else None, number)
            (sections[-1][2] if sections else session).append(attribute)
            if name == "group" and not sections:
                groups.append(_group(rest, number))
        elif kind == "o" and not sections:
            origin = value
        elif kind == "s" and not sections:
            session_name = value
    if origin is None:
        raise MalformedSdp("the SDP has no origin line (o=)")
    if session_name is None:
        raise MalformedSdp("the SDP has no session name line (s=)")
    session_attrs = Attributes(tuple(session))
    media = tuple(
        _media(number, value, Attributes(tuple(attrs)), session_attrs)
        for number, value, attrs in sections
    )
    return SessionDescription(
        origin=origin,
        session_name=session_name,
        attributes=session_attrs,
        groups=tuple(groups),
        media=media,
        line_count=len(lines),
    )


def strip_candidates(text: str) -> str:
    """The SDP without candidate and end-of-candidates lines, CRLF-terminated.

    The replay hands this to aiortc so it never resolves an mDNS name or sends a
    connectivity check to an address taken from a fixture.
    """
    kept = [
        line
        for line in split_lines(text)
        if not line.startswith(("a=candidate:", "a=end-of-candidates"))
    ]
    return "\r\n".join(kept) + "\r\n"


def _group(value: str, line: int) -> Group:
    semantics, *mids = value.split()
    if not semantics:
        raise MalformedSdp("a=group has no semantics", line=line)
    return Group(semantics, tuple(mids), line)


def _media(line: int, value: str, attrs: Attributes, session: Attributes) -> MediaSection:
    bits = value.split()
    if len(bits) < 4:
        raise MalformedSdp("an m= line needs media, port, protocol and formats", line=line)
    kind, port_text, protocol, *formats = bits
    port_text = port_text.split("/", 1)[0]
    if not port_text.isdigit() or int(port_text) > 65535:
        raise MalformedSdp(f"m= port {port_text!r} is not 0..65535", line=line)
    return MediaSection(
        kind=kind,
        port=int(port_text),
        protocol=protocol,
        formats=tuple(formats),
        line=line,
        attributes=attrs,
        session=session,
        codecs=_codecs(kind, formats, attrs, line) if kind in ("audio", "video") else (),
        candidates=_candidates(attrs),
    )


def _codecs(kind: str, formats: list[str], attrs: Attributes, m_line: int) -> tuple[Codec, ...]:
    rtpmaps: dict[int, Codec] = {}
    for attr in attrs.all("rtpmap"):
        match = _RTPMAP.match(attr.value or "")
        if match is None:
            raise MalformedSdp(
                f"rtpmap {attr.value!r} is not 'PT name/clock[/channels]'", line=attr.line
            )
        pt_text, name, clock, channels = match.groups()
        if pt_text not in formats:
            raise MalformedSdp(
                f"rtpmap for payload type {pt_text} not listed in the m= line (line {m_line})",
                line=attr.line,
            )
        rtpmaps[int(pt_text)] = Codec(
            int(pt_text), name, int(clock), int(channels) if channels else None, attr.line
        )
    codecs = []
    for fmt in formats:
        if not fmt.isdigit() or int(fmt) > 127:
            raise MalformedSdp(f"RTP payload type {fmt!r} is not 0..127", line=m_line)
        pt = int(fmt)
        codec = rtpmaps.get(pt)
        if codec is None and pt in _STATIC:
            name, clock, channels = _STATIC[pt]
            codec = Codec(pt, name, clock, channels if kind == "audio" else None, m_line)
        if codec is None:
            raise MalformedSdp(f"payload type {pt} has no rtpmap", line=m_line)
        codecs.append(
            Codec(
                codec.payload_type,
                codec.name,
                codec.clock_rate,
                codec.channels,
                codec.line,
                fmtp=_per_payload(attrs, "fmtp", pt),
                rtcp_feedback=tuple(
                    (a.value or "").split(" ", 1)[1]
                    for a in attrs.all("rtcp-fb")
                    if (a.value or "").split(" ", 1)[0] in (fmt, "*") and " " in (a.value or "")
                ),
            )
        )
    return tuple(codecs)


def _per_payload(attrs: Attributes, name: str, pt: int) -> str | None:
    for attr in attrs.all(name):
        head, _, rest = (attr.value or "").partition(" ")
        if head == str(pt):
            return rest
    return None


def _candidates(attrs: Attributes) -> tuple[Candidate, ...]:
    return tuple(parse_candidate(a.value or "", line=a.line) for a in attrs.all("candidate"))
