"""The MCP resources and their subscriptions: ``ifmesh://board`` and ``ifmesh://session``.

A read asks the node then and there (the board as JSON and as the terminal table of ``ifmesh
board``; this session's own part of it). A subscriber is told a resource changed when the
node's event stream says something happened (an event folded, an effect of the fold, a peer's
presence for the board), never by polling: :func:`follow` turns the stream into
``notifications/resources/updated``, a burst of events into one notice per resource. A
(re)connection to the stream counts as a change, so nothing that happened while the server
was not following is missed.

Both eras of the protocol are served: a 2026-07-28 client listens (``subscriptions/listen``,
the SDK's :class:`~mcp.server.subscriptions.ListenHandler` fed by a bus); an earlier one sends
``resources/subscribe`` and is notified on its connection (:class:`Subscribers`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import anyio
import orjson
import structlog
from mcp.server.session import ServerSession
from mcp.server.subscriptions import ResourceUpdated, SubscriptionBus
from mcp_types import Resource, TextResourceContents

from ifmesh.node.agents import mcp_results as r
from ifmesh.node.agents.node_link import NodeLink
from ifmesh.node.cli.boardtext import render_board

log = structlog.get_logger(__name__)

BOARD_URI = "ifmesh://board"
SESSION_URI = "ifmesh://session"
JSON, TEXT = "application/json", "text/plain"

RESOURCES = (
    Resource(
        uri=BOARD_URI,
        name="board",
        title="The board",
        description="Every task (status, owner, percent, claim queue, asks), every session and"
        " its presence, blockers and help requests: as JSON, and as the table `ifmesh board`"
        " prints. Subscribe to be told when it changes.",
        mime_type=JSON,
    ),
    Resource(
        uri=SESSION_URI,
        name="session",
        title="This session",
        description="What this session holds and waits for: its tasks, the claim queues it"
        " waits in (position), asks to release its tasks and its own asks, its blockers, its"
        " help requests, and the requests it was asked to help with. Subscribe to be told"
        " when it changes.",
        mime_type=JSON,
    ),
)

# Which resources an event-stream line may change (docs/control-api.md, "The event stream").
_CHANGES: dict[str, frozenset[str]] = {
    "subscribed": frozenset({BOARD_URI, SESSION_URI}),  # (re)connected: whatever happened
    "event": frozenset({BOARD_URI, SESSION_URI}),
    "effect": frozenset({BOARD_URI, SESSION_URI}),
    "presence": frozenset({BOARD_URI}),
}


def changed_by(event: dict[str, Any]) -> frozenset[str]:
    return _CHANGES.get(str(event.get("type")), frozenset())


def _json(document: Any) -> str:
    return orjson.dumps(document, option=orjson.OPT_INDENT_2).decode()


async def read_board(link: NodeLink) -> list[TextResourceContents]:
    document = r.Board.model_validate(await link.query("board")).model_dump(mode="json")
    return [
        TextResourceContents(uri=BOARD_URI, mime_type=JSON, text=_json(document)),
        TextResourceContents(uri=BOARD_URI, mime_type=TEXT, text=render_board(document)),
    ]


async def session_state(link: NodeLink) -> r.SessionState:
    status = r.Status.model_validate(await link.query("status"))
    board = r.Board.model_validate(await link.query("board"))
    me, holding = status.session, set(status.holding)
    return r.SessionState(
        session=me,
        tasks=[t for t in board.tasks if t.id in holding],
        queued=status.queued,
        asked=status.asked,
        asking=status.asking,
        blockers=[b for b in board.blockers if b.session == me],
        help_requested=[h for h in board.help_requests if h.requester == me],
        help_wanted=[h for h in board.help_requests if me in h.helpers and me not in h.offers],
        reservations=[x for x in board.reservations if x.session == me],
    )


def render_session(state: r.SessionState) -> str:
    held = ", ".join(f"{t.id} ({t.status} {t.percent}%)" for t in state.tasks) or "nothing"
    lines = [f"{state.session} holds {held}"]
    for q in state.queued:
        lines.append(f"queued for {q.task}: position {q.position} of {q.queue_length}")
    lines += [f"{a.asker} asks you to release {a.task}: {a.reason}" for a in state.asked]
    lines += [f"you asked {a.holder} to release {a.task}" for a in state.asking]
    for b in state.blockers:
        lines.append(f"blocked on {b.task}: {', '.join(b.waiting) or b.description}")
    for h in state.help_requested:
        lines.append(
            f"your help request {h.id} on {h.task}: offers from {h.offers or 'nobody yet'}"
        )
    for h in state.help_wanted:
        lines.append(f"help wanted [{h.id}]: {h.requester} on {h.task} needs {h.needs}")
    return "\n".join(lines)


async def read_session(link: NodeLink) -> list[TextResourceContents]:
    state = await session_state(link)
    document = _json(state.model_dump(mode="json"))
    return [
        TextResourceContents(uri=SESSION_URI, mime_type=JSON, text=document),
        TextResourceContents(uri=SESSION_URI, mime_type=TEXT, text=render_session(state)),
    ]


READERS = {BOARD_URI: read_board, SESSION_URI: read_session}


class Subscribers:
    """Who is told that a resource changed: listen streams through the SDK's bus, and the
    connections that sent ``resources/subscribe`` (one per stdio server, kept per URI)."""

    def __init__(self, bus: SubscriptionBus) -> None:
        self.bus = bus
        self._sessions: dict[str, ServerSession] = {}

    def subscribe(self, uri: str, session: ServerSession) -> None:
        self._sessions[uri] = session

    def unsubscribe(self, uri: str) -> None:
        self._sessions.pop(uri, None)

    async def changed(self, uris: Iterable[str]) -> None:
        for uri in sorted(uris):
            await self.bus.publish(ResourceUpdated(uri=uri))
            session = self._sessions.get(uri)
            if session is None:
                continue
            try:
                await session.send_resource_updated(uri)
            except (anyio.BrokenResourceError, anyio.ClosedResourceError, OSError):
                self._sessions.pop(uri, None)  # that connection is gone


async def follow(link: NodeLink, subscribers: Subscribers) -> None:
    """Tells subscribers what the node's event stream changes, for as long as the server
    runs. Events that arrive while notices are being sent are gathered into the next round."""
    pending: set[str] = set()
    wake = anyio.Event()

    async def read() -> None:
        async for event in link.events():
            if uris := changed_by(event):
                pending.update(uris)
                wake.set()

    async with anyio.create_task_group() as tasks:
        tasks.start_soon(read)
        while True:
            await wake.wait()
            wake = anyio.Event()
            uris = set(pending)
            pending.clear()
            try:
                await subscribers.changed(uris)
            except Exception:  # a notice that cannot go out must not end the following
                log.exception("mcp.notify_failed", uris=sorted(uris))
