"""The rules of a decided claim, without I/O (docs/claims.md has the argument).

A claim is *won on the mesh* when every session that could be claiming the same task at the
same time has acked it on the channel that carried it, and no lower-ordered competing claim
arrived first. Those sessions are the room's members (:mod:`ifmesh.node.board.membership`)
plus every node the signaling roster names (a node that has not registered in our fold yet is
still a node that could claim). Each pair's channel is ordered: a competing claim a peer sent
before it saw ours reaches us before its ack of ours, and the fold (lowest claim wins) has
already taken it into account when the last ack arrives.

Git decides instead (the first confirm record per (task, epoch) in first-parent history) when
the mesh cannot: a steal (the owner it fences cannot ack), a session active without a node
(it claims through its STATUS file in git, and cannot ack), a session that must be asked but has
no caught-up channel here (not yet connected, suspect, or gone but not past its lease), an ack
that did not come back on the carrying channel, a session that joined mid-decision, or a
``nack`` — a peer that has already written or queued a confirm record for this (task, epoch)
declines to ack a competing claim, so that the two records meet in git.

A confirm record is written only for a claim won on the mesh or sent to git, and only while
this session is the claim's holder in its own fold: a session that saw a lower competing claim
writes none, so git can never give it the task the mesh gave another.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from ifmesh.node.board.state import Board
from ifmesh.node.mesh.acks import Acks
from ifmesh.node.protocol import messages as m

TaskEpoch = tuple[str, int]


@dataclass(frozen=True, slots=True)
class Verdict:
    """How one claim was decided. ``won`` is None while undecided (a git verdict awaited)."""

    won: bool | None
    decided_by: str  # "mesh" or "git"
    winner: str | None = None
    why_git: str = ""  # when git decided: why the mesh could not


def claim_key(event: m.Envelope) -> TaskEpoch | None:
    """(task, epoch) of a claim or steal; None for any other event."""
    payload = event.payload
    if isinstance(payload, m.TaskClaim | m.TaskSteal):
        return payload.task_id, payload.epoch
    return None


def must_ask(
    members: Collection[str], roster: Collection[str], me: str, excused: Collection[str] = ()
) -> frozenset[str]:
    """The sessions whose ack a claim needs: the members, and every node on the roster; never
    the ``excused`` (observers and operators: every node refuses their claims)."""
    return (frozenset(members) | frozenset(roster)) - frozenset(excused) - {me}


def git_before(
    claim: m.Envelope,
    asked: Collection[str],
    decidable: Collection[str],
    without_node: Collection[str] = (),
) -> str:
    """Why git must decide this claim before it is even sent; "" when the mesh can."""
    if isinstance(claim.payload, m.TaskSteal):
        return "a steal: the owner it takes the task from cannot ack it"
    if without_node:
        return (
            f"{', '.join(sorted(without_node))} take part without a node (through git alone),"
            " so they cannot ack"
        )
    missing = sorted(set(asked) - set(decidable))
    if missing:
        return (
            f"no caught-up channel to {', '.join(missing)} (not yet connected, suspect, or"
            " gone but within its lease)"
        )
    return ""


def git_after(acks: Acks, asked: Collection[str], asked_now: Collection[str]) -> str:
    """Why git must decide after the acks came in (or did not); "" when the mesh decides."""
    if acks.nacked:
        return (
            f"{', '.join(sorted(acks.nacked))} answered nack: a record that competes with it"
            " (a confirm record, or a path reservation's) is already on its way to git"
        )
    joined = sorted(set(asked_now) - set(asked))
    if joined:
        return f"{', '.join(joined)} joined while it was being decided"
    lost = sorted(set(asked) & acks.lost)
    if lost:
        return f"the channel to {', '.join(lost)} ended before its ack came back on it"
    missing = sorted(set(asked) - acks.acked)
    if missing:
        return f"no ack from {', '.join(missing)} on the channel that carried it"
    return ""


def holder(board: Board, key: TaskEpoch) -> tuple[str | None, bool]:
    """Who holds (task, epoch) in this fold, and whether that is settled for this epoch.

    ``(owner, True)`` while the task is held at the epoch; ``(owner or None, True)`` once the
    task moved past the epoch (released, stolen or withdrawn since); ``(None, False)`` while
    nobody holds it at the epoch yet."""
    task_id, epoch = key
    task = board.tasks.get(task_id)
    if task is None:
        return None, True
    if task.epoch == epoch and task.held:
        return task.owner, True
    if task.epoch > epoch:
        return task.owner, True
    return None, False


def confirmed_holder(board: Board, key: TaskEpoch) -> str | None:
    """Git's winner of (task, epoch) as folded (a ``task.confirmed``/``claim.lost`` verdict)."""
    task_id, epoch = key
    task = board.tasks.get(task_id)
    if task is not None and task.epoch == epoch and task.confirmed:
        return task.owner
    return None


def declines(message: m.Envelope, recorded: Collection[TaskEpoch], me: str) -> bool:
    """Whether to answer ``message`` with a nack: another session's claim for a (task, epoch)
    this session has already written or queued a confirm record for."""
    if message.source == me:
        return False
    key = claim_key(message)
    return key is not None and key in recorded
