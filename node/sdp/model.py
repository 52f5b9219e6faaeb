"""The parsed shape of an SDP: sessions, media sections and the attributes the replay reads.

Every value keeps the 1-based line it came from, so a check can point at it. Attributes
that may sit at session or media level (fingerprint, setup, ICE credentials) are resolved
by ``MediaSection.effective_*``: media level wins, session level is the fallback.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ifmesh.node.sdp.candidate import Candidate


@dataclass(frozen=True)
class Attribute:
    name: str
    value: str | None
    line: int


@dataclass(frozen=True)
class Fingerprint:
    algorithm: str
    value: str
    line: int


@dataclass(frozen=True)
class Codec:
    payload_type: int
    name: str
    clock_rate: int
    channels: int | None
    line: int
    fmtp: str | None = None
    rtcp_feedback: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        """``opus/48000/2`` as in an rtpmap."""
        tail = f"/{self.channels}" if self.channels else ""
        return f"{self.name}/{self.clock_rate}{tail}"


@dataclass(frozen=True)
class Group:
    semantics: str
    mids: tuple[str, ...]
    line: int


@dataclass(frozen=True)
class Attributes:
    """Attributes of one level (session or a media section), in order of appearance."""

    items: tuple[Attribute, ...] = ()

    def first(self, name: str) -> Attribute | None:
        return next((a for a in self.items if a.name == name), None)

    def all(self, name: str) -> tuple[Attribute, ...]:
        return tuple(a for a in self.items if a.name == name)

    def has(self, name: str) -> bool:
        return self.first(name) is not None


@dataclass(frozen=True)
class MediaSection:
    """One ``m=`` section. ``session`` is the session level, for fallbacks."""

    kind: str
    port: int
    protocol: str
    formats: tuple[str, ...]
    line: int
    attributes: Attributes
    session: Attributes
    codecs: tuple[Codec, ...] = ()
    candidates: tuple[Candidate, ...] = field(default=())

    @property
    def mid(self) -> str | None:
        attr = self.attributes.first("mid")
        return attr.value if attr else None

    @property
    def direction(self) -> str:
        for name in ("sendrecv", "sendonly", "recvonly", "inactive"):
            if self.attributes.has(name):
                return name
        for name in ("sendonly", "recvonly", "inactive"):
            if self.session.has(name):
                return name
        return "sendrecv"

    @property
    def rtcp_mux(self) -> bool:
        return self.attributes.has("rtcp-mux")

    @property
    def rtcp_mux_only(self) -> bool:
        return self.attributes.has("rtcp-mux-only")

    @property
    def bundle_only(self) -> bool:
        return self.attributes.has("bundle-only")

    @property
    def end_of_candidates(self) -> bool:
        return self.attributes.has("end-of-candidates") or self.session.has("end-of-candidates")

    @property
    def is_data(self) -> bool:
        return self.kind == "application" and "SCTP" in self.protocol.upper()

    def effective(self, name: str) -> Attribute | None:
        return self.attributes.first(name) or self.session.first(name)

    def effective_fingerprints(self) -> tuple[Fingerprint, ...]:
        attrs = self.attributes.all("fingerprint") or self.session.all("fingerprint")
        result = []
        for attr in attrs:
            algorithm, _, value = (attr.value or "").partition(" ")
            result.append(Fingerprint(algorithm.lower(), value.strip(), attr.line))
        return tuple(result)

    @property
    def sctp_port(self) -> int | None:
        attr = self.attributes.first("sctp-port")
        if attr and attr.value and attr.value.isdigit():
            return int(attr.value)
        # the legacy form (draft-05): "m=application PORT DTLS/SCTP 5000" + a=sctpmap
        if self.protocol.upper() == "DTLS/SCTP" and self.formats and self.formats[0].isdigit():
            return int(self.formats[0])
        return None

    @property
    def max_message_size(self) -> int | None:
        attr = self.attributes.first("max-message-size")
        if attr and attr.value and attr.value.isdigit():
            return int(attr.value)
        return None


@dataclass(frozen=True)
class SessionDescription:
    """A whole SDP. ``line_count`` is the number of lines read (for messages)."""

    origin: str
    session_name: str
    attributes: Attributes
    groups: tuple[Group, ...]
    media: tuple[MediaSection, ...]
    line_count: int

    @property
    def bundle(self) -> Group | None:
        return next((g for g in self.groups if g.semantics == "BUNDLE"), None)

    @property
    def ice_lite(self) -> bool:
        return self.attributes.has("ice-lite")

    @property
    def candidates(self) -> tuple[Candidate, ...]:
        return tuple(c for m in self.media for c in m.candidates)
