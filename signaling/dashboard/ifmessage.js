// IFMessages as the page writes them: canonical JSON (docs/mesh-protocol.md §10.1) and the
// envelope of an event (seq, lamport, incarnation: §10.2). Nodes read any valid JSON, but
// logs, hashes and signatures compare bytes, so the page writes what a node would.

// A number the nodes' schema calls a float: written with a fraction (`0.0`, not `0`).
export class Float {
  constructor(value) {
    this.value = value;
  }
}

export function canonical(value) {
  if (value instanceof Float) {
    return Number.isInteger(value.value) ? `${value.value}.0` : JSON.stringify(value.value);
  }
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (value !== null && typeof value === "object") {
    // Sorted keys (UTF-16 order: the nodes' code-point order for every non-astral key).
    const keys = Object.keys(value).filter((k) => value[k] !== undefined).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonical(value[k])}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

// `2026-01-05T09:30:00Z`, or with six fraction digits when the fraction is not zero.
export function timestamp(date) {
  const iso = date.toISOString(); // 2026-01-05T09:30:00.250Z
  const ms = date.getUTCMilliseconds();
  return ms === 0 ? iso.replace(/\.\d{3}Z$/, "Z") : iso.replace(/Z$/, "000Z");
}

export function randomHex(bytes) {
  const data = crypto.getRandomValues(new Uint8Array(bytes));
  return Array.from(data, (b) => b.toString(16).padStart(2, "0")).join("");
}

export function uuid4() {
  const h = randomHex(16).split("");
  h[12] = "4";
  h[16] = "89ab"[parseInt(h[16], 16) & 3];
  const s = h.join("");
  return `${s.slice(0, 8)}-${s.slice(8, 12)}-${s.slice(12, 16)}-${s.slice(16, 20)}-${s.slice(20)}`;
}

// The events of one session: seq 1, 2, 3… without gaps, a Lamport clock, and an incarnation
// per page load. seq is kept in the browser's storage per room and session, so a reloaded page
// never sends two different events under one (source, seq), which the nodes would refuse as a
// forked log (docs/dashboard.md, "What an operator may do").
export class Author {
  constructor(room, session, storage = globalThis.localStorage) {
    this.session = session;
    this.incarnation = randomHex(4);
    this.key = `ifmesh-dashboard:${room}:${session}:seq`;
    this.storage = storage;
    this.lamport = 0;
    this.sent = []; // own events, oldest first: each new channel's catch-up (§5)
  }

  get seq() {
    return Number(this.storage?.getItem(this.key) || 0);
  }

  saw(message) {
    if (Number.isInteger(message.lamport) && message.lamport > this.lamport) {
      this.lamport = message.lamport;
    }
  }

  // An IFMessage of this session: an event when `event` (folded by the nodes), else a generic
  // message or an answer the holder's node gives for us (not folded as ours: no seq needed,
  // but one is given all the same, as the envelope wants one).
  stamp(type, payload, { event = true } = {}) {
    const seq = this.seq + 1;
    this.storage?.setItem(this.key, String(seq));
    this.lamport += 1;
    const message = {
      destination: "*",
      id: uuid4(),
      incarnation: this.incarnation,
      lamport: this.lamport,
      level: "info",
      payload,
      seq,
      source: this.session,
      timestamp: timestamp(new Date()),
      ttl: 300,
      type,
    };
    if (event) this.sent = [...this.sent.slice(-255), message];
    return message;
  }
}
