"""``ifmesh mcp``: the session's node as an MCP server over stdio, on the official SDK.

Built on the SDK's low-level :class:`mcp.server.lowlevel.Server` rather than ``MCPServer``
because the tools' schemas are the project's pydantic models (``MCPServer`` derives them from
function signatures), because ``ifmesh://board`` is one resource in two forms (JSON and the
table; ``MCPServer`` reads one content per resource), and because clients of the handshake
era subscribe with ``resources/subscribe``, which only the low-level server takes a handler
for. Everything on the wire is the SDK's: the stdio transport, both protocol eras, JSON-RPC,
``subscriptions/listen`` (its :class:`ListenHandler`).

A tool call never raises out of here: every failure is a tool error with its code
(:mod:`.mcp_errors`), and the server keeps serving — a node that goes away fails the calls
that needed it with ``node_not_running``, and the next call finds the node again.
"""

from __future__ import annotations

from typing import Any

import anyio
import orjson
import structlog
from mcp.server import Server, ServerRequestContext
from mcp.server.stdio import stdio_server
from mcp.server.subscriptions import InMemorySubscriptionBus, ListenHandler
from mcp.shared.exceptions import MCPError
from mcp_types import (
    INTERNAL_ERROR,
    INVALID_PARAMS,
    CallToolRequestParams,
    CallToolResult,
    EmptyResult,
    ListResourcesResult,
    ListToolsResult,
    PaginatedRequestParams,
    ReadResourceRequestParams,
    ReadResourceResult,
    SubscribeRequestParams,
    TextContent,
    Tool,
    ToolAnnotations,
    UnsubscribeRequestParams,
)
from pydantic import ValidationError

from ifmesh import __version__
from ifmesh.node.agents.mcp_errors import advice, describe, tool_error
from ifmesh.node.agents.mcp_resources import READERS, RESOURCES, Subscribers, follow
from ifmesh.node.agents.mcp_tools import SPECS, TOOLS, ToolSpec
from ifmesh.node.agents.node_link import NodeLink
from ifmesh.node.cli.boardtext import render_board
from ifmesh.node.errors import IfmeshError

log = structlog.get_logger(__name__)

Context = ServerRequestContext[Any, Any]

INSTRUCTIONS = """\
ifmesh coordinates this coding session with the other sessions of the project: a shared board
of tasks, decided claims, progress milestones, blockers and help. Work with it like this:
at the start, `status` (what you hold, asks waiting for you) and `next` (tasks for you);
`claim` a task before working on it, and start only on `won: true`; report `progress` at 25,
50, 75 and 100; `complete` it when done. Blocked: `block` and `wait` (until='unblocked'),
never a polling loop; `help` to ask for help, `offer` to answer a request. Before editing
files, `check_paths`. Every failure is a tool error starting with its code, followed by what
to do. Subscribe to ifmesh://session and ifmesh://board to be told when they change."""


def _tool(spec: ToolSpec) -> Tool:
    return Tool(
        name=spec.name,
        title=spec.title,
        description=spec.description.strip(),
        input_schema=spec.args.model_json_schema(),
        output_schema=spec.result.model_json_schema(mode="serialization"),
        annotations=ToolAnnotations(
            title=spec.title,
            read_only_hint=spec.read_only,
            destructive_hint=None if spec.read_only else False,
        ),
    )


def _text(structured: dict[str, Any]) -> str:
    return orjson.dumps(structured).decode()


class IfmeshMcpServer:
    def __init__(self, link: NodeLink) -> None:
        self.link = link
        self.bus = InMemorySubscriptionBus()
        self.subscribers = Subscribers(self.bus)
        self.tools = [_tool(spec) for spec in SPECS]
        self.server: Server[Any] = Server(
            "ifmesh",
            version=__version__,
            title="ifmesh",
            instructions=INSTRUCTIONS,
            on_list_tools=self._list_tools,
            on_call_tool=self._call_tool,
            on_list_resources=self._list_resources,
            on_read_resource=self._read_resource,
            on_subscribe_resource=self._subscribe,
            on_unsubscribe_resource=self._unsubscribe,
            on_subscriptions_listen=ListenHandler(self.bus),
        )

    async def serve_stdio(self) -> None:
        """Serves the client on stdin and stdout until it closes stdin, following the node's
        events meanwhile."""
        async with (
            stdio_server() as (read_stream, write_stream),
            anyio.create_task_group() as tasks,
        ):
            tasks.start_soon(follow, self.link, self.subscribers)
            if self.link.starter is not None:
                tasks.start_soon(self._start_early)
            await self.server.run(
                read_stream, write_stream, self.server.create_initialization_options()
            )
            tasks.cancel_scope.cancel()

    async def _start_early(self) -> None:
        """With --start, the node starts while the client initializes, not at the first call
        (a first start fetches the coordination branch: seconds)."""
        try:
            await self.link.endpoint()
        except IfmeshError as exc:  # told to the agent at its first call, too
            log.warning("mcp.start_failed", code=exc.code, reason=str(exc))
        except Exception:  # never the end of the server
            log.exception("mcp.start_failed")

    # --- tools -------------------------------------------------------------------------------

    async def _list_tools(
        self, ctx: Context, params: PaginatedRequestParams | None
    ) -> ListToolsResult:
        return ListToolsResult(tools=self.tools)

    async def _call_tool(self, ctx: Context, params: CallToolRequestParams) -> CallToolResult:
        spec = TOOLS.get(params.name)
        if spec is None:
            names = ", ".join(TOOLS)
            return tool_error("unknown_tool", f"no tool {params.name!r}; the tools: {names}")
        try:
            args = spec.args.model_validate(params.arguments or {})
        except ValidationError as exc:
            return tool_error("bad_request", f"{spec.name}: {describe(exc)}")
        try:
            document = await self._run(spec, args)
        except IfmeshError as exc:
            return tool_error(exc.code, str(exc))
        except Exception as exc:  # the boundary: a bug here must not end the server
            log.exception("mcp.tool_crashed", tool=spec.name)
            return tool_error("internal_error", f"{spec.name}: {type(exc).__name__}: {exc}")
        try:
            structured = spec.result.model_validate(document).model_dump(mode="json")
        except ValidationError as exc:
            return tool_error(
                "bad_response",
                f"the node answered {spec.route} with a document this ifmesh does not read"
                f" ({describe(exc)})",
            )
        content = [TextContent(type="text", text=_text(structured))]
        if spec.name == "board":
            content.insert(0, TextContent(type="text", text=render_board(structured)))
        return CallToolResult(content=list(content), structured_content=structured)

    async def _run(self, spec: ToolSpec, args: Any) -> dict[str, Any]:
        body = spec.body(args)
        if spec.kind == "query":
            return await self.link.query(spec.route, {k: str(v) for k, v in body.items()})
        waits = spec.waits(args) if spec.waits is not None else None
        return await self.link.call(spec.route, body, waits=waits)

    # --- resources ---------------------------------------------------------------------------

    async def _list_resources(
        self, ctx: Context, params: PaginatedRequestParams | None
    ) -> ListResourcesResult:
        return ListResourcesResult(resources=list(RESOURCES))

    async def _read_resource(
        self, ctx: Context, params: ReadResourceRequestParams
    ) -> ReadResourceResult:
        reader = READERS.get(params.uri)
        if reader is None:
            raise self._no_such(params.uri)
        try:
            contents = await reader(self.link)
        except IfmeshError as exc:
            raise MCPError(
                INTERNAL_ERROR,
                f"{exc.code}: {exc}\nWhat to do: {advice(exc.code)}",
                data={"code": exc.code, "uri": params.uri},
            ) from None
        except ValidationError as exc:
            raise MCPError(
                INTERNAL_ERROR,
                f"bad_response: the node's answer for {params.uri} is not what this ifmesh"
                f" reads ({describe(exc)})",
                data={"code": "bad_response", "uri": params.uri},
            ) from None
        return ReadResourceResult(contents=list(contents), ttl_ms=0)

    async def _subscribe(self, ctx: Context, params: SubscribeRequestParams) -> EmptyResult:
        if params.uri not in READERS:
            raise self._no_such(params.uri)
        self.subscribers.subscribe(params.uri, ctx.session)
        return EmptyResult()

    async def _unsubscribe(self, ctx: Context, params: UnsubscribeRequestParams) -> EmptyResult:
        self.subscribers.unsubscribe(params.uri)
        return EmptyResult()

    def _no_such(self, uri: str) -> MCPError:
        known = ", ".join(READERS)
        return MCPError(INVALID_PARAMS, f"no resource {uri}; the resources: {known}", {"uri": uri})


async def run_stdio(link: NodeLink) -> None:
    """Serves MCP on this process's stdin and stdout until the client closes stdin; then
    stops the node this server started, if it started one."""
    try:
        await IfmeshMcpServer(link).serve_stdio()
    finally:
        link.close()
