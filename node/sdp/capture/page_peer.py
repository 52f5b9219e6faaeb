"""A WebRTC peer inside a browser page: offer, answer, a negotiated data channel (id 0).

The page's RTCPeerConnection does the work; Python only moves SDP text in and out through
the browser's ``evaluate`` (``Chromium`` over CDP or ``Firefox`` over WebDriver BiDi).
Every wait (gathering complete, channel open, next message) is a promise the page resolves
on the browser's own event, awaited with a timeout.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Protocol


class PageBrowser(Protocol):
    """What a page peer needs of a browser: run a script in its one page, await it."""

    version: str

    async def evaluate(self, expression: str, timeout: float = 30.0) -> Any: ...


_SETUP = """
window.ifm = {
  start(kinds, datachannel) {
    if (this.pc) this.pc.close();
    const pc = new RTCPeerConnection({iceServers: []});
    this.pc = pc; this.cands = []; this.got = []; this.waiter = null; this.dc = null;
    // The null candidate closes trickling; it comes after iceGatheringState 'complete'.
    this.gathered = new Promise(done => {
      pc.onicecandidate = e => {
        this.cands.push(e.candidate ? e.candidate.toJSON()
                                    : {candidate: null, sdpMid: null, sdpMLineIndex: null});
        if (!e.candidate) done();
      };
    });
    for (const kind of kinds) pc.addTransceiver(kind, {direction: 'sendrecv'});
    if (datachannel) {
      const dc = pc.createDataChannel('ifmesh', {negotiated: true, id: 0});
      this.dc = dc;
      this.opened = new Promise(done => { dc.onopen = done; });
      dc.onmessage = e => {
        if (this.waiter) { const w = this.waiter; this.waiter = null; w(e.data); }
        else this.got.push(e.data);
      };
    }
  },
  next() {
    if (this.got.length) return Promise.resolve(this.got.shift());
    return new Promise(done => { this.waiter = done; });
  },
};
true
"""


@dataclass(frozen=True)
class PageDescription:
    """What the page produced: the SDP straight from createOffer/createAnswer (no
    candidates yet), the local description once gathering completed, and every
    ``onicecandidate`` event as JSON (the trickled candidates, end marker included)."""

    initial: str
    complete: str
    trickle: list[dict[str, Any]]


class PagePeer:
    def __init__(self, browser: PageBrowser) -> None:
        self.browser = browser

    async def start(self, kinds: tuple[str, ...] = (), *, datachannel: bool = True) -> None:
        await self.browser.evaluate(_SETUP)
        await self.browser.evaluate(
            f"ifm.start({json.dumps(list(kinds))}, {str(datachannel).lower()})"
        )

    async def offer(self, timeout: float = 30.0) -> PageDescription:
        result = await self.browser.evaluate(
            """(async () => {
                const offer = await ifm.pc.createOffer();
                await ifm.pc.setLocalDescription(offer);
                await ifm.gathered;
                return {initial: offer.sdp, complete: ifm.pc.localDescription.sdp,
                        trickle: ifm.cands};
            })()""",
            timeout,
        )
        return PageDescription(**result)

    async def answer(self, offer: str, timeout: float = 30.0) -> PageDescription:
        result = await self.browser.evaluate(
            f"""(async () => {{
                await ifm.pc.setRemoteDescription({{type: 'offer', sdp: {json.dumps(offer)}}});
                const answer = await ifm.pc.createAnswer();
                await ifm.pc.setLocalDescription(answer);
                await ifm.gathered;
                return {{initial: answer.sdp, complete: ifm.pc.localDescription.sdp,
                         trickle: ifm.cands}};
            }})()""",
            timeout,
        )
        return PageDescription(**result)

    async def accept(self, answer: str) -> None:
        await self.browser.evaluate(
            f"ifm.pc.setRemoteDescription({{type: 'answer', sdp: {json.dumps(answer)}}})"
        )

    async def wait_open(self, timeout: float) -> str:
        state: str = await self.browser.evaluate(
            "ifm.opened.then(() => ifm.dc.readyState)", timeout
        )
        return state

    async def send(self, message: str) -> None:
        await self.browser.evaluate(f"ifm.dc.send({json.dumps(message)})")

    async def receive(self, timeout: float) -> str:
        value: str = await self.browser.evaluate("ifm.next()", timeout)
        return value

    async def close(self) -> None:
        await self.browser.evaluate("ifm.pc && ifm.pc.close(); true")
