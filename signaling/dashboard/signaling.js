// The page's client of the signaling server (docs/signaling-protocol.md): one WebSocket, joined
// to one room, rejoined with backoff when it drops, except when retrying cannot help.

// Errors after which joining again the same way cannot succeed (a new token is needed, or
// another page took this session id).
const FATAL = new Set([
  "auth_required",
  "bad_token",
  "token_expired",
  "wrong_room",
  "wrong_session",
  "wrong_role",
  "session_replaced",
]);

export class Signaling {
  // onFrame(frame): every server frame, in order; onState({joined, fatal, reason}).
  constructor({ url, room, session, token, role, onFrame, onState }) {
    Object.assign(this, { url, room, session, token, role, onFrame, onState });
    this.ws = null;
    this.joined = false;
    this.stopped = false;
    this.delay = 250;
    this.roster = new Map(); // session -> {role, capabilities}, this page included
  }

  start() {
    if (this.stopped) return;
    const ws = new WebSocket(this.url);
    this.ws = ws;
    ws.onopen = () => {
      const join = { type: "join", room: this.room, session: this.session, capabilities: [] };
      if (this.token) join.token = this.token;
      if (this.role) join.role = this.role;
      ws.send(JSON.stringify(join));
    };
    ws.onmessage = ({ data }) => this.receive(data);
    ws.onclose = () => {
      const wasJoined = this.joined;
      this.joined = false;
      if (this.ws !== ws) return;
      this.ws = null;
      if (this.stopped) return;
      if (wasJoined) this.onState({ joined: false, reason: "signaling connection lost" });
      const delay = this.delay * (0.5 + Math.random() / 2);
      this.delay = Math.min(this.delay * 2, 5000);
      setTimeout(() => this.start(), delay);
    };
  }

  receive(data) {
    let frame;
    try {
      frame = JSON.parse(data);
    } catch {
      return;
    }
    if (frame.type === "joined") {
      this.joined = true;
      this.delay = 250;
      this.roster = new Map(
        frame.roster.map((m) => [m.session, { role: m.role || "node", capabilities: m.capabilities }]),
      );
      this.onState({ joined: true, reason: `joined ${frame.room}` });
    } else if (frame.type === "peer-joined") {
      this.roster.set(frame.session, { role: frame.role || "node", capabilities: frame.capabilities });
    } else if (frame.type === "peer-left") {
      this.roster.delete(frame.session);
    } else if (frame.type === "error" && FATAL.has(frame.code)) {
      this.stopped = true;
      this.onState({ joined: false, fatal: true, reason: `${frame.code}: ${frame.message}` });
    } else if (frame.type === "error") {
      console.warn("signaling error", frame.code, frame.message);
    }
    this.onFrame(frame);
  }

  // A relay frame (offer, answer, candidate); false when not joined (nothing sent).
  send(frame) {
    if (!this.ws || !this.joined || this.ws.readyState !== WebSocket.OPEN) return false;
    this.ws.send(JSON.stringify(frame));
    return true;
  }

  stop() {
    this.stopped = true;
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send('{"type":"leave"}');
    this.ws?.close();
  }
}
