// The page's view of the room, built from the IFMessages the nodes send it (their catch-up and
// what happens live). Events are kept in the nodes' total order, (lamport, source, seq), so the
// view does not depend on arrival order: an event that sorts last is applied at once, one that
// arrives late rebuilds the view. It is a view, not the board: the nodes' fold also knows the
// task board in git (titles, dependencies, the governor), which no data-channel frame carries,
// so tasks appear here once an event names them (docs/dashboard.md, "What it shows").

const TIMELINE_KEPT = 500;

const order = (a, b) =>
  a.lamport - b.lamport || (a.source < b.source ? -1 : a.source > b.source ? 1 : 0) || a.seq - b.seq;

function freshState() {
  return { tasks: new Map(), blockers: new Map(), help: new Map(), sessions: new Map() };
}

function task(state, id) {
  let t = state.tasks.get(id);
  if (!t) {
    t = { id, status: "AVAILABLE", owner: null, epoch: 0, percent: 0, milestone: "",
          confirmed: false, queue: [], ask: null, updated: "" }; // prettier-ignore
    state.tasks.set(id, t);
  }
  return t;
}

const held = (t) => t.owner !== null && (t.status === "CLAIMED" || t.status === "BLOCKED");

// What each event does to the view; the nodes' rules (node/board) simplified to what shows.
const APPLY = {
  "task.claim"(s, e, p) {
    const t = task(s, p.task_id);
    if (held(t) && t.owner !== e.source) return `lost ${p.task_id} to ${t.owner}`;
    take(t, e.source, p.epoch, e);
    return `claims ${p.task_id} (epoch ${p.epoch})`;
  },
  "task.steal"(s, e, p) {
    take(task(s, p.task_id), e.source, p.epoch, e);
    return `takes over ${p.task_id} from ${p.previous_owner} (epoch ${p.epoch})`;
  },
  "task.progress"(s, e, p) {
    const t = task(s, p.task_id);
    if (t.owner !== e.source || t.epoch !== p.epoch) return "";
    Object.assign(t, { percent: p.percent, milestone: p.milestone || t.milestone, updated: e.timestamp });
    return `${p.task_id} at ${p.percent}%${p.milestone ? `: ${p.milestone}` : ""}`;
  },
  "task.complete"(s, e, p) {
    const t = task(s, p.task_id);
    Object.assign(t, { status: "COMPLETED", owner: e.source, percent: 100, ask: null, updated: e.timestamp });
    return `completed ${p.task_id}${p.tests_pass ? " (tests pass)" : ""}`;
  },
  "task.fail"(s, e, p) {
    free(task(s, p.task_id), e, p.epoch);
    return `failed ${p.task_id}: ${p.reason}`;
  },
  "task.release"(s, e, p) {
    const t = task(s, p.task_id);
    if (t.owner !== e.source || t.epoch !== p.epoch) return "";
    free(t, e, p.epoch);
    return `released ${p.task_id}`;
  },
  "task.confirmed"(s, e, p) {
    const t = task(s, p.task_id);
    if (t.epoch === p.epoch) Object.assign(t, { owner: p.winner, confirmed: true });
    return `git confirms ${p.winner} holds ${p.task_id} (epoch ${p.epoch})`;
  },
  "claim.lost"(s, e, p) {
    const t = task(s, p.task_id);
    if (t.epoch === p.epoch) t.owner = p.winner;
    return `lost ${p.task_id} to ${p.winner}`;
  },
  blocker(s, e, p) {
    s.blockers.set(`${e.source}\n${p.task_id}`, {
      session: e.source, task: p.task_id, on: p.blocked_on || [], description: p.description || "",
      urgency: p.urgency || "medium", since: e.timestamp,
    }); // prettier-ignore
    // The blocked task shows on the board only if an event put it there: a task the session
    // waits to claim is the git board's (its dependencies), which the page does not have.
    const t = s.tasks.get(p.task_id);
    if (t && t.owner === e.source && t.status === "CLAIMED") t.status = "BLOCKED";
    const on = (p.blocked_on || []).join(", ");
    return `blocked on ${p.task_id}${on ? ` (waits on ${on})` : ""}${p.description ? `: ${p.description}` : ""}`;
  },
  "blocker.resolved"(s, e, p) {
    s.blockers.delete(`${e.source}\n${p.task_id}`);
    const t = s.tasks.get(p.task_id);
    if (t && t.owner === e.source && t.status === "BLOCKED") t.status = "CLAIMED";
    return `unblocked on ${p.task_id}`;
  },
  "help.request"(s, e, p) {
    s.help.set(e.id, {
      id: e.id, requester: p.blocked_swarm_id, task: p.task_id, need: p.required_capabilities || [],
      description: p.description || "", urgency: p.urgency || "medium", deadline: p.deadline,
      offers: [], escalated: false,
    }); // prettier-ignore
    return `asks for help on ${p.task_id}: ${p.description || (p.required_capabilities || []).join(", ")}`;
  },
  "help.offer"(s, e, p) {
    const request = s.help.get(p.request_id);
    if (request && !request.offers.some((o) => o.helper === e.source)) {
      request.offers.push({ helper: e.source, message: p.message || "" });
    }
    return `offers help on ${p.task_id}${p.message ? `: ${p.message}` : ""}`;
  },
  "help.escalate"(s, e, p) {
    const request = s.help.get(p.request_id);
    if (request) request.escalated = true;
    return `escalates the help request on ${p.task_id}`;
  },
  "task.queue"(s, e, p) {
    const t = task(s, p.task_id);
    const place = t.queue.find((w) => w.session === e.source);
    if (place) place.urgency = p.urgency;
    else t.queue.push({ session: e.source, urgency: p.urgency || "medium", since: e.timestamp });
    return `queues for ${p.task_id} (${p.urgency || "medium"})`;
  },
  "task.unqueue"(s, e, p) {
    const t = task(s, p.task_id);
    t.queue = t.queue.filter((w) => w.session !== e.source);
    return `leaves the queue of ${p.task_id}`;
  },
  "task.ask_release"(s, e, p) {
    const t = task(s, p.task_id);
    const until = Date.parse(e.timestamp) + p.grace_seconds * 1000;
    const grace = Number.isFinite(until) ? new Date(until).toISOString() : "";
    t.ask = { asker: e.source, reason: p.reason, epoch: p.epoch, until: grace };
    return `asks ${t.owner || "the holder"} to release ${p.task_id}: ${p.reason}`;
  },
  "task.keep"(s, e, p) {
    const t = s.tasks.get(p.task_id);
    if (t && t.owner === e.source) t.ask = null;
    return `keeps ${p.task_id}: ${p.reason}`;
  },
  "swarm.register"(s, e, p) {
    s.sessions.set(e.source, { id: e.source, capabilities: p.capabilities || [], left: false });
    return `registers (${(p.capabilities || []).join(", ") || "no capabilities"})`;
  },
  "swarm.leave"(s, e) {
    const known = s.sessions.get(e.source);
    if (known) known.left = true;
    return "leaves the room";
  },
  "lease.renew"() {
    return null; // keeps leases alive: not worth a line of the timeline
  },
};

function take(t, owner, epoch, e) {
  Object.assign(t, { status: "CLAIMED", owner, epoch, percent: 0, milestone: "", confirmed: false,
                     ask: null, updated: e.timestamp }); // prettier-ignore
  t.queue = t.queue.filter((w) => w.session !== owner);
}

function free(t, e, epoch) {
  Object.assign(t, { status: "AVAILABLE", owner: null, epoch: epoch + 1, percent: 0,
                     milestone: "", confirmed: false, ask: null, updated: e.timestamp }); // prettier-ignore
}

export class RoomView {
  constructor() {
    this.events = []; // every event, in the total order
    this.seen = new Set(); // source \n seq of the events held
    this.state = freshState();
    this.timeline = []; // newest last: {id, at, source, type, text}
  }

  // Adds an IFMessage (a peer's, or one of ours); true if the view changed.
  add(message) {
    const handler = APPLY[message.type];
    if (!handler || !message.payload) return false; // a generic message, or one we do not know
    const key = `${message.source}\n${message.seq}\n${message.id}`;
    if (this.seen.has(key)) return false;
    this.seen.add(key);
    const last = this.events[this.events.length - 1];
    let text;
    if (!last || order(last, message) < 0) {
      this.events.push(message);
      text = handler(this.state, message, message.payload);
    } else {
      const at = this.events.findIndex((e) => order(e, message) > 0);
      this.events.splice(at, 0, message);
      this.state = freshState();
      for (const e of this.events) {
        const out = APPLY[e.type](this.state, e, e.payload);
        if (e === message) text = out;
      }
    }
    if (text !== null) {
      this.timeline.push({ id: message.id, at: message.timestamp, source: message.source,
                           type: message.type, text: text || message.type }); // prettier-ignore
      if (this.timeline.length > TIMELINE_KEPT) this.timeline.shift();
    }
    return true;
  }

  get tasks() {
    return [...this.state.tasks.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }
  get blockers() {
    return [...this.state.blockers.values()];
  }
  get help() {
    return [...this.state.help.values()];
  }
  get asks() {
    return this.tasks.filter((t) => t.ask && held(t));
  }
  get queues() {
    return this.tasks.filter((t) => t.queue.length);
  }
}
