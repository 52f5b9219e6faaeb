"""The dashboard in a real browser: Debian's Chromium, driven by Playwright, joins a room of
three aiortc node processes as a WebRTC peer, inside a network namespace the test creates.

One room and one browser serve the whole module (starting them is most of its time); each test
works on tasks of its own. What is checked is what a person at the page would see: rows that
change as the nodes' events arrive, the reason a refused action gives, and the nodes' own boards
(through their control APIs) for what they folded.

The room is a signed one, as by default: no migration switch. The nodes pin one operator key
in their configuration (IFMESH_OPERATOR_KEYS); an operator's page that signs with it is taken,
one that signs with another key, or cannot sign, is refused and says why (docs/dashboard.md,
"Signed actions").
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
import pytest_asyncio
from playwright.async_api import Browser, Page, expect

from ifmesh.node.cli.dashboard import link_key
from ifmesh.node.identity import keys, seal
from ifmesh.node.mesh.frame_writer import FrameWriter
from ifmesh.node.protocol import codec
from ifmesh.node.protocol import messages as m
from ifmesh.node.sdp.capture.netns import Namespace
from tests.integration.dashboard.room import (
    ROOM,
    SECRET,
    NamespaceRoom,
    open_dashboard,
    token,
)

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="package")]

WEBRTC, H323, CLI = "session-2-webrtc", "session-3-h323", "session-5-cli"
SEEN = 15_000  # ms: how long a row may take to show an event (it takes milliseconds)


@pytest.fixture(scope="module")
def operator_key(directory: Path) -> Path:
    """The operator key every node of the room pins (`ifmesh keys operator-key`'s file)."""
    path = directory / "operator.key"
    if not path.exists():
        keys.write_key_file(path, keys.SessionKey.generate())
    return path


@pytest_asyncio.fixture(scope="module", loop_scope="package")
async def room(
    directory: Path, namespace: Namespace, operator_key: Path
) -> AsyncIterator[NamespaceRoom]:
    (directory / "secret").write_bytes(SECRET)
    room = NamespaceRoom(
        directory / "room",
        sessions=3,
        namespace=namespace,
        secret_file=directory / "secret",
        # Only the nodes' sessions are active: a session active without a node sends every
        # claim to git, and these tests look at claims decided on the mesh.
        status_sessions=[WEBRTC, H323, CLI],
        # A signed room (no IFMESH_ACCEPT_UNSIGNED) that takes one operator key's actions.
        extra_env={"IFMESH_OPERATOR_KEYS": keys.load_key_file(operator_key).public.text},
    )
    async with room:
        await room.wait_mesh(90)
        yield room


@pytest_asyncio.fixture(scope="module", loop_scope="package")
async def observer(browser: Browser, room: NamespaceRoom) -> Page:
    page = await open_dashboard(browser, room, "dashboard", "observer")
    for session in (WEBRTC, H323, CLI):
        await expect(_row(page, "peers", session).locator("td.state")).to_have_text(
            "up", timeout=SEEN
        )
    return page


@pytest_asyncio.fixture(scope="module", loop_scope="package")
async def operator(browser: Browser, room: NamespaceRoom, operator_key: Path) -> Page:
    """An operator's page opened from `ifmesh dashboard --operator-key`'s link, on 127.0.0.1."""
    opkey, _ = link_key(operator_key)
    page = await open_dashboard(browser, room, "operator-1", "operator", local=True, opkey=opkey)
    short = keys.load_key_file(operator_key).public.short
    await expect(page.locator("#signing")).to_have_text(f"signing with operator key {short}")
    assert "opkey" not in page.url  # taken out of the address bar at once
    return page


def _row(page: Page, table: str, key: str) -> Any:
    return page.locator(f'#{table} tr[data-key="{key}"]')


async def _help_request(room: NamespaceRoom) -> str:
    board = await room.query(H323, "board")
    requests = [h for h in board["help_requests"] if h["requester"] == H323]
    if requests:
        return str(requests[0]["id"])
    asked = await room.call(
        H323, "help", {"task": "P0.3.6", "description": "MCU cascade configuration is undocumented",
                       "need": ["docs:technical-writing"]},
    )  # fmt: skip
    return str(asked["request_id"])


async def test_the_page_speaks_the_documented_frames(observer: Page) -> None:
    """The page's codec writes what a node's writer writes (docs/mesh-protocol.md §3.8)."""
    written = await observer.evaluate(
        """async () => {
            const f = await import("./framing.js");
            const hex = (b) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
            return {ping: hex(f.ping(1, 8021.5, null)), pong: hex(f.pong(1, 8021.5)),
                    ack: hex(f.ack("c-9")), caught: hex(f.caughtUp(0)),
                    bye: hex(f.bye("5f1c0a9e3b7d2468", "closing"))};
        }"""
    )
    assert written == {
        "ping": FrameWriter.ping(1, 8021.5, None).hex(),
        "pong": FrameWriter.pong(1, 8021.5).hex(),
        "ack": FrameWriter.ack("c-9").hex(),
        "caught": FrameWriter.caught_up(0).hex(),
        "bye": FrameWriter.bye("5f1c0a9e3b7d2468", "closing").hex(),
    }


async def test_a_page_whose_id_sorts_after_the_nodes_answers_their_offers(
    browser: Browser, room: NamespaceRoom
) -> None:
    """The lower session id offers (docs/mesh-protocol.md §2.1): a page named `zz-watcher`
    waits for the nodes' offers, answers them, and is up with every node all the same."""
    page = await open_dashboard(browser, room, "zz-watcher", "observer")
    for session in (WEBRTC, H323, CLI):
        row = _row(page, "peers", session)
        await expect(row.locator("td.state")).to_have_text("up", timeout=SEEN)
        await expect(row.locator("td.caught")).to_have_text("yes", timeout=SEEN)
    await page.close()


async def test_the_page_shows_claims_milestones_blockers_and_help_as_they_happen(
    room: NamespaceRoom, observer: Page
) -> None:
    claimed = await room.call(WEBRTC, "claim", {"task": "F2.1"})
    assert claimed["decided_by"] == "mesh", claimed  # the observer page was not asked
    row = _row(observer, "board", "F2.1")
    await expect(row.locator("td.owner")).to_have_text(WEBRTC, timeout=SEEN)
    await expect(row.locator("td.status")).to_have_text("CLAIMED")

    await room.call(WEBRTC, "progress", {"task": "F2.1", "percent": 50, "milestone": "Mocks done"})
    await expect(row.locator("td.percent")).to_have_text("50%", timeout=SEEN)
    await expect(row.locator("td.milestone")).to_have_text("Mocks done")

    await room.call(WEBRTC, "block", {"task": "P0.5.2", "on": ["P0.2.6"]})
    blocker = _row(observer, "blockers", f"{WEBRTC}:P0.5.2")
    await expect(blocker.locator("td.on")).to_have_text("P0.2.6", timeout=SEEN)

    request = await _help_request(room)
    help_row = _row(observer, "help", request)
    await expect(help_row.locator("td.requester")).to_have_text(H323, timeout=SEEN)
    await expect(help_row.locator("td.need")).to_have_text("docs:technical-writing")
    timeline = observer.locator("#timeline li", has_text="asks for help on P0.3.6")
    await expect(timeline).to_have_count(1)


async def test_an_observer_never_counts_for_a_claim(room: NamespaceRoom, observer: Page) -> None:
    """A session on the roster with no channel sends every claim to git, unless the server
    stamped it an observer: then the mesh decides without it. Both lurk from the page."""
    await observer.evaluate(
        _LURK, {"session": "lurker-observer", "token": token("lurker-observer", "observer")}
    )
    claimed = await room.call(H323, "claim", {"task": "F2.2"})
    assert claimed["decided_by"] == "mesh", claimed

    await observer.evaluate(_LURK, {"session": "lurker-node", "token": token("lurker-node")})
    claimed = await room.call(CLI, "claim", {"task": "F2.3"})
    assert claimed["decided_by"] == "git", claimed
    assert "lurker-node" in claimed["why_git"] and "lurker-observer" not in claimed["why_git"]
    await observer.evaluate("() => window.lurkers.forEach((ws) => ws.close())")


# Joins the room on a WebSocket of its own and never builds a pair: on the roster, silent.
_LURK = """({session, token}) => new Promise((done, fail) => {
    const ws = new WebSocket(`ws://${location.host}/ws`);
    (window.lurkers ||= []).push(ws);
    ws.onopen = () => ws.send(JSON.stringify({type: "join", room: "ROOM", session, token}));
    ws.onmessage = ({data}) => {
        const frame = JSON.parse(data);
        if (frame.type === "joined") done(frame.roster_version);
        if (frame.type === "error") fail(new Error(frame.code));
    };
})""".replace("ROOM", ROOM)


async def test_the_nodes_refuse_an_observers_change_and_the_page_says_why(
    room: NamespaceRoom, observer: Page
) -> None:
    request = await _help_request(room)
    await _row(observer, "help", request).locator("button[data-action=offer-help]").click()
    refused = observer.locator("#actions tr.action-refused")
    await expect(refused.locator("td.detail")).to_contain_text("is an observer", timeout=SEEN)
    await expect(refused.locator("td.detail")).to_contain_text("observer_read_only")
    await expect(observer.locator("#signing")).to_be_hidden()  # an observer signs nothing

    claim = {"task_id": "F2.4", "epoch": 0, "swarm_id": "dashboard",
             "timestamp": "2026-01-05T09:30:00Z"}  # fmt: skip
    sent = await observer.evaluate(
        "async (payload) => (await window.ifmeshDashboard.send('task.claim', payload)).id", claim
    )
    await expect(_row(observer, "actions", sent).locator("td.state")).to_have_text(
        "refused", timeout=SEEN
    )
    board = await room.query(WEBRTC, "board")
    assert "dashboard" not in _offers(board, request)
    assert next(t for t in board["tasks"] if t["id"] == "F2.4")["owner"] is None
    peers = await room.query(WEBRTC, "peers")
    assert next(p for p in peers["peers"] if p["peer"] == "dashboard")["refused"] >= 2, peers


async def test_an_operator_offers_help_and_answers_an_ask_release(
    room: NamespaceRoom, operator: Page, observer: Page
) -> None:
    """Signed with the operator key the nodes pin: the offer is folded, the holder's node gives
    the keep and the release as its own events."""
    await expect(operator.locator("#role")).to_have_text("operator", timeout=SEEN)
    request = await _help_request(room)
    await _row(operator, "help", request).locator("button[data-action=offer-help]").click()
    await room.until(
        H323, "board", lambda b: "operator-1" in _offers(b, request), "the operator's offer folded"
    )

    # session-2 holds F2.1 (the live-view test claimed it); session-3 asks for it.
    await room.call(H323, "ask-release", {"task": "F2.1", "reason": "the fixtures block P0.3.6"})
    ask = _row(operator, "asks", "F2.1")
    await expect(ask.locator("td.asker")).to_have_text(H323, timeout=SEEN)
    await operator.locator("#note").fill("session 2 finishes it today")
    await ask.locator("button[data-action=keep]").click()
    await expect(operator.locator("#actions tr.action-done")).to_have_count(1, timeout=SEEN)
    await room.until(
        CLI, "board", lambda b: _task(b, "F2.1")["ask"] is None, "the ask kept and cleared"
    )
    await expect(_row(observer, "asks", "F2.1")).to_have_count(0, timeout=SEEN)

    await room.call(H323, "ask-release", {"task": "F2.1", "reason": "still blocked on it"})
    await expect(ask.locator("td.reason")).to_have_text("still blocked on it", timeout=SEEN)
    await ask.locator("button[data-action=release]").click()
    for session in (WEBRTC, H323, CLI):
        await room.until(
            session, "board", lambda b: _task(b, "F2.1")["owner"] is None, "F2.1 released"
        )
    await expect(_row(observer, "board", "F2.1").locator("td.status")).to_have_text(
        "AVAILABLE", timeout=SEEN
    )
    status = await room.query(WEBRTC, "status")
    assert "operator-1" not in str(status["identity"]["refused"]["recent"]), status["identity"]


async def test_a_page_signing_with_a_key_the_nodes_do_not_pin_is_refused_and_says_why(
    room: NamespaceRoom, browser: Browser, directory: Path
) -> None:
    """An operator token is not enough: the page loads another operator key (with the file
    picker), and every node refuses its help offer and its keep, and tells the page why."""
    stranger = directory / "stranger.key"
    keys.write_key_file(stranger, keys.SessionKey.generate())
    page = await open_dashboard(browser, room, "operator-2", "operator", local=True)
    await expect(page.locator("#signing")).to_have_text("unsigned: no operator key loaded")
    await page.locator("#key-file").set_input_files(stranger)
    short = keys.load_key_file(stranger).public.short
    await expect(page.locator("#signing")).to_have_text(f"signing with operator key {short}")

    request = await _help_request(room)
    await _row(page, "help", request).locator("button[data-action=offer-help]").click()
    refused = page.locator("#actions tr.action-refused td.detail")
    for session in (WEBRTC, H323, CLI):
        await expect(refused).to_contain_text(f"{session}: help.offer", timeout=SEEN)
    await expect(refused).to_contain_text(f"signed by key {short}")
    await expect(refused).to_contain_text("(operator_key_not_pinned)")

    await room.call(WEBRTC, "claim", {"task": "F3.1"})
    await room.call(H323, "ask-release", {"task": "F3.1", "reason": "needed for P0.3.6"})
    ask = _row(page, "asks", "F3.1")
    await ask.locator("button[data-action=keep]").click(timeout=SEEN)
    await expect(refused.filter(has_text="task.keep")).to_contain_text(
        f"{WEBRTC}: task.keep", timeout=SEEN
    )
    board = await room.query(WEBRTC, "board")
    assert "operator-2" not in _offers(board, request)
    assert _task(board, "F3.1")["ask"] is not None  # the holder's node gave no answer
    status = await room.query(H323, "status")
    assert status["identity"]["refused"]["by_code"].get("operator_key_not_pinned", 0) >= 2
    await page.close()


async def test_a_page_that_is_no_secure_context_cannot_sign_and_says_why(
    room: NamespaceRoom, browser: Browser, operator_key: Path
) -> None:
    """From the veth address over plain http the browser gives the page no WebCrypto: the page
    says why it cannot sign, drops the key from its address, and the nodes refuse its offer as
    unsigned, which the page shows too."""
    opkey, _ = link_key(operator_key)
    page = await open_dashboard(browser, room, "operator-3", "operator", opkey=opkey)
    await expect(page.locator("#signing")).to_contain_text("not a secure context")
    assert "opkey" not in page.url
    request = await _help_request(room)
    await _row(page, "help", request).locator("button[data-action=offer-help]").click()
    refused = page.locator("#actions tr.action-refused td.detail")
    await expect(refused).to_contain_text("(unsigned)", timeout=SEEN)
    await expect(refused).to_contain_text("--operator-key")
    await page.close()

    # A key in the query, not the fragment, went to the server: the page will not use it.
    query = f"room={ROOM}&session=operator-4&token={token('operator-4', 'operator')}&opkey={opkey}"
    page = await browser.new_page()
    await page.goto(f"{room.local_url}/dashboard/?{query}")
    await expect(page.locator("#signing")).to_contain_text("key not loaded: it came in the URL's")
    assert "opkey" not in page.url
    await page.close()


# --- the page's bytes are the nodes' bytes ---------------------------------------------------


def _parity_messages() -> list[m.Envelope]:
    """Messages whose canonical encoding has a trap for JavaScript: floats on both sides of
    each notation switch, whole floats, -0.0, keys beyond the BMP, escapes, a timestamp with and
    without a fraction, v2.1 fields, and the payloads a page sends."""
    at = datetime(2026, 1, 5, 9, 30, 0, 250_000, tzinfo=UTC)
    text = 'é😀\u2028\x01\x08\x7f"\\/\t\ufeff'
    floats = [0.1, 1e15, 1e16, 1.5e16, 1.2345678901234568e17, 1e21, 2.5e-5, 1e-5, 1e-6,
              1.5e-7, 5e-324, 1.7976931348623157e308, -0.0, 0.0, 12345.678, -3.25]  # fmt: skip
    return [
        m.make_message(
            m.HelpOffer(
                request_id="r-1",
                task_id="P0.3.6",
                helper_swarm_id="operator-1",
                capabilities=["docs:technical-writing"],
                message=text,
            ),
            source="operator-1",
            timestamp=at,
            seq=1,
            lamport=7,
            incarnation="a1b2c3d4",
        ),
        m.make_message(
            m.TaskKeep(task_id="F2.1", epoch=3, reason=text),
            source="operator-1",
            timestamp=at.replace(microsecond=0),
            seq=2,
            lamport=8,
            incarnation="a1b2c3d4",
            performative="inform",
            sender=m.agent_uri("operator-1"),
            conversation_id="c-1",
        ),
        m.make_message(
            m.TaskRelease(task_id="F2.1", epoch=0), source="operator-1", timestamp=at, ttl=60
        ),
        m.make_message(
            m.TaskAskRelease(task_id="F2.1", epoch=1, reason="x", grace_seconds=1.5e-7),
            source="session-3-h323",
            timestamp=at,
        ),
        m.make_message(
            m.GenericPayload.model_validate(
                {
                    "floats": floats,
                    "\ue000": 1,
                    "😀": {"z": None, "y": True, "a": [text]},
                    "ascii": -(2**53) + 1,
                    "": "empty key",
                }
            ),
            source="operator-1",
            timestamp=at,
        ),
    ]


def _marked(value: Any) -> Any:
    """A JSON document with every float marked, as the page marks the floats it writes."""
    if isinstance(value, float):
        return {"$float": value}
    if isinstance(value, list):
        return [_marked(v) for v in value]
    if isinstance(value, dict):
        return {k: _marked(v) for k, v in value.items()}
    return value


async def test_the_pages_canonical_bytes_and_signatures_are_the_nodes(
    operator: Page, operator_key: Path
) -> None:
    """The page's encoder writes, for every message, the bytes a node writes, and signs the
    bytes a node verifies: the signature its WebCrypto makes passes the nodes' seal.check."""
    messages = _parity_messages()
    documents = [_marked(orjson.loads(codec.encode(message))) for message in messages]
    written = await operator.evaluate(_PARITY, documents)
    public = keys.load_key_file(operator_key).public
    for message, page in zip(messages, written, strict=True):
        assert page["canonical"] == codec.encode(message).decode(), message.type
        fields = codec.signable_fields(message)
        assert page["fields"] == fields, message.type
        assert bytes.fromhex(page["signing"]) == codec.signing_bytes(message, fields)
        signed = codec.decode(page["signed"])
        seal.check(signed, public)  # raises unless a node would take it
        assert signed.model_copy(update={"signature": None}) == message


_PARITY = """async (documents) => {
    const {canonical, Float} = await import("./ifmessage.js");
    const {signedFields, signingBytes} = await import("./signing.js");
    const revive = (v) => Array.isArray(v) ? v.map(revive)
        : v !== null && typeof v === "object"
            ? ("$float" in v ? new Float(v.$float)
               : Object.fromEntries(Object.entries(v).map(([k, x]) => [k, revive(x)])))
            : v;
    const hex = (b) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
    const out = [];
    for (const document of documents) {
        const message = revive(document);
        const fields = signedFields(message);
        const signed = await window.ifmeshDashboard.signer().sign(message);
        out.push({canonical: canonical(message), fields,
                  signing: hex(signingBytes(message, fields)), signed: canonical(signed)});
    }
    return out;
}"""


async def test_a_node_killed_turns_dead_on_the_page(room: NamespaceRoom, observer: Page) -> None:
    room.kill_node(CLI)  # kill -9: no bye; only silence tells (5 s, docs/mesh-protocol.md §6)
    await expect(_row(observer, "peers", CLI).locator("td.state")).to_have_text(
        "down", timeout=10_000
    )


def _offers(board: dict[str, Any], request: str) -> list[str]:
    offers: list[str] = next(h["offers"] for h in board["help_requests"] if h["id"] == request)
    return offers


def _task(board: dict[str, Any], task_id: str) -> dict[str, Any]:
    task: dict[str, Any] = next(t for t in board["tasks"] if t["id"] == task_id)
    return task
