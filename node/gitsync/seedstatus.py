"""Board events for sessions without a node, derived from their STATUS files in git.

A session that runs only the seed's bash polling loop reports through a STATUS file it pushes
to its own branch (``current_task``, ``claiming``, ``milestone``, ``completed``). Each change
of that file — a commit, compared with the file in its parent — becomes events:

* a task it now names that it did not name before → ``task.claim``
* a new milestone of 25, 50 or 75 % → ``task.progress``
* a task it reports completed for the first time (``completed:``, ``tasks_completed:``, a
  list…) → ``task.complete``; one it never claimed still completes (the fold says so)
* a new ``blocked_on:`` → ``blocker``
* otherwise, a refresh while it holds a task, at most once per ``renew_interval`` of its
  STATUS timestamps → ``lease.renew`` (its STATUS time plays the part of its last event)

Everything comes from git alone, so every node derives the same events: ``id`` is a hash of
(commit, path), ``source`` the session the file names, the timestamp the file's own (else the
commit's). ``seq`` and ``lamport`` come from the commit time and its first-parent depth, so
they increase in commit order without any state. The epoch is the file's ``epoch:``, else 0.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from ifmesh.node.board.formats.status import StatusFile
from ifmesh.node.board.state import SEED_INCARNATION_PREFIX
from ifmesh.node.gitsync.statusfiles import held_task, milestone_text
from ifmesh.node.protocol.messages import (
    Blocker,
    Envelope,
    LeaseRenew,
    Payload,
    TaskClaim,
    TaskComplete,
    TaskProgress,
    make_message,
)

INCARNATION_PREFIX = SEED_INCARNATION_PREFIX
_PROGRESS_MILESTONES = (25, 50, 75)


@dataclass(frozen=True)
class StatusChange:
    """One commit's version of a STATUS file, next to the version in its first parent."""

    commit: str
    path: str
    committed_at: datetime
    depth: int  # first-parent depth of the commit (root = 1)
    branch: str
    before: StatusFile | None
    after: StatusFile


def change_id(commit: str, path: str) -> str:
    return hashlib.sha256(f"{commit}:{path}".encode()).hexdigest()[:32]


def derive_events(change: StatusChange, *, renew_interval: float) -> list[Envelope]:
    before, after = change.before, change.after
    session = after.session  # the file's own session (its name and session: field weighed)
    payloads = _payloads(session, before, after, _when(change), renew_interval)
    base_id = change_id(change.commit, change.path)
    # Seconds since the epoch leave room below for the depth and the index within a change.
    clock = int(change.committed_at.timestamp()) * 1_000_000 + (change.depth % 10_000) * 100
    return [
        make_message(
            payload,
            source=session,
            timestamp=_when(change),
            id=base_id if index == 0 else f"{base_id}:{index}",
            seq=clock + index,
            lamport=clock + index,
            incarnation=(INCARNATION_PREFIX + change.branch)[:128],
        )
        for index, payload in enumerate(payloads)
    ]


def _when(change: StatusChange) -> datetime:
    return change.after.last_seen or change.committed_at


def _payloads(
    session: str,
    before: StatusFile | None,
    after: StatusFile,
    when: datetime,
    renew_interval: float,
) -> list[Payload]:
    epoch = after.epoch or 0
    task = held_task(after)
    previous_task = held_task(before) if before else None
    payloads: list[Payload] = []
    completed = set(after.completed_tasks)
    if task and task != previous_task and task not in completed:
        payloads.append(TaskClaim(task_id=task, epoch=epoch, swarm_id=session, timestamp=when))
    percent = after.percent
    if (
        task
        and percent in _PROGRESS_MILESTONES
        and (before is None or before.percent != percent or previous_task != task)
    ):
        payloads.append(
            TaskProgress(
                task_id=task,
                epoch=epoch,
                percent=percent,
                milestone=milestone_text(after),
            )
        )
    reported = set(before.completed_tasks) if before is not None else set()
    for done in after.completed_tasks:
        if done not in reported:  # each task once, the first time the file reports it
            payloads.append(
                TaskComplete(
                    task_id=done,
                    epoch=epoch,
                    deliverable=(after.deliverable or "") if done == after.completed else "",
                    tests_pass=bool(after.tests_pass),
                )
            )
    if task and after.blocked_on and (before is None or before.blocked_on != after.blocked_on):
        payloads.append(
            Blocker(
                swarm_id=session,
                task_id=task,
                blocked_on=list(after.blocked_on),
                description=after.next_action or "",
                detected_at=when,
            )
        )
    if not payloads and task and task not in completed and before is not None:
        previous = before.last_seen
        bucket = int(when.timestamp() // renew_interval)
        if previous is None or int(previous.timestamp() // renew_interval) != bucket:
            payloads.append(LeaseRenew(task_ids=[task]))
    return payloads
