"""The MCP tools: one per session command of the CLI, with its semantics and error codes.

Each :class:`ToolSpec` names the control API command or query it calls (docs/control-api.md),
its argument and result models (:mod:`.mcp_models`, :mod:`.mcp_results`: their JSON Schemas
are the tool's input and output schemas) and a description written for a model: when to call
it, what it returns, and what to do on each error code it can get.

``reserve``, ``unreserve`` and ``check_paths`` call the path-reservation commands
(``check-paths`` as a command: its paths travel as a JSON list), sending the server's working
directory as the CLI sends its own; a node from before them answers ``unknown_command``,
which the tool returns as any other error.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from ifmesh.node.agents import mcp_models as m
from ifmesh.node.agents import mcp_results as r

Body = Callable[[Any], dict[str, Any]]


def _fields(args: m.Args) -> dict[str, Any]:
    return args.model_dump(mode="json", exclude_none=True)


def _from_here(args: m.Args) -> dict[str, Any]:
    """As the CLI sends them: with the directory the server runs in (the agent's project,
    where the client started it), from which the node reads the paths git tracks and
    resolves relative paths."""
    return _fields(args) | {"cwd": str(Path.cwd())}


@dataclass(frozen=True)
class ToolSpec:
    name: str
    title: str
    description: str
    args: type[m.Args]
    result: type[r.Result]
    route: str  # the control API's name for it
    kind: Literal["command", "query"] = "command"
    body: Body = _fields
    read_only: bool = False
    # Seconds the node itself may take before answering (claim's decision, wait): the call
    # is given that much beyond IFMESH_CONTROL_TIMEOUT. None: an ordinary call.
    waits: Callable[[Any], float] | None = None


SPECS: tuple[ToolSpec, ...] = (
    ToolSpec(
        "claim",
        "Claim a task",
        """
Take a task from the board before you start work on it. Answers once the claim is decided:
`won: true` means it is yours (`decided_by`: mesh or git); only then start. Of sessions racing
for one task exactly one wins. With queue=true, a task another session holds (or whose queue
turn is another's) puts you in its claim queue instead (`queued: true`, `position`): then call
`wait` with until='mine'. Claiming a task you already hold answers `already_yours: true`.
Errors: claim_lost (another session won: do not start; pick another task with `next`),
already_claimed (someone holds it: `next`, or claim with queue=true, or `ask_release`),
not_queue_head (claim with queue=true), dependencies_not_completed (`block` with on=[...] and
`wait` with until='unblocked', or pick another task), claim_undecided (withdrawn: see `status`,
claim again), unknown_task (check the id with `board`), policy_denied / budget_exhausted /
circuit_open (the governor refused: pick another task).""",
        m.ClaimArgs,
        r.Claimed,
        "claim",
        waits=lambda a: a.timeout,
    ),
    ToolSpec(
        "progress",
        "Report a milestone",
        """
Report progress on a task you hold at each milestone: 25, 50, 75 and 100 percent, with a few
words on what was reached. Other sessions see it at once; it also renews your lease.
Errors: not_owner (you do not hold it: check `board`), stale_epoch (it was released or taken
over since: check `board`), bad_request (percent is not 25, 50, 75 or 100).""",
        m.ProgressArgs,
        r.Emitted,
        "progress",
    ),
    ToolSpec(
        "complete",
        "Complete a task",
        """
Mark a task you hold COMPLETED when the work is done (set tests_pass=true when its tests pass,
deliverable: the path you delivered). Sessions waiting on it wake at once.
Errors: not_owner (you do not hold it), stale_epoch (released or taken over since).""",
        m.CompleteArgs,
        r.Emitted,
        "complete",
    ),
    ToolSpec(
        "fail",
        "Report a failed task",
        """
Give a task you hold back as failed, with the reason; it becomes AVAILABLE again and counts
toward the governor's circuit breakers. Prefer `release` when you only stop working on it.
Errors: not_owner, stale_epoch.""",
        m.FailArgs,
        r.Emitted,
        "fail",
    ),
    ToolSpec(
        "release",
        "Release a task",
        """
Give back a task you hold without completing it (you stop working on it, or someone asked
for it with `ask_release`). The head of its claim queue gets it next.
Errors: not_owner (you do not hold it), stale_epoch.""",
        m.TaskArgs,
        r.Emitted,
        "release",
    ),
    ToolSpec(
        "block",
        "Say what blocks you",
        """
Say that you are blocked on a task: on=[tasks you wait for], and/or a reason; with need=[
capabilities], it also opens a help request the governor routes to sessions that have them.
Then call `wait` with until='unblocked' instead of polling.
Errors: unknown_task (check ids with `board`), refused (name at least one of on, reason or
need).""",
        m.BlockArgs,
        r.Emitted,
        "block",
    ),
    ToolSpec(
        "help",
        "Ask for help",
        """
Ask other sessions for help on a task with the capabilities you need ('category:name', e.g.
'lang:python'). The governor picks helpers (`helpers`), who see the request at once; an offer
shows in the board's help_requests[].offers. Keep `request_id`.
Errors: unknown_task, refused (name at least one capability).""",
        m.HelpArgs,
        r.HelpAsked,
        "help",
    ),
    ToolSpec(
        "offer",
        "Offer help",
        """
Answer a help request of another session (its id is in `board`: help_requests[].id, and in
the ifmesh://session resource's help_wanted when you were asked) with an offer of help.
Errors: refused (no such request on the board, or it is your own).""",
        m.OfferArgs,
        r.Emitted,
        "offer",
    ),
    ToolSpec(
        "ask_release",
        "Ask the holder to release a task",
        """
Ask the session holding a task you need to release it, saying why. It has the policy's grace
(10 minutes by default) to `release` or `keep` it; unanswered, the task goes STALE and its
queue's first waiter gets it. Queue for it too: `claim` with queue=true.
Errors: not_held (nobody holds it: `claim` it), already_holder (you hold it),
already_asked (someone asked already: queue for it).""",
        m.ReasonArgs,
        r.ReleaseAsked,
        "ask-release",
    ),
    ToolSpec(
        "keep",
        "Keep a task you were asked to release",
        """
Answer an ask to release a task you hold by keeping it, saying why; your lease is restored
and the asker is told. (Or `release` it.) Asks show in `status` (asked) and in the
ifmesh://session resource.
Errors: not_asked (nobody asked), not_owner (you do not hold it).""",
        m.ReasonArgs,
        r.Kept,
        "keep",
    ),
    ToolSpec(
        "unqueue",
        "Leave a claim queue",
        """
Leave the claim queue of a task you queued for with `claim` and queue=true.
Errors: not_queued (you are not in it).""",
        m.TaskArgs,
        r.Unqueued,
        "unqueue",
    ),
    ToolSpec(
        "wait",
        "Wait for a task",
        """
Return the instant something happens, instead of polling: until='completed' (the task is
COMPLETED), 'unblocked' (what you wait on for it is done), 'mine' (the task is yours, decided:
after `claim` with queue=true), 'assigned' (a task your node took over for you), 'asked'
(someone asks you to release a task you hold). Give a timeout in seconds to bound it.
Errors: refused ('timed out waiting…': the timeout passed; decide again), task_completed (with
'mine': another session completed it: pick another task), unknown_task, config_error (that
until needs a task), node_not_running (the node went away: the wait is over).""",
        m.WaitArgs,
        r.Waited,
        "wait",
        read_only=True,
        waits=lambda a: math.inf if a.timeout is None else a.timeout,
    ),
    ToolSpec(
        "next",
        "Best tasks for you",
        """
The best tasks for your capabilities, best first: tasks of absent sessions you may take over
(take_over_from), then free ones whose queue turn is yours; and the queues you wait in. Call
it when you need work, then `claim` one.""",
        m.NoArgs,
        r.NextTasks,
        "next",
        kind="query",
        read_only=True,
    ),
    ToolSpec(
        "board",
        "The board",
        """
The whole board as every session sees it: tasks (status, owner, percent, queue, asks),
sessions and their presence, blockers, help requests (with offers). The same as the
ifmesh://board resource, which you can subscribe to instead of calling this repeatedly.""",
        m.NoArgs,
        r.Board,
        "board",
        kind="query",
        read_only=True,
    ),
    ToolSpec(
        "peers",
        "Mesh peers",
        """
The sessions this node is connected to on the mesh, with state, round-trip time and traffic.
Call it when something seems slow or a session seems absent.""",
        m.NoArgs,
        r.Peers,
        "peers",
        kind="query",
        read_only=True,
    ),
    ToolSpec(
        "status",
        "This session's node",
        """
This session's node: the tasks you hold (holding), asks to release them (asked), your own
asks (asking), the queues you wait in (queued), mesh peers, git sync (pending commits,
last_error). Call it at the start of a session and when a call failed for git or mesh
reasons.""",
        m.NoArgs,
        r.Status,
        "status",
        kind="query",
        read_only=True,
    ),
    ToolSpec(
        "reserve",
        "Reserve paths",
        """
Reserve the paths you are about to edit for a task you hold: gitignore-style globs from the
repository's root (`src/db/**`, `docs/*.md`, `README.md`), so that other sessions' edits
there are refused while you work; exclusive=false shares them with other shared
reservations (for paths you only read). It answers once decided, as a claim is: on success
no other session was told it holds these paths (`decided_by`: mesh or git). Reservations end
with the task, or after ttl_seconds.
Errors: not_owner (claim the task first), reservation_conflict (another session holds some of
these paths, or won them at the same moment: reserve something else, or `ask_release` its
task), reservation_undecided (no decision in time, so it was withdrawn: check `status`, then
reserve again), invalid_pattern (write the glob as the message shows), config_error (the
server does not run in a git working tree), unknown_command (the node is too old: restart it
with this ifmesh version).""",
        m.ReserveArgs,
        r.Reserved,
        "reserve",
        body=_from_here,
        waits=lambda a: a.timeout,
    ),
    ToolSpec(
        "unreserve",
        "Give back reserved paths",
        """
Give back path reservations when you are done with the paths: the given patterns, or every
reservation of the given task (all of yours without either). Completing or releasing a task
gives its reservations back anyway.
Errors: not_reserved (you hold no such reservation: see `board`), unknown_command (the node is
too old: restart it with this ifmesh version).""",
        m.UnreserveArgs,
        r.Unreserved,
        "unreserve",
    ),
    ToolSpec(
        "check_paths",
        "Check paths before editing",
        """
Before editing files, check that no other session holds them under an exclusive reservation
(of a path, a glob, or a directory above it): `ok: true`, or `conflicts` naming each path's
holder, task and pattern. On a conflict, do not edit it: edit something else, `ask_release`
that task, or ask for `help`. Your own reservations never conflict. Relative paths are from
the directory the server runs in.
Errors: config_error (a malformed argument), unknown_command (the node is too old: restart it
with this ifmesh version).""",
        m.CheckPathsArgs,
        r.PathCheck,
        "check-paths",
        body=_from_here,
        read_only=True,
    ),
)

TOOLS: dict[str, ToolSpec] = {spec.name: spec for spec in SPECS}
