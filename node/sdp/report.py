"""What ``ifmesh sdp replay`` reports: the result of a real negotiation, per media section.

``NegotiationReport.summary()`` is the flat view fixtures' metadata compare against
(``expect:`` in ``fixtures/sdp/*.yaml``); ``text()`` is what a person reads.
"""

from __future__ import annotations

from collections import Counter
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from ifmesh.node.sdp.candidate import Candidate


class CandidateReport(BaseModel):
    model_config = ConfigDict(frozen=True)

    foundation: str
    component: int
    transport: str
    priority: int
    address: str
    port: int
    type: str
    family: str
    related_address: str | None
    related_port: int | None
    tcptype: str | None
    line: int
    sdp_mid: str | None = None

    @classmethod
    def of(cls, candidate: Candidate, sdp_mid: str | None = None) -> CandidateReport:
        return cls.model_validate({**candidate.as_dict(), "sdp_mid": sdp_mid})


class MediaResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    mid: str | None
    kind: str
    line: int
    protocol: str
    remote_direction: str
    negotiated_direction: str | None
    codecs_offered: list[str]
    codecs_chosen: list[str]
    rtcp_mux: bool
    dtls_setup: str | None
    dtls_role: str
    fingerprint_algorithms: list[str]
    ice_ufrag: str | None
    candidates: list[CandidateReport]
    end_of_candidates: bool
    sctp_port: int | None
    max_message_size: int | None


class NegotiationReport(BaseModel):
    model_config = ConfigDict(frozen=True)

    source: str
    sdp_type: Literal["offer", "answer"]
    media: list[MediaResult]
    bundle: list[str] | None
    bundle_transport_shared: bool
    ice_lite: bool
    ice_role: str
    trickled: list[CandidateReport]
    local_sdp: str
    local_sctp_port: int | None
    local_max_message_size: int | None
    aiortc_version: str
    aiortc_candidates_agree: bool
    remote_candidates_given_to_aiortc: int

    def summary(self) -> dict[str, Any]:
        candidates = [c for m in self.media for c in m.candidates] + self.trickled
        av = [m for m in self.media if m.kind in ("audio", "video")]
        data = next((m for m in self.media if m.sctp_port is not None), None)
        return {
            "type": self.sdp_type,
            "media": [
                {
                    "mid": m.mid,
                    "kind": m.kind,
                    "direction": m.remote_direction,
                    "negotiated_direction": m.negotiated_direction,
                }
                for m in self.media
            ],
            "codecs": {m.mid or str(i): m.codecs_chosen for i, m in enumerate(av)},
            "bundle": self.bundle,
            "bundle_transport_shared": self.bundle_transport_shared,
            "rtcp_mux": all(m.rtcp_mux for m in av) if av else None,
            "dtls_setup": self.media[0].dtls_setup if self.media else None,
            "dtls_role": self.media[0].dtls_role if self.media else None,
            "fingerprint_algorithms": sorted(
                {a for m in self.media for a in m.fingerprint_algorithms}
            ),
            "ice_ufrag": self.media[0].ice_ufrag if self.media else None,
            "ice_lite": self.ice_lite,
            "ice_role": self.ice_role,
            "candidate_count": len(candidates),
            "candidate_types": dict(sorted(Counter(c.type for c in candidates).items())),
            "candidate_transports": dict(sorted(Counter(c.transport for c in candidates).items())),
            "candidate_families": dict(sorted(Counter(c.family for c in candidates).items())),
            "end_of_candidates": any(m.end_of_candidates for m in self.media),
            "trickled_count": len(self.trickled),
            "sctp_port": data.sctp_port if data else None,
            "max_message_size": data.max_message_size if data else None,
        }

    def text(self) -> str:
        role = "remote offer" if self.sdp_type == "offer" else "remote answer"
        lines = [f"{self.source}: negotiated as {role} with aiortc {self.aiortc_version}"]
        if self.bundle is not None:
            shared = "one transport" if self.bundle_transport_shared else "separate transports"
            lines.append(f"  BUNDLE {' '.join(self.bundle)} ({shared})")
        lite = ", remote is ice-lite" if self.ice_lite else ""
        lines.append(f"  ICE: aiortc is {self.ice_role}{lite}")
        for m in self.media:
            flow = (
                "data channels"
                if m.sctp_port is not None
                else f"remote {m.remote_direction} -> {m.negotiated_direction or '-'}"
            )
            lines.append(f"  m={m.kind} mid={m.mid} (line {m.line}) {m.protocol}: {flow}")
            if m.codecs_chosen or m.kind in ("audio", "video"):
                lines.append(f"    codecs chosen: {', '.join(m.codecs_chosen) or 'none'}")
                lines.append(f"    rtcp-mux: {'yes' if m.rtcp_mux else 'no'}")
            if m.sctp_port is not None:
                lines.append(f"    sctp-port {m.sctp_port}, max-message-size {m.max_message_size}")
            lines.append(
                f"    dtls: remote setup {m.dtls_setup or '-'}, aiortc is {m.dtls_role}, "
                f"fingerprint {'/'.join(m.fingerprint_algorithms)}"
            )
            eoc = ", end-of-candidates" if m.end_of_candidates else ""
            lines.append(f"    ice: ufrag {m.ice_ufrag}, {len(m.candidates)} candidates{eoc}")
            lines.extend(f"      {_candidate_text(c)}" for c in m.candidates)
        if self.trickled:
            lines.append(f"  trickled: {len(self.trickled)} candidates")
            lines.extend(f"      {_candidate_text(c)}" for c in self.trickled)
        lines.append(
            "  no candidate was given to aiortc: nothing was contacted"
            if self.remote_candidates_given_to_aiortc == 0
            else f"  {self.remote_candidates_given_to_aiortc} candidates reached aiortc"
        )
        return "\n".join(lines)


def _candidate_text(c: CandidateReport) -> str:
    related = f" raddr {c.related_address} rport {c.related_port}" if c.related_address else ""
    tcp = f" tcptype {c.tcptype}" if c.tcptype else ""
    mid = f" mid {c.sdp_mid}" if c.sdp_mid is not None else ""
    return (
        f"line {c.line}: {c.type} {c.transport} {c.family} {c.address}:{c.port}{related}{tcp}{mid}"
    )
