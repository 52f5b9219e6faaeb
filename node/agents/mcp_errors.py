"""Failures as an MCP client sees them: a tool error carrying the node's error code, its
message, and what to do next in the MCP server's own terms (its tools, not shell commands).

Every failure of a tool call becomes one of these, never a protocol error and never the end of
the server: the node's refusals keep their code (docs/control-api.md), a node that is not
there is ``node_not_running``, bad arguments are ``bad_request``. The codes are the ones the
CLI prints with ``--json``, so an agent that learnt one interface reads the other.
"""

from __future__ import annotations

from mcp_types import CallToolResult, TextContent
from pydantic import ValidationError

# What to do on each code, told to the model after the node's own message.
ADVICE: dict[str, str] = {
    "bad_request": "fix the arguments as the message says and call again",
    "unknown_tool": "call one of the tools the server lists",
    "claim_lost": "another session won it: do not start the work; pick another task (`next`),"
    " or queue for it (`claim` with queue=true, then `wait` with until='mine')",
    "already_claimed": "someone holds it: pick another task (`next`), queue for it (`claim`"
    " with queue=true), or ask for it (`ask_release`)",
    "claim_undecided": "the claim was withdrawn; check `status` (git.last_error), then claim again",
    "not_queue_head": "another waiter has the turn: call `claim` with queue=true, then `wait`"
    " with until='mine'",
    "dependencies_not_completed": "call `block` with on=[those tasks] and `wait` with"
    " until='unblocked', or pick another task (`next`)",
    "unknown_task": "check the id with `board` or `next`",
    "not_owner": "only the holder reports on a task: see `board` for who holds it; claim it"
    " first if it is free",
    "stale_epoch": "the task was released or taken over since: check `board`, claim it again"
    " if it is free",
    "task_completed": "nothing to wait for: pick another task with `next`",
    "already_holder": "you hold it already: work on it, or `release` it",
    "not_queued": "you are not in its queue: join with `claim` and queue=true",
    "not_held": "nobody holds it: `claim` it",
    "already_asked": "queue for it (`claim` with queue=true) and `wait` with until='mine'",
    "not_asked": "nobody asked you to release it: go on working",
    "policy_denied": "the room's policy refuses it for your capabilities: pick another task"
    " with `next`, or ask for `help`",
    "budget_exhausted": "your budget is spent: tell the person running this session",
    "circuit_open": "too many recent failures on this kind of task: wait before retrying, or"
    " pick another kind of task with `next`",
    "refused": "the board refused it: read the message, check `board`, then decide",
    "config_error": "fix the argument or setting the message names",
    "invalid_milestone": "report 25, 50, 75 or 100",
    "node_not_running": "the session's node is not running: ask the person to start it"
    " (`ifmesh node`), or run this server with --start; then call again",
    "node_timeout": "the node is busy or stuck: call `status` to see, and retry",
    "ambiguous_node": "several nodes run here: start this server with --session",
    "unauthorized": "run the MCP server as the user who started the node",
    "bad_response": "the node runs another ifmesh version: restart it with this one",
    "unknown_command": "this node does not have that command yet (it runs an older ifmesh):"
    " restart the node with this version; until then do without it",
    "unknown_query": "this node does not have that query yet (it runs an older ifmesh):"
    " restart the node with this version; until then do without it",
    "reservation_conflict": "another session holds some of these paths: work on other paths,"
    " `ask_release` its task, or ask for `help`",
    "invalid_pattern": "write a gitignore-style glob from the repository's root, such as"
    " src/db/** or docs/*.md",
    "not_reserved": "you hold no such reservation: see `board`",
    "transport_error": "the mesh is down: the node falls back to git; retry, check `status`",
    "gitsync_error": "git is failing: check `status` (git.last_error) and retry",
    "internal_error": "a bug in the MCP server: report the message; other tools still work",
}


def advice(code: str) -> str:
    return ADVICE.get(code, "read the message; check `board` and `status`, then decide")


def tool_error(code: str, message: str) -> CallToolResult:
    """A failed call: ``is_error``, the code first in the text (what a model reads), and
    ``{"error": {"code", "message", "advice"}}`` as structured content (what a program reads;
    clients validate structured content against the output schema only on success)."""
    todo = advice(code)
    return CallToolResult(
        content=[TextContent(type="text", text=f"{code}: {message}\nWhat to do: {todo}")],
        structured_content={"error": {"code": code, "message": message, "advice": todo}},
        is_error=True,
    )


def describe(exc: ValidationError) -> str:
    """A pydantic refusal of arguments, one clause per field, without echoing long values."""
    clauses = []
    for error in exc.errors(include_url=False):
        where = ".".join(str(part) for part in error["loc"]) or "arguments"
        clauses.append(f"{where}: {error['msg']}")
    return "; ".join(clauses)
