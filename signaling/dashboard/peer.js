// The pair with one node: its builds over time (each an RTCPeerConnection with one negotiated
// data channel, under an epoch), catch-up, pings and liveness, and the frames it receives.
// docs/mesh-protocol.md §2 (building a pair), §5 (catch-up), §6 (liveness), §7 (acks), §8 (bye).

import * as framing from "./framing.js";

export const PING_INTERVAL = 1000; // ms, as the nodes (§11)
export const SUSPECT_AFTER = 3000;
export const DEAD_AFTER = 5000;
const CONNECT_TIMEOUT = 10000;
const OUTSTANDING_PINGS = 8;
const BUSY = 65536; // a channel holding this much skips pings (its data says we are alive)

export class Pair {
  // host: {session, iceServers, signal(frame), catchUp(), onMessage(pair, msg, kind), onHint(pair, hint), changed()}
  constructor(host, peer) {
    this.host = host;
    this.peer = peer;
    this.offerer = host.session < peer; // the lower session id offers (§2.1)
    this.epoch = 0; // of the current build (offerer: the highest it used)
    this.link = null;
    this.state = "connecting"; // connecting | up | suspect | down | left
    this.rtt = null; // smoothed, seconds (RFC 6298's 1/8)
    this.inRoom = true;
    this.left = false;
    this.attempt = 0;
    this.rebuild = null;
    this.pending = []; // candidates that came before their description
    this.reconnects = 0;
    this.everUp = false;
  }

  get isOpen() {
    return this.link?.opened && this.link.dc.readyState === "open";
  }

  wake() {
    this.attempt = 0;
    if (this.offerer && !this.link) {
      clearTimeout(this.rebuild);
      this.build();
    }
  }

  newLink(epoch) {
    const pc = new RTCPeerConnection({ iceServers: this.host.iceServers });
    const dc = pc.createDataChannel("ifmesh", { negotiated: true, id: 0, ordered: true });
    dc.binaryType = "arraybuffer";
    const link = { epoch, pc, dc, reader: new framing.Reader(), opened: false, caughtUp: false,
                   heard: 0, nextPing: 0, pings: 0, outstanding: new Map() }; // prettier-ignore
    this.link = link;
    this.epoch = epoch;
    this.state = "connecting";
    pc.onicecandidate = (e) => {
      // A node cannot resolve an mDNS name (`<uuid>.local`, a browser's usual host candidate)
      // and refuses it; it learns our address from our connectivity checks instead (a
      // peer-reflexive candidate), so such a candidate is not worth sending.
      if (e.candidate?.address?.endsWith(".local")) return;
      const candidate = e.candidate ? e.candidate.toJSON() : { candidate: "" };
      if (this.link === link) this.host.signal({ type: "candidate", to: this.peer, epoch, ...candidate });
    };
    pc.onconnectionstatechange = () => {
      if (pc.connectionState === "failed" || pc.connectionState === "closed") {
        this.retire(link, "down", `connection ${pc.connectionState}`);
      }
    };
    dc.onopen = () => this.opened(link);
    dc.onclose = () => this.retire(link, "down", "channel closed");
    dc.onmessage = ({ data }) => this.receive(link, data);
    link.timeout = setTimeout(() => {
      if (!link.opened) this.retire(link, "down", "channel did not open in time");
    }, CONNECT_TIMEOUT);
    this.host.changed();
    return link;
  }

  // --- offerer ---------------------------------------------------------------------------

  async build() {
    if (!this.offerer || !this.inRoom || this.left || this.link) return;
    // Wall-clock epochs outbid every earlier build, a reloaded page's included (§2.2).
    const link = this.newLink(Math.max(Date.now(), this.epoch + 1));
    try {
      await link.pc.setLocalDescription(await link.pc.createOffer());
      if (this.link !== link) return;
      const offer = { type: "offer", to: this.peer, epoch: link.epoch, sdp: link.pc.localDescription.sdp };
      if (!this.host.signal(offer)) this.retire(link, "down", "offer not sent: signaling unavailable");
    } catch (error) {
      this.retire(link, "down", `offer failed: ${error}`);
    }
  }

  async onAnswer(frame) {
    const link = this.link;
    if (!this.offerer || !link || link.epoch !== frame.epoch) return; // stale
    if (link.pc.signalingState !== "have-local-offer") return; // a duplicate
    try {
      await link.pc.setRemoteDescription({ type: "answer", sdp: frame.sdp });
      await this.applyPending(link);
    } catch (error) {
      this.retire(link, "down", `bad answer: ${error}`);
    }
  }

  // --- answerer --------------------------------------------------------------------------

  async onOffer(frame) {
    if (this.offerer || frame.epoch <= this.epoch) return; // not ours to take, or stale
    if (this.link) this.retire(this.link, null, `new build epoch ${frame.epoch}`);
    this.left = false;
    const link = this.newLink(frame.epoch);
    try {
      await link.pc.setRemoteDescription({ type: "offer", sdp: frame.sdp });
      await link.pc.setLocalDescription(await link.pc.createAnswer());
      if (this.link !== link) return;
      await this.applyPending(link);
      this.host.signal({ type: "answer", to: this.peer, epoch: frame.epoch, sdp: link.pc.localDescription.sdp });
    } catch (error) {
      this.retire(link, "down", `bad offer: ${error}`);
    }
  }

  // --- both ------------------------------------------------------------------------------

  async onCandidate(frame) {
    const link = this.link;
    if (!link || link.epoch !== frame.epoch) return;
    if (!link.pc.remoteDescription) {
      this.pending.push(frame);
      return;
    }
    await this.addCandidate(link, frame);
  }

  async applyPending(link) {
    const pending = this.pending.filter((f) => f.epoch === link.epoch);
    this.pending = [];
    for (const frame of pending) await this.addCandidate(link, frame);
  }

  async addCandidate(link, frame) {
    try {
      const { candidate, sdpMid, sdpMLineIndex, usernameFragment } = frame;
      await link.pc.addIceCandidate(candidate ? { candidate, sdpMid, sdpMLineIndex, usernameFragment } : null);
    } catch (error) {
      console.warn("candidate refused", this.peer, error);
    }
  }

  opened(link) {
    if (link !== this.link || link.opened) return;
    link.opened = true;
    clearTimeout(link.timeout);
    // Our catch-up and U go first, before anything else on this channel (§5).
    const own = this.host.catchUp();
    for (const json of own) for (const f of framing.messageFrames("M", json)) link.dc.send(f);
    link.dc.send(framing.caughtUp(own.length));
    link.heard = performance.now();
    link.nextPing = link.heard; // the first ping right after our U
    if (this.everUp) this.reconnects += 1;
    this.everUp = true;
    this.attempt = 0;
    this.state = "up";
    this.tick(link.heard);
    this.host.changed();
  }

  send(link, bytes) {
    if (link === this.link && link.dc.readyState === "open") link.dc.send(bytes);
  }

  // An IFMessage (its canonical text) as M frames, chunked above 16 KiB.
  sendMessage(json) {
    if (!this.isOpen) return false;
    for (const f of framing.messageFrames("M", json)) this.link.dc.send(f);
    return true;
  }

  receive(link, data) {
    if (link !== this.link) return;
    if (!link.opened) this.opened(link); // a frame may beat the open event
    link.heard = performance.now();
    if (this.state === "suspect") {
      this.state = "up";
      this.host.changed();
    }
    for (const [kind, value] of link.reader.read(data)) {
      if (kind === "M" || kind === "K" || kind === "Q") {
        // Delivered first, then acked on this channel, behind what we sent before (§7.1).
        const accepted = this.host.onMessage(this, value, kind);
        if (kind === "K" && accepted) this.send(link, framing.ack(value.id));
      } else if (kind === "P") {
        this.send(link, framing.pong(value.n, value.t)); // at once, with the same t
      } else if (kind === "O") {
        const sent = link.outstanding.get(value.n);
        if (sent !== undefined && sent === value.t) {
          const sample = performance.now() / 1000 - sent;
          this.rtt = this.rtt === null ? sample : (7 * this.rtt) / 8 + sample / 8;
          link.outstanding.delete(value.n);
          this.host.changed();
        }
      } else if (kind === "B") {
        this.send(link, framing.ack(value.id));
        this.left = true; // no rebuild until it joins again or offers (§8)
        this.state = "left";
        this.host.changed();
      } else if (kind === "H") {
        this.host.onHint(this, value);
      } else if (kind === "U" && !link.caughtUp) {
        link.caughtUp = true;
        this.host.changed();
      } // R, A, X: the page sends no requests and no acked messages
    }
  }

  // Pings and silence, on the mesh's timer; `now` from performance.now().
  tick(now) {
    const link = this.link;
    if (!link || !link.opened) return;
    const silence = now - link.heard;
    if (silence >= DEAD_AFTER) return this.retire(link, "down", `silent for ${(silence / 1000).toFixed(1)} s`);
    if (silence >= SUSPECT_AFTER && this.state === "up") {
      this.state = "suspect";
      this.host.changed();
    }
    if (now >= link.nextPing) {
      link.nextPing = now + PING_INTERVAL;
      if (link.dc.readyState === "open" && link.dc.bufferedAmount < BUSY) {
        link.pings += 1;
        const t = now / 1000;
        link.outstanding.set(link.pings, t);
        link.outstanding.delete(link.pings - OUTSTANDING_PINGS);
        link.dc.send(framing.ping(link.pings, t, this.rtt));
      }
    }
  }

  // Ends `link`; the offerer builds again after a jittered back-off (§2.5).
  retire(link, state, detail) {
    if (link !== this.link) return;
    this.link = null;
    clearTimeout(link.timeout);
    link.dc.onclose = link.pc.onconnectionstatechange = null;
    link.pc.close();
    if (state) this.state = this.left ? "left" : state;
    this.detail = detail;
    this.host.changed();
    if (this.offerer && this.inRoom && !this.left) {
      const delay = Math.min(250 * 2 ** this.attempt, 5000) * (0.5 + Math.random() / 2);
      this.attempt += 1;
      clearTimeout(this.rebuild);
      this.rebuild = setTimeout(() => this.build(), delay);
    }
  }

  bye(token) {
    if (this.isOpen) this.link.dc.send(framing.bye(token, "closing"));
  }

  end() {
    clearTimeout(this.rebuild);
    this.inRoom = false;
    if (this.link) this.retire(this.link, "down", "ended");
  }
}
