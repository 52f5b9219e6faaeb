"""A STATUS file's change, as the board events it stands for.

Sessions without a node (the seed's polling loop) speak only through their STATUS file. The
git bridge reads each change (previous file → new file, in commit order) and emits what this
module returns, with the session as ``source`` and the file's timestamp as the time:

- a new ``claiming:`` / ``current_task:`` → ``task.claim`` at the task's current epoch, forced
  (the loop never checked dependencies; the fold still refuses a task someone holds);
- a higher milestone percentage on the same task → ``task.progress``;
- a new ``completed:`` → ``task.complete`` (``tests_pass`` defaults to true, as the seed's
  completion report always states it);
- a new ``blocked_on:`` → ``blocker``;
- nothing else but a fresher timestamp while holding tasks → ``lease.renew`` (the STATUS
  timestamp plays the part of the last event).
"""

from __future__ import annotations

from datetime import datetime

from ifmesh.node.board.formats.status import StatusFile
from ifmesh.node.board.state import Board
from ifmesh.node.protocol import messages as m
from ifmesh.node.protocol.fields import MILESTONES


def _milestone(percent: int | None) -> int | None:
    if percent is None:
        return None
    reached = [p for p in MILESTONES if p <= percent]
    return reached[-1] if reached else None


def status_payloads(
    before: StatusFile | None, after: StatusFile, board: Board, at: datetime
) -> list[m.Payload]:
    """The payloads for the change ``before`` → ``after`` of one session's STATUS file."""
    me = after.session
    out: list[m.Payload] = []
    working = after.claiming or after.current_task
    previous = (before.claiming or before.current_task) if before else None
    task = board.tasks.get(working) if working else None
    if task is not None and working is not None:
        holds = task.held and task.owner == me
        if not holds and (working != previous or not task.held):
            out.append(
                m.TaskClaim(
                    task_id=working,
                    epoch=task.epoch,
                    swarm_id=me,
                    task_type=task.task_type or "general",
                    metadata={"force": True, "via": "status-file"},
                    timestamp=at,
                )
            )
        percent = _milestone(after.percent)
        old = _milestone(before.percent) if before and previous == working else None
        if percent is not None and percent < 100 and percent != old and (old or 0) < percent:
            out.append(
                m.TaskProgress(
                    task_id=working,
                    epoch=task.epoch,
                    percent=percent,
                    milestone=after.milestone or "",
                )
            )
    done = after.completed
    if done and done in board.tasks and (before is None or before.completed != done):
        finished = board.tasks[done]
        out.append(
            m.TaskComplete(
                task_id=done,
                epoch=finished.epoch,
                deliverable=after.deliverable or "",
                tests_pass=after.tests_pass if after.tests_pass is not None else True,
            )
        )
    waiting_for = working or done
    if (
        after.blocked_on
        and waiting_for
        and (before is None or before.blocked_on != after.blocked_on)
    ):
        known = [t for t in after.blocked_on if t in board.tasks]
        if known and waiting_for in board.tasks:
            out.append(
                m.Blocker(swarm_id=me, task_id=waiting_for, blocked_on=known, detected_at=at)
            )
    if not out and board.held_by(me):
        out.append(m.LeaseRenew(task_ids=[t.task_id for t in board.held_by(me)]))
    return out
