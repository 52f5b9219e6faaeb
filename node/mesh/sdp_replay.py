"""`ifmesh sdp replay`: feed an SDP into a real aiortc RTCPeerConnection, report the result.

An offer is set as the remote description and answered; an answer is set as the remote
description after aiortc made an offer with the same media sections (and mids). Before
aiortc sees anything, ``ifmesh.node.sdp`` parses the text and makes the checks aiortc does not.

Nothing is ever contacted: ``iceServers`` is empty, and candidate and end-of-candidates
lines are stripped before the text reaches aiortc (aiortc would resolve ``.local`` names
over mDNS and, once its own candidates are gathered, send checks to every remote address).
Candidates are reported from ``ifmesh.node.sdp``'s parser and cross-checked against aiortc's own
SDP parser, which only parses. The peer connection is closed before its connect task runs.

``CapturePeer`` is the same aiortc peer used the other way round: to capture aiortc's own
SDP and prove interop with a browser (``scripts/capture_sdp.py``).
"""

from __future__ import annotations

import asyncio
import logging
import re
from typing import Literal

import aiortc
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc import sdp as aiortc_sdp
from aiortc.codecs import CODECS
from aiortc.exceptions import (
    InternalError,
    InvalidAccessError,
    InvalidStateError,
    OperationError,
)

from ifmesh.node.errors import SdpError
from ifmesh.node.sdp.candidate import Candidate
from ifmesh.node.sdp.checks import check
from ifmesh.node.sdp.errors import AnswerMismatch, NegotiationRefused, NoCommonCodec
from ifmesh.node.sdp.model import MediaSection, SessionDescription
from ifmesh.node.sdp.parse import parse_sdp, split_lines, strip_candidates
from ifmesh.node.sdp.report import CandidateReport, MediaResult, NegotiationReport
from ifmesh.node.sdp.trickle import TrickledCandidate, check_trickle

log = logging.getLogger(__name__)

SdpType = Literal["offer", "answer"]
_REFUSALS = (ValueError, IndexError, KeyError, AssertionError, InternalError,
             InvalidAccessError, InvalidStateError)  # fmt: skip


def supported_codecs() -> set[tuple[str, int]]:
    """(name, clock rate) of every audio/video codec aiortc can negotiate."""
    return {
        (codec.mimeType.split("/", 1)[1], codec.clockRate)
        for kind in ("audio", "video")
        for codec in CODECS[kind]
    }


def guess_type(description: SessionDescription) -> SdpType:
    """An answer says setup active/passive; anything else is replayed as an offer."""
    for media in description.media:
        setup = media.effective("setup")
        if setup is not None:
            return "answer" if setup.value in ("active", "passive") else "offer"
    return "offer"


async def replay(
    text: str,
    *,
    source: str = "-",
    sdp_type: SdpType | None = None,
    trickle: list[TrickledCandidate] | None = None,
) -> NegotiationReport:
    """Negotiate ``text`` with a fresh aiortc peer; raise an ``SdpError`` subclass if refused."""
    description = parse_sdp(text)
    kind: SdpType = sdp_type or guess_type(description)
    check(description, kind, supported_codecs=supported_codecs())
    trickled = trickle or []
    check_trickle(trickled, description)
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    try:
        if kind == "offer":
            await pc.setRemoteDescription(RTCSessionDescription(strip_candidates(text), "offer"))
            await pc.setLocalDescription(await pc.createAnswer())
        else:
            await _offer_matching(pc, description)
            await pc.setRemoteDescription(RTCSessionDescription(strip_candidates(text), "answer"))
        # Read everything before yielding to the loop: the connect task aiortc scheduled
        # must find the connection closed.
        report = _report(pc, description, kind, source, trickled, text)
    except OperationError as exc:
        raise _no_common_codec(description, str(exc)) from exc
    except _REFUSALS as exc:
        raise NegotiationRefused(f"aiortc refused the {kind}: {exc}") from exc
    finally:
        await pc.close()
    log.info("sdp.replayed source=%s type=%s sections=%d", source, kind, len(report.media))
    return report


async def _offer_matching(pc: RTCPeerConnection, answer: SessionDescription) -> None:
    """Make aiortc offer the answer's sections in order, under the answer's mids."""
    has_data = False
    for media in answer.media:
        if media.kind in ("audio", "video"):
            if has_data:
                raise AnswerMismatch(
                    "aiortc offers its data section after audio/video; this answer puts "
                    f"m={media.kind} after it",
                    line=media.line,
                )
            pc.addTransceiver(media.kind, direction="sendrecv")
        elif media.is_data and not has_data:
            pc.createDataChannel("ifmesh-replay")
            has_data = True
        else:
            raise AnswerMismatch(
                f"aiortc cannot offer a section this m={media.kind} {media.protocol} answers",
                line=media.line,
            )
    offer = await pc.createOffer()
    mids = [m.mid for m in answer.media]
    await pc.setLocalDescription(RTCSessionDescription(_retarget_mids(offer.sdp, mids), "offer"))


def _retarget_mids(offer: str, mids: list[str | None]) -> str:
    """aiortc names mids 0, 1, …; an answer must echo the offer's, so use the answer's."""
    lines = split_lines(offer)
    index = -1
    out = []
    for line in lines:
        if line.startswith("m="):
            index += 1
        elif line.startswith("a=mid:") and index >= 0 and mids[index] is not None:
            line = f"a=mid:{mids[index]}"
        elif line.startswith("a=group:BUNDLE") and all(m is not None for m in mids):
            line = "a=group:BUNDLE " + " ".join(m for m in mids if m is not None)
        out.append(line)
    return "\r\n".join(out) + "\r\n"


def _no_common_codec(description: SessionDescription, message: str) -> SdpError:
    match = re.search(r"remote (audio|video) description", message)
    media = next((m for m in description.media if match and m.kind == match.group(1)), None)
    return NoCommonCodec(
        f"aiortc found no common {match.group(1) if match else ''} codec: {message}",
        line=media.line if media else None,
    )


def _report(
    pc: RTCPeerConnection,
    description: SessionDescription,
    kind: SdpType,
    source: str,
    trickled: list[TrickledCandidate],
    text: str,
) -> NegotiationReport:
    transceivers = {t.mid: t for t in pc.getTransceivers()}
    sctp = pc.sctp
    dtls_transports = [t.receiver.transport for t in pc.getTransceivers()]
    if sctp is not None:
        dtls_transports.append(sctp.transport)
    transports = {id(t) for t in dtls_transports}
    given = sum(
        len(t.receiver.transport.transport.getRemoteCandidates()) for t in pc.getTransceivers()
    ) + (len(sctp.transport.transport.getRemoteCandidates()) if sctp is not None else 0)
    local = parse_sdp(pc.localDescription.sdp)
    local_data = next((m for m in local.media if m.is_data), None)
    media = []
    for section in description.media:
        transceiver = transceivers.get(section.mid)
        if transceiver is not None:
            chosen = [_label(c) for c in transceiver._codecs]
            direction = transceiver.currentDirection
            dtls_role = transceiver.receiver.transport._role
        else:
            chosen, direction = [], None
            dtls_role = sctp.transport._role if sctp is not None and section.is_data else "none"
        media.append(_media_result(section, chosen, direction, dtls_role))
    bundle = description.bundle
    return NegotiationReport(
        source=source,
        sdp_type=kind,
        media=media,
        bundle=list(bundle.mids) if bundle else None,
        bundle_transport_shared=len(transports) == 1,
        ice_lite=description.ice_lite,
        ice_role=dtls_transports[0].transport.role if dtls_transports else "none",
        trickled=[CandidateReport.of(t.candidate, t.sdp_mid) for t in trickled if t.candidate],
        local_sdp=pc.localDescription.sdp,
        local_sctp_port=local_data.sctp_port if local_data else None,
        local_max_message_size=local_data.max_message_size if local_data else None,
        aiortc_version=aiortc.__version__,
        aiortc_candidates_agree=_aiortc_agrees(text, description),
        remote_candidates_given_to_aiortc=given,
    )


def _media_result(
    section: MediaSection, chosen: list[str], direction: str | None, dtls_role: str
) -> MediaResult:
    setup = section.effective("setup")
    ufrag = section.effective("ice-ufrag")
    return MediaResult(
        mid=section.mid,
        kind=section.kind,
        line=section.line,
        protocol=section.protocol,
        remote_direction=section.direction,
        negotiated_direction=direction,
        codecs_offered=[c.label for c in section.codecs],
        codecs_chosen=chosen,
        rtcp_mux=section.rtcp_mux,
        dtls_setup=setup.value if setup else None,
        dtls_role=dtls_role,
        fingerprint_algorithms=[f.algorithm for f in section.effective_fingerprints()],
        ice_ufrag=ufrag.value if ufrag else None,
        candidates=[CandidateReport.of(c, section.mid) for c in section.candidates],
        end_of_candidates=section.end_of_candidates,
        sctp_port=section.sctp_port if section.is_data else None,
        max_message_size=section.max_message_size if section.is_data else None,
    )


def _label(codec: aiortc.RTCRtpCodecParameters) -> str:
    name = codec.mimeType.split("/", 1)[1]
    tail = f"/{codec.channels}" if codec.channels else ""
    return f"{name}/{codec.clockRate}{tail}"


def _aiortc_agrees(text: str, description: SessionDescription) -> bool:
    """Does aiortc's own SDP parser (which only parses) read the same candidates?"""
    parsed = aiortc_sdp.SessionDescription.parse(text)
    theirs = [
        (c.component, c.protocol.lower(), c.ip, c.port, c.type, c.priority)
        for m in parsed.media
        for c in m.ice_candidates
    ]
    ours = [_key(c) for c in description.candidates]
    return theirs == ours


def _key(c: Candidate) -> tuple[int, str, str, int, str, int]:
    return (c.component, c.transport.lower(), c.address, c.port, c.type, c.priority)


class CapturePeer:
    """A real aiortc peer with one negotiated data channel (id 0), for captures and interop."""

    def __init__(self, *, kinds: tuple[str, ...] = (), datachannel: bool = True) -> None:
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        for kind in kinds:
            self.pc.addTransceiver(kind, direction="sendrecv")
        self.received: asyncio.Queue[str] = asyncio.Queue()
        self._open = asyncio.Event()
        self.channel = (
            self.pc.createDataChannel("ifmesh", negotiated=True, id=0) if datachannel else None
        )
        if self.channel is not None:
            self.channel.on("open", self._open.set)
            self.channel.on("message", self._on_message)

    def _on_message(self, message: str | bytes) -> None:
        self.received.put_nowait(message if isinstance(message, str) else message.decode())

    async def offer(self) -> str:
        await self.pc.setLocalDescription(await self.pc.createOffer())
        return str(self.pc.localDescription.sdp)

    async def answer(self, offer: str) -> str:
        await self.pc.setRemoteDescription(RTCSessionDescription(offer, "offer"))
        await self.pc.setLocalDescription(await self.pc.createAnswer())
        return str(self.pc.localDescription.sdp)

    async def accept(self, answer: str) -> None:
        await self.pc.setRemoteDescription(RTCSessionDescription(answer, "answer"))

    async def wait_open(self, timeout: float) -> None:
        if self.channel is not None and self.channel.readyState != "open":
            await asyncio.wait_for(self._open.wait(), timeout)

    def send(self, message: str) -> None:
        if self.channel is None:
            raise RuntimeError("this peer has no data channel")
        self.channel.send(message)

    async def receive(self, timeout: float) -> str:
        return await asyncio.wait_for(self.received.get(), timeout)

    async def close(self) -> None:
        await self.pc.close()
