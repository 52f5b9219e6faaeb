// The page's mesh: one Pair per other member of the room, kept by the signaling roster, and
// what arrives on them (docs/mesh-protocol.md). Roster rules as a node's (§2.1): pairs are built
// towards members on the roster; a member that drops off it keeps its working channel, `left`
// stops rebuilds, and `replaced` (the peer restarted under its id) ends the pair at once.

import { canonical } from "./ifmessage.js";
import { Pair } from "./peer.js";

const DEDUPE_KEPT = 65536;
const TICK = 250; // ms between liveness checks

export class Mesh {
  // signaling: a Signaling; author: an Author; on: {message(msg, peer), hint(peer, hint), changed()}
  constructor({ session, signaling, author, iceServers = [], on }) {
    Object.assign(this, { session, signaling, author, iceServers, on });
    this.pairs = new Map();
    this.seen = new Set();
    this.dropped = 0; // messages refused: not from the peer they came from
    this.timer = setInterval(() => {
      const now = performance.now();
      for (const pair of this.pairs.values()) pair.tick(now);
    }, TICK);
  }

  pair(peer) {
    let pair = this.pairs.get(peer);
    if (!pair) {
      pair = new Pair(this, peer);
      this.pairs.set(peer, pair);
    }
    return pair;
  }

  // Every frame from the signaling server, in order.
  onSignaling(frame) {
    if (frame.type === "joined") {
      for (const m of frame.roster) {
        if (m.session === this.session) continue;
        const pair = this.pair(m.session);
        pair.inRoom = true;
        pair.wake();
      }
      for (const [peer, pair] of this.pairs) pair.inRoom = frame.roster.some((m) => m.session === peer);
    } else if (frame.type === "peer-joined" && frame.session !== this.session) {
      const pair = this.pair(frame.session);
      pair.inRoom = true;
      pair.left = false;
      pair.wake();
    } else if (frame.type === "peer-left") {
      const pair = this.pairs.get(frame.session);
      if (pair) {
        pair.inRoom = false;
        if (frame.reason === "left") pair.left = true;
        if (frame.reason === "replaced") {
          pair.end();
          this.pairs.delete(frame.session); // its epochs are forgotten with it
        }
      }
    } else if (frame.type === "offer" && frame.from) {
      this.pair(frame.from).onOffer(frame);
    } else if (frame.type === "answer") {
      this.pairs.get(frame.from)?.onAnswer(frame);
    } else if (frame.type === "candidate") {
      this.pairs.get(frame.from)?.onCandidate(frame);
    }
    this.changed();
  }

  // --- what the pairs need of us -----------------------------------------------------------

  signal(frame) {
    return this.signaling.send(frame);
  }

  catchUp() {
    return this.author.sent.map(canonical); // our own events only, oldest first (§5)
  }

  // An IFMessage from `pair`: refused unless its source is the peer (§10.2), then delivered
  // once. True when accepted (a K frame is then acked).
  onMessage(pair, message, kind) {
    if (!message || message.source !== pair.peer || typeof message.id !== "string") {
      this.dropped += 1;
      return false;
    }
    const key = `${message.source}\n${message.id}`;
    if (this.seen.has(key)) return true; // a duplicate: acked again, delivered once
    this.seen.add(key);
    if (this.seen.size > DEDUPE_KEPT) this.seen.delete(this.seen.values().next().value);
    this.author.saw(message);
    this.on.message(message, pair.peer, kind);
    return true;
  }

  onHint(pair, hint) {
    this.on.hint(pair.peer, hint);
  }

  changed() {
    this.on.changed();
  }

  // --- sending ---------------------------------------------------------------------------

  // Our IFMessage to every open channel, as M; the peers it went to.
  broadcast(message) {
    const json = canonical(message);
    return [...this.pairs.values()].filter((pair) => pair.sendMessage(json)).map((p) => p.peer);
  }

  close() {
    const token = Array.from(crypto.getRandomValues(new Uint8Array(8)), (b) =>
      b.toString(16).padStart(2, "0"),
    ).join("");
    for (const pair of this.pairs.values()) pair.bye(token);
    clearInterval(this.timer);
  }
}
