// IFMessages as the page writes them: canonical JSON (docs/mesh-protocol.md §10.1) and the
// envelope of an event (seq, lamport, incarnation: §10.2). Nodes read any valid JSON, but
// logs, hashes and signatures compare bytes, so the page writes what a node would.

// A number the nodes' schema calls a float: written with a fraction (`0.0`, not `0`).
export class Float {
  constructor(value) {
    this.value = value;
  }
}

// The bytes a node writes for the same message (orjson, keys sorted, UTC `Z`): signatures are
// checked over them, so they must match byte for byte. The JavaScript defaults that differ:
// key order (UTF-16 code units; the nodes sort by code point), float notation (JavaScript
// switches to exponents below 1e-6 and from 1e21, the nodes below 1e-5 and from 1e16, and
// write whole floats as `10.0`), and lone surrogates (no UTF-8 holds them: written as U+FFFD).
export function canonical(value) {
  if (value instanceof Float) return float(value.value);
  if (typeof value === "number" && !Number.isInteger(value)) return float(value);
  if (typeof value === "string") return JSON.stringify(value.toWellFormed?.() ?? value);
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const keys = Object.keys(value).filter((k) => value[k] !== undefined).sort(byCodePoint);
    return `{${keys.map((k) => `${canonical(k)}:${canonical(value[k])}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

// The shortest digits that read back as `value` (as both sides pick them), in the nodes'
// notation: `d.ddde+NN` / `d.ddde-N` outside [1e-5, 1e16), else fixed with a fraction.
function float(value) {
  if (!Number.isFinite(value)) throw new RangeError(`${value} is no JSON number`);
  if (Object.is(value, -0)) return "-0.0";
  const scientific = value.toExponential(); // no argument: as many digits as needed
  const exponent = Number(scientific.slice(scientific.indexOf("e") + 1));
  if (value !== 0 && (exponent < -5 || exponent >= 16)) return scientific;
  const fixed = String(value);
  return fixed.includes(".") ? fixed : `${fixed}.0`;
}

// Code-point order (UTF-8 byte order) of two strings: as UTF-16 code-unit order, except that a
// surrogate (half of a code point above U+FFFF) sorts after every code unit from U+E000 up.
function byCodePoint(a, b) {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return rank(x) - rank(y);
  }
  return a.length - b.length;
}

function rank(unit) {
  if (unit >= 0xd800 && unit < 0xe000) return unit + 0x2000; // a surrogate: after U+FFFF
  return unit >= 0xe000 ? unit - 0x800 : unit;
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

  // An IFMessage of this session (unsigned; an operator page signs it next: signing.js). An
  // answer the holder's node gives for us is not folded as ours and needs no seq, but gets one
  // all the same, as the envelope wants one.
  stamp(type, payload) {
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
    return message;
  }

  // An event of ours as sent (signed, if we sign): in every new channel's catch-up.
  remember(message) {
    this.sent = [...this.sent.slice(-255), message];
  }
}
