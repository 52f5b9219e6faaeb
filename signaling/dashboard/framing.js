// The data-channel frames of docs/mesh-protocol.md §3: one kind byte, then a body.
// Writers return Uint8Arrays; a Reader (one per channel: chunks are per channel) turns each
// data-channel message into [kind, value] pairs, and drops what it cannot read (counted in
// `malformed`), as a node does: a bad frame never closes the channel.

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

export const CHUNK_THRESHOLD = 16384; // largest frame sent whole (§3.4)
export const MAX_FRAME = 262144; // largest frame read
const MAX_REASSEMBLED = 1048576 + 16387; // max_message + the headers (§11)
const PARTIAL_TRANSFERS = 4;
const MESSAGE_KINDS = new Set(["M", "K", "Q", "R"]);

function frame(kind, body) {
  const bytes = typeof body === "string" ? encoder.encode(body) : body;
  const out = new Uint8Array(1 + bytes.length);
  out[0] = kind.charCodeAt(0);
  out.set(bytes, 1);
  return out;
}

export const ping = (n, t, rtt) => frame("P", JSON.stringify({ n, t, rtt }));
export const pong = (n, t) => frame("O", JSON.stringify({ n, t }));
export const ack = (id) => frame("A", id);
export const caughtUp = (n) => frame("U", JSON.stringify({ n }));
export const bye = (id, reason) => frame("B", JSON.stringify({ id, reason }));

let transfer = 0; // per sender; unique among its unfinished transfers is enough

// kind "M" or "K"; json: the IFMessage's canonical text. Chunked above CHUNK_THRESHOLD.
export function messageFrames(kind, json) {
  const whole = frame(kind, json);
  if (whole.length <= CHUNK_THRESHOLD) return [whole];
  transfer = (transfer + 1) >>> 0;
  const count = Math.ceil(whole.length / CHUNK_THRESHOLD);
  const frames = [];
  for (let index = 0; index < count; index++) {
    const piece = whole.subarray(index * CHUNK_THRESHOLD, (index + 1) * CHUNK_THRESHOLD);
    const out = new Uint8Array(13 + piece.length);
    const view = new DataView(out.buffer);
    out[0] = 0x43; // "C"
    view.setUint32(1, transfer);
    view.setUint32(5, index);
    view.setUint32(9, count);
    out.set(piece, 13);
    frames.push(out);
  }
  return frames;
}

function jsonObject(bytes) {
  const value = JSON.parse(decoder.decode(bytes));
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new Error("the body is not a JSON object");
  }
  return value;
}

const isInteger = (v) => typeof v === "number" && Number.isInteger(v);

// What each transport frame must hold (§3.3); the value handed on, or an Error thrown.
const TRANSPORT = {
  P: (b) => {
    const v = jsonObject(b);
    if (!isInteger(v.n) || typeof v.t !== "number") throw new Error("a ping needs n and t");
    return v;
  },
  O: (b) => {
    const v = jsonObject(b);
    if (!isInteger(v.n) || typeof v.t !== "number") throw new Error("a pong needs n and t");
    return v;
  },
  B: (b) => {
    const v = jsonObject(b);
    if (typeof v.id !== "string") throw new Error("a bye needs an id");
    return v;
  },
  A: (b) => {
    if (!b.length) throw new Error("an empty ack");
    return decoder.decode(b);
  },
  X: (b) => {
    if (!b.length) throw new Error("an empty nack");
    return decoder.decode(b);
  },
  H: (b) => {
    const v = jsonObject(b);
    if (typeof v.topic !== "string" || !v.data || typeof v.data !== "object") {
      throw new Error("a hint needs a topic and a data object");
    }
    return v;
  },
  U: (b) => {
    const v = jsonObject(b);
    if (!isInteger(v.n) || v.n < 0) throw new Error("a caught-up frame needs n >= 0");
    return v;
  },
};

export class Reader {
  constructor() {
    this.open = new Map(); // transfer -> {count, pieces, size}
    this.malformed = 0;
  }

  // One data-channel message (ArrayBuffer, Uint8Array or string) -> [[kind, value], ...].
  read(data) {
    const bytes =
      typeof data === "string"
        ? encoder.encode(data)
        : data instanceof Uint8Array
          ? data
          : new Uint8Array(data);
    const out = [];
    if (bytes.length > MAX_FRAME) this.bad();
    else this.frame(bytes, out, true);
    return out;
  }

  frame(f, out, outer) {
    if (f.length === 0) return this.bad();
    const kind = String.fromCharCode(f[0]);
    const view = new DataView(f.buffer, f.byteOffset, f.length);
    try {
      if (kind === "N") {
        if (!outer) return this.bad();
        for (let at = 1; at < f.length; ) {
          if (at + 4 > f.length) return this.bad();
          const length = view.getUint32(at);
          const inner = f.subarray(at + 4, at + 4 + length);
          if (length === 0 || inner.length !== length) return this.bad();
          const innerKind = String.fromCharCode(inner[0]);
          if (innerKind === "N" || innerKind === "C") return this.bad();
          this.frame(inner, out, false);
          at += 4 + length;
        }
        return;
      }
      if (kind === "C") return outer ? this.chunk(f, view, out) : this.bad();
      if (MESSAGE_KINDS.has(kind)) {
        if (kind === "R") {
          const length = view.getUint16(1);
          const inReplyTo = decoder.decode(f.subarray(3, 3 + length));
          out.push([kind, { inReplyTo, message: jsonObject(f.subarray(3 + length)) }]);
        } else {
          out.push([kind, jsonObject(f.subarray(1))]);
        }
        return;
      }
      const check = TRANSPORT[kind];
      if (!check) return this.bad(); // a kind we do not know: drop it, keep the channel
      out.push([kind, check(f.subarray(1))]);
    } catch {
      this.bad();
    }
  }

  chunk(f, view, out) {
    if (f.length < 14) return this.bad();
    const id = view.getUint32(1);
    const index = view.getUint32(5);
    const count = view.getUint32(9);
    const piece = f.slice(13);
    let open = this.open.get(id);
    if (index === 0) {
      if (open || count < 2) {
        this.open.delete(id);
        return this.bad();
      }
      open = { count, pieces: [], size: 0 };
      this.open.set(id, open);
      if (this.open.size > PARTIAL_TRANSFERS) this.open.delete(this.open.keys().next().value);
    }
    if (!open || open.pieces.length !== index || open.count !== count) {
      this.open.delete(id);
      return this.bad();
    }
    open.pieces.push(piece);
    open.size += piece.length;
    if (open.size > MAX_REASSEMBLED) {
      this.open.delete(id);
      return this.bad();
    }
    if (open.pieces.length < count) return;
    this.open.delete(id);
    const whole = new Uint8Array(open.size);
    let at = 0;
    for (const p of open.pieces) {
      whole.set(p, at);
      at += p.length;
    }
    const kind = String.fromCharCode(whole[0]);
    if (!MESSAGE_KINDS.has(kind)) return this.bad();
    this.frame(whole, out, false);
  }

  bad() {
    this.malformed += 1;
  }
}
