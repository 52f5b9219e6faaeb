// The dashboard: joins a room as a peer (docs/dashboard.md), keeps a view of it from what the
// nodes send, and draws it. Its settings come from the URL's fragment, which the browser never
// sends to the server: #room=R&session=S&token=T (&role=observer|operator, &signaling=ws://…,
// &ice=turn:…,stun:… with &iceuser= and &icepass=, &opkey= an operator's private key, which
// the page takes out of the address bar at once).

import { RoomView } from "./board.js";
import { Author, Float } from "./ifmessage.js";
import { Mesh } from "./mesh.js";
import { fillTable, fillTimeline, ms } from "./render.js";
import { Signaling } from "./signaling.js";
import { OperatorKey, signingUnavailable } from "./signing.js";

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.hash.slice(1) || location.search.slice(1));

const ROLE_NOTES = {
  observer:
    "Read-only: this page joined as an observer (its token's role). The nodes refuse any change" +
    " it sends, and say why below; an operator token lets you offer help and answer an ask-release.",
  operator:
    "Operator: you may offer help and answer an ask-release (the holder's node gives your answer" +
    " as its own); the nodes refuse anything else, and take these only signed by an operator" +
    " key they pin: load yours below.",
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

// The link's operator key, read once and taken out of the address bar (and so out of the
// history entry and of any copy of the link a person makes from it). One in the query, not the
// fragment, went to the server with the request: `sent` says so.
function takeKeyFromLink() {
  const text = params.get("opkey");
  if (text === null) return null;
  params.delete("opkey");
  const sent = !location.hash.slice(1);
  const rest = sent ? `?${params}` : `${location.search}#${params}`;
  history.replaceState(null, "", `${location.pathname}${rest}`);
  return { text, sent };
}

function start() {
  const linked = takeKeyFromLink();
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
  // The operator key that signs what the page sends (null: unsigned), and what to say of it.
  let signer = null;
  let signing = { state: "warn", text: "unsigned: no operator key loaded" };
  let sending = Promise.resolve(); // sends in order, each after its signature

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

  // --- the operator key ------------------------------------------------------------------------

  async function loadKey(text) {
    try {
      signer = await OperatorKey.fromText(text);
      signing = { state: "ok", text: `signing with operator key ${signer.short}`, key: signer.publicKey };
    } catch (error) {
      signer = null;
      signing = { state: "bad", text: `unsigned: ${error.message}` };
    }
    schedule();
    return signing;
  }

  // --- actions: what the page sends (an operator's; an observer's are refused) -------------

  // Stamped at once, signed (when a key is loaded), then sent: the nodes take an operator's
  // event only signed by an operator key they pin, and say why otherwise (a role.refused hint).
  function send(type, payload, { label = type, event = true, awaits = null } = {}) {
    const stamped = author.stamp(type, payload);
    const action = { id: stamped.id, label, state: "signing", awaits, detail: "" };
    actions.set(stamped.id, action);
    schedule();
    const sent = sending.then(async () => {
      let message = stamped;
      if (signer) {
        try {
          message = await signer.sign(stamped);
        } catch (error) {
          Object.assign(action, { state: "refused", detail: `not sent: signing failed (${error.message})` });
          schedule();
          return stamped;
        }
      }
      if (event) author.remember(message);
      const to = mesh.broadcast(message);
      const how = signer ? `signed with key ${signer.short}` : "unsigned";
      if (action.state === "signing") {
        action.state = awaits ? "waiting" : "sent";
        action.detail = to.length ? `${how}, sent to ${to.join(", ")}` : "no node connected";
      }
      if (event && myRole() === "operator") view.add(message); // folded here, as nodes do theirs
      schedule();
      return message;
    });
    sending = sent.catch(() => undefined);
    return sent;
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
    $("signing").textContent = signing.text;
    $("signing").className = `${signing.state} operator-only`;
    $("signing").title = signing.key ? `public key ${signing.key} (a node's operator_keys)` : "";

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

  window.ifmeshDashboard = { view, mesh, signaling, author, actions, send, offerHelp, answer, loadKey,
                             role: myRole, signing: () => signing, signer: () => signer }; // prettier-ignore
  addEventListener("pagehide", () => {
    mesh.close();
    signaling.stop();
  });
  $("key-file").addEventListener("change", async (event) => {
    const file = event.target.files[0];
    event.target.value = ""; // the same file may be chosen again
    if (file) await loadKey(await file.text());
  });
  const unavailable = signingUnavailable();
  if (linked?.sent) {
    signing = { state: "bad", text: "key not loaded: it came in the URL's query, which the browser" +
                " sent to the server; make a new operator key, and pass keys after # only" }; // prettier-ignore
  } else if (unavailable) {
    signing = { state: linked ? "bad" : "warn", text: `cannot sign: ${unavailable}` };
  } else if (linked) {
    sending = loadKey(linked.text); // what is sent meanwhile waits for the key
  }
  $("app").hidden = false;
  signaling.start();
  render();
}

if (params.get("room")) start();
else joinForm();
