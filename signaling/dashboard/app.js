// The dashboard: joins a room as a peer (docs/dashboard.md), keeps a view of it from what the
// nodes send, and draws it. Its settings come from the URL's fragment, which the browser never
// sends to the server: #room=R&session=S&token=T (&role=observer|operator, &signaling=ws://…,
// &ice=turn:…,stun:… with &iceuser= and &icepass=).

import { RoomView } from "./board.js";
import { Author, Float } from "./ifmessage.js";
import { Mesh } from "./mesh.js";
import { fillTable, fillTimeline, ms } from "./render.js";
import { Signaling } from "./signaling.js";

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.hash.slice(1) || location.search.slice(1));

const ROLE_NOTES = {
  observer:
    "Read-only: this page joined as an observer (its token's role). The nodes refuse any change" +
    " it sends, and say why below; an operator token lets you offer help and answer an ask-release.",
  operator:
    "Operator: you may offer help and answer an ask-release (the holder's node gives your answer" +
    " as its own); the nodes refuse anything else.",
  node:
    "This page joined with a node token: the nodes ask it about every claim. Mint an observer" +
    " token (`ifmesh dashboard`) instead.",
};

function joinForm() {
  $("join").hidden = false;
  $("join").addEventListener("submit", (event) => {
    event.preventDefault();
    const form = new FormData(event.target);
    const next = new URLSearchParams([...form].filter(([, v]) => v));
    location.hash = next.toString();
    location.reload();
  });
}

function start() {
  const room = params.get("room");
  const session = params.get("session") || "dashboard";
  const token = params.get("token") || "";
  // With a token its role decides (the server refuses a join asking for another); on an open
  // server the page says it is an observer unless told otherwise.
  const askedRole = params.get("role") || (token ? "" : "observer");
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const url = params.get("signaling") || `${scheme}://${location.host}/ws`;
  const iceServers = (params.get("ice") || "")
    .split(",")
    .filter(Boolean)
    .map((urls) => ({ urls, username: params.get("iceuser") || undefined,
                      credential: params.get("icepass") || undefined })); // prettier-ignore

  const view = new RoomView();
  const author = new Author(room, session);
  const actions = new Map(); // message id -> {id, label, state, detail, awaits}
  let signalingState = { joined: false, reason: "connecting" };
  let scheduled = false;

  const signaling = new Signaling({
    url, room, session, token, role: askedRole || undefined,
    onFrame: (frame) => mesh.onSignaling(frame),
    onState: (state) => {
      signalingState = state;
      schedule();
    },
  }); // prettier-ignore
  const mesh = new Mesh({
    session, signaling, author, iceServers,
    on: { message: received, hint: hinted, changed: schedule },
  }); // prettier-ignore

  const myRole = () => signaling.roster.get(session)?.role || askedRole || "observer";

  function received(message) {
    if (view.add(message)) {
      for (const action of actions.values()) {
        const awaits = action.awaits;
        if (action.state === "waiting" && awaits && message.type === awaits.type &&
            message.source === awaits.holder && message.payload.task_id === awaits.task) {
          action.state = "done";
          action.detail = `${message.source}'s node gave the answer (${message.type})`;
        }
      } // prettier-ignore
      schedule();
    }
  }

  function hinted(peer, hint) {
    if (hint.topic !== "role.refused") return; // other hints are for the nodes' git bridges
    const data = hint.data;
    const action = actions.get(data.id) || { id: data.id, label: data.type, refusals: [] };
    action.state = "refused";
    action.refusals = [...(action.refusals || []), `${peer}: ${data.reason} (${data.code})`];
    action.detail = action.refusals.join("; ");
    actions.set(data.id, action);
    schedule();
  }

  // --- actions: what the page sends (an operator's; an observer's are refused) -------------

  function send(type, payload, { label = type, event = true, awaits = null } = {}) {
    const message = author.stamp(type, payload, { event });
    const to = mesh.broadcast(message);
    const action = { id: message.id, label, state: awaits ? "waiting" : "sent", awaits,
                     detail: to.length ? `sent to ${to.join(", ")}` : "no node connected" }; // prettier-ignore
    actions.set(message.id, action);
    if (event && myRole() === "operator") view.add(message); // folded here, as nodes do theirs
    schedule();
    return message;
  }

  function offerHelp(requestId) {
    const request = view.state.help.get(requestId);
    const message = $("note").value.trim() || `${session} offers help`;
    return send(
      "help.offer",
      { request_id: requestId, task_id: request ? request.task : "", helper_swarm_id: session,
        capabilities: [], estimated_cost: new Float(0), message }, // prettier-ignore
      { label: `Offer help on ${request ? request.task : requestId}` },
    );
  }

  function answer(taskId, kind) {
    const task = view.state.tasks.get(taskId);
    const epoch = task ? task.epoch : 0;
    const holder = task ? task.owner : null;
    const payload = { task_id: taskId, epoch };
    if (kind === "keep") payload.reason = $("note").value.trim() || `kept by operator ${session}`;
    const type = kind === "keep" ? "task.keep" : "task.release";
    return send(type, payload, {
      label: `${kind === "keep" ? "Keep" : "Release"} ${taskId} for ${holder}`,
      event: false, // never folded as ours: the holder's node answers for us
      awaits: { type, holder, task: taskId },
    });
  }

  // --- drawing -------------------------------------------------------------------------------

  function schedule() {
    if (!scheduled) {
      scheduled = true;
      queueMicrotask(render);
    }
  }

  function render() {
    scheduled = false;
    const role = myRole();
    document.body.dataset.role = role;
    $("room").textContent = room;
    $("me").textContent = session;
    $("role").textContent = role;
    $("signaling").textContent = signalingState.joined ? "signaling: joined" : `signaling: ${signalingState.reason}`;
    $("signaling").className = signalingState.joined ? "ok" : signalingState.fatal ? "bad" : "warn";
    $("role-note").textContent = ROLE_NOTES[role] || "";

    fillTable($("board").tBodies[0], ["task", "status", "owner", "percent", "milestone", "epoch", "claim"],
      view.tasks.map((t) => ({
        key: t.id,
        className: `status-${t.status.toLowerCase()}`,
        cells: { task: t.id, status: t.status, owner: t.owner, percent: `${t.percent}%`, milestone: t.milestone,
                 epoch: t.epoch, claim: t.owner && t.status !== "COMPLETED" ? (t.confirmed ? "confirmed" : "provisional") : "" },
      })),
    ); // prettier-ignore

    const peers = new Set([...signaling.roster.keys(), ...mesh.pairs.keys()]);
    peers.delete(session);
    fillTable($("peers").tBodies[0], ["session", "role", "state", "rtt", "epoch", "caught"],
      [...peers].sort().map((peer) => {
        const pair = mesh.pairs.get(peer);
        const state = pair ? pair.state : "not connected";
        return { key: peer, className: `state-${state.replace(/ /g, "-")}`,
                 cells: { session: peer, role: signaling.roster.get(peer)?.role || "(left the roster)",
                          state, rtt: ms(pair?.rtt), epoch: pair?.link?.epoch ?? "",
                          caught: pair?.link?.caughtUp ? "yes" : "" } };
      }),
    ); // prettier-ignore

    fillTable($("blockers").tBodies[0], ["session", "task", "on", "description", "urgency"],
      view.blockers.map((b) => ({ key: `${b.session}:${b.task}`, cells: { ...b, on: b.on.join(", ") } })),
    ); // prettier-ignore

    fillTable($("help").tBodies[0], ["task", "requester", "need", "description", "offers", "escalated"],
      view.help.map((h) => ({
        key: h.id,
        cells: { task: h.task, requester: h.requester, need: h.need.join(", "), description: h.description,
                 offers: h.offers.map((o) => o.helper).join(", "), escalated: h.escalated ? "yes" : "" },
        actions: h.requester === session || h.offers.some((o) => o.helper === session) ? [] :
          [{ label: "Offer help", run: () => offerHelp(h.id), title: "offer help as this page's session" }],
      })),
    ); // prettier-ignore

    fillTable($("queues").tBodies[0], ["task", "owner", "waiters"],
      view.queues.map((t) => ({ key: t.id, cells: { task: t.id, owner: t.owner,
        waiters: t.queue.map((w) => `${w.session} (${w.urgency})`).join(", ") } })),
    ); // prettier-ignore

    fillTable($("asks").tBodies[0], ["task", "owner", "asker", "reason", "until"],
      view.asks.map((t) => ({
        key: t.id,
        cells: { task: t.id, owner: t.owner, asker: t.ask.asker, reason: t.ask.reason,
                 until: t.ask.until.replace("T", " ").replace(/\.\d+Z$|Z$/, " UTC") },
        actions: [{ label: "Release", run: () => answer(t.id, "release"), title: "the holder releases it" },
                  { label: "Keep", run: () => answer(t.id, "keep"), title: "the holder keeps it" }],
      })),
    ); // prettier-ignore

    fillTable($("actions").tBodies[0], ["label", "state", "detail"],
      [...actions.values()].reverse().map((a) => ({ key: a.id, className: `action-${a.state}`, cells: a })),
    ); // prettier-ignore

    fillTimeline($("timeline"), view.timeline);
    for (const [section, rows] of [["blockers", view.blockers], ["help", view.help],
                                   ["queues", view.queues], ["asks", view.asks]]) {
      $(`${section}-empty`).hidden = rows.length > 0;
    } // prettier-ignore
  }

  window.ifmeshDashboard = { view, mesh, signaling, author, actions, send, offerHelp, answer, role: myRole };
  addEventListener("pagehide", () => {
    mesh.close();
    signaling.stop();
  });
  $("app").hidden = false;
  signaling.start();
  render();
}

if (params.get("room")) start();
else joinForm();
