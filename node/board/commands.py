"""Commands: what a session asks for, judged against its node's board at ``now``.

Each command is pure: board, author and ``now`` in, the event(s) to emit out — or a typed
refusal naming the reason, and nothing is emitted. Acceptance here is a node's own judgement
on what it has seen; the fold decides for everyone (a claim accepted here can still lose the
contest on the mesh, or in git).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from ifmesh.node import errors
from ifmesh.node.board import queues
from ifmesh.node.board.errors import (
    AlreadyClaimed,
    DependenciesNotCompleted,
    LeaseNotExpired,
    NotOwner,
    NotQueueHead,
    UnknownTask,
)
from ifmesh.node.board.governance import ADMITTED, Admission
from ifmesh.node.board.state import (
    DEFAULT_LEASE,
    Board,
    HelpRecord,
    Task,
    TaskStatus,
    lease_expired,
)
from ifmesh.node.protocol import messages as m
from ifmesh.node.protocol.fields import MILESTONES, BlockerType, Urgency

Admit = Callable[[Board, m.Envelope], Admission]
DEFAULT_HELP_DEADLINE = timedelta(minutes=10)


def admit_all(board: Board, event: m.Envelope) -> Admission:
    """The permissive default until a governor is wired in."""
    return ADMITTED


@dataclass(frozen=True, slots=True)
class Author:
    """Who emits, and the counters the next event continues from: ``seq`` is the last seq
    emitted, ``lamport`` the highest Lamport time seen or emitted."""

    session_id: str
    incarnation: str
    seq: int = 0
    lamport: int = 0

    def stamp(self, payload: m.Payload, now: datetime) -> m.Envelope:
        return m.make_message(
            payload,
            source=self.session_id,
            timestamp=now,
            seq=self.seq + 1,
            lamport=self.lamport + 1,
            incarnation=self.incarnation,
            sender=m.agent_uri(self.session_id),
        )

    def after(self, event: m.Envelope) -> Author:
        return replace(self, seq=max(self.seq, event.seq), lamport=max(self.lamport, event.lamport))

    def stamp_all(self, payloads: Sequence[m.Payload], now: datetime) -> tuple[m.Envelope, ...]:
        author, events = self, []
        for payload in payloads:
            event = author.stamp(payload, now)
            events.append(event)
            author = author.after(event)
        return tuple(events)


def _task(board: Board, task_id: str) -> Task:
    task = board.tasks.get(task_id)
    if task is None:
        raise UnknownTask(f"no task {task_id} on the board (check the id with `ifmesh board`)")
    return task


def _refusal(admission: Admission) -> errors.PolicyDenied:
    reason = admission.reason or "refused by policy"
    if admission.code == errors.CircuitOpen.code:
        return errors.CircuitOpen(reason, retry_after=admission.retry_after or 0.0)
    if admission.code == errors.BudgetExhausted.code:
        return errors.BudgetExhausted(reason)
    return errors.PolicyDenied(reason)


def _admitted(admit: Admit, board: Board, event: m.Envelope) -> m.Envelope:
    admission = admit(board, event)
    if not admission.admitted:
        raise _refusal(admission)
    return event


def claim(
    board: Board,
    author: Author,
    task_id: str,
    now: datetime,
    *,
    admit: Admit = admit_all,
    force: bool = False,
    policy_hash: str = "",
    lease: timedelta = DEFAULT_LEASE,
) -> m.Envelope:
    task = _task(board, task_id)
    if task.status is TaskStatus.COMPLETED:
        raise AlreadyClaimed(task_id, task.owner or "someone", "COMPLETED")
    if task.held and task.owner is not None:
        raise AlreadyClaimed(task_id, task.owner, task.status.value)
    turn = queues.refused_for(task, author.session_id, now, lease)
    if turn is not None and not force:
        raise NotQueueHead(task_id, turn)
    missing = tuple(
        d
        for d in task.dependencies
        if (dep := board.tasks.get(d)) is None or dep.status is not TaskStatus.COMPLETED
    ) + ((repr(task.manual_dependency),) if task.manual_dependency else ())
    if missing and not force:
        raise DependenciesNotCompleted(task_id, missing)
    payload = m.TaskClaim(
        task_id=task_id,
        epoch=task.epoch,
        swarm_id=author.session_id,
        task_type=task.task_type or "general",
        metadata={"force": True} if force else {},
        timestamp=now,
        policy_hash=policy_hash,
    )
    return _admitted(admit, board, author.stamp(payload, now))


def _held_by_me(board: Board, author: Author, task_id: str, epoch: int | None) -> Task:
    task = _task(board, task_id)
    if epoch is not None and epoch != task.epoch:
        raise errors.StaleEpoch(
            f"{task_id} is at epoch {task.epoch}, not {epoch}: it was released or stolen"
            f" (held by {task.owner or 'nobody'} now)"
        )
    if task.owner != author.session_id or not task.held:
        holder = task.owner if task.held else "nobody"
        raise NotOwner(f"{task_id} is held by {holder}, not {author.session_id}")
    return task


def progress(
    board: Board,
    author: Author,
    task_id: str,
    percent: int,
    now: datetime,
    *,
    milestone: str = "",
    epoch: int | None = None,
) -> m.Envelope:
    if percent not in MILESTONES:
        raise errors.InvalidMilestone(
            f"percent {percent} is not a milestone; use one of 25, 50, 75, 100", path="percent"
        )
    task = _held_by_me(board, author, task_id, epoch)
    payload = m.TaskProgress(
        task_id=task_id, epoch=task.epoch, percent=percent, milestone=milestone
    )
    return author.stamp(payload, now)


def complete(
    board: Board,
    author: Author,
    task_id: str,
    now: datetime,
    *,
    deliverable: str = "",
    tests_pass: bool = True,
    epoch: int | None = None,
) -> m.Envelope:
    task = _held_by_me(board, author, task_id, epoch)
    payload = m.TaskComplete(
        task_id=task_id,
        epoch=task.epoch,
        deliverable=deliverable or task.deliverable,
        tests_pass=tests_pass,
    )
    return author.stamp(payload, now)


def fail(
    board: Board,
    author: Author,
    task_id: str,
    reason: str,
    now: datetime,
    *,
    epoch: int | None = None,
) -> m.Envelope:
    task = _held_by_me(board, author, task_id, epoch)
    return author.stamp(m.TaskFail(task_id=task_id, epoch=task.epoch, reason=reason), now)


def release(
    board: Board, author: Author, task_id: str, now: datetime, *, epoch: int | None = None
) -> m.Envelope:
    task = _held_by_me(board, author, task_id, epoch)
    return author.stamp(m.TaskRelease(task_id=task_id, epoch=task.epoch), now)


def steal(
    board: Board,
    author: Author,
    task_id: str,
    now: datetime,
    *,
    lease: timedelta = DEFAULT_LEASE,
    admit: Admit = admit_all,
) -> m.Envelope:
    task = _task(board, task_id)
    if not task.held or task.owner is None:
        raise NotOwner(f"nobody holds {task_id}; claim it instead")
    if task.owner == author.session_id:
        raise AlreadyClaimed(task_id, task.owner, task.status.value)
    if not lease_expired(task, now, lease):
        raise LeaseNotExpired(
            f"{task.owner} was last heard from at {task.owner_last_event_at}; its lease of"
            f" {lease} has not expired at {now}"
        )
    turn = queues.refused_for(task, author.session_id, now, lease)
    if turn is not None:
        raise NotQueueHead(task_id, turn)
    payload = m.TaskSteal(task_id=task_id, epoch=task.epoch + 1, previous_owner=task.owner)
    return _admitted(admit, board, author.stamp(payload, now))


def renew(board: Board, author: Author, now: datetime) -> m.Envelope | None:
    """A lease.renew for every task the author holds, or None when it holds none."""
    held = [t.task_id for t in board.held_by(author.session_id)]
    return author.stamp(m.LeaseRenew(task_ids=held), now) if held else None


def block(
    board: Board,
    author: Author,
    task_id: str,
    now: datetime,
    *,
    on: Sequence[str] = (),
    description: str = "",
    required_capabilities: Sequence[str] = (),
    blocker_type: BlockerType = "dependency",
    urgency: Urgency = "medium",
    help_deadline: timedelta = DEFAULT_HELP_DEADLINE,
    max_helpers: int = 3,
) -> tuple[m.Envelope, ...]:
    """A blocker on tasks and/or a free-text one; with required capabilities, also a
    help.request (deadline ``now + help_deadline``)."""
    _task(board, task_id)
    for dep in on:
        _task(board, dep)
    if not on and not description and not required_capabilities:
        raise errors.CoordinationError("say what blocks you: tasks, a description or capabilities")
    payloads: list[m.Payload] = [
        m.Blocker(
            swarm_id=author.session_id,
            task_id=task_id,
            blocked_on=list(on),
            blocker_type=blocker_type if on or blocker_type != "dependency" else "technical",
            required_capabilities=list(required_capabilities),
            description=description,
            urgency=urgency,
            detected_at=now,
        )
    ]
    if required_capabilities:
        payloads.append(
            _help_payload(
                author,
                task_id,
                required_capabilities,
                description,
                urgency,
                now + help_deadline,
                max_helpers,
            )
        )
    return author.stamp_all(payloads, now)


def _help_payload(
    author: Author,
    task_id: str,
    required: Sequence[str],
    description: str,
    urgency: Urgency,
    deadline: datetime,
    max_helpers: int,
) -> m.HelpRequest:
    return m.HelpRequest(
        blocked_swarm_id=author.session_id,
        task_id=task_id,
        required_capabilities=list(required),
        description=description,
        urgency=urgency,
        max_helpers=max_helpers,
        deadline=deadline,
    )


def request_help(
    board: Board,
    author: Author,
    task_id: str,
    required_capabilities: Sequence[str],
    now: datetime,
    *,
    description: str = "",
    urgency: Urgency = "medium",
    deadline: timedelta = DEFAULT_HELP_DEADLINE,
    max_helpers: int = 3,
) -> m.Envelope:
    if not required_capabilities:
        raise errors.CoordinationError("a help request names the capabilities it needs")
    payload = _help_payload(
        author, task_id, required_capabilities, description, urgency, now + deadline, max_helpers
    )
    return author.stamp(payload, now)


def _request(board: Board, request_id: str) -> HelpRecord:
    request = board.help_requests.get(request_id)
    if request is None:
        raise errors.CoordinationError(f"no help request {request_id} on the board")
    return request


def offer_help(
    board: Board,
    author: Author,
    request_id: str,
    now: datetime,
    *,
    capabilities: Sequence[str] = (),
    estimated_cost: float = 0.0,
    message: str = "",
) -> m.Envelope:
    request = _request(board, request_id)
    if request.requester == author.session_id:
        raise errors.CoordinationError("a session cannot offer help to itself")
    payload = m.HelpOffer(
        request_id=request_id,
        task_id=request.task_id,
        helper_swarm_id=author.session_id,
        capabilities=list(capabilities),
        estimated_cost=estimated_cost,
        message=message,
    )
    return author.stamp(payload, now)


def escalate(
    board: Board, author: Author, request_id: str, now: datetime, *, reason: str = ""
) -> m.Envelope:
    request = _request(board, request_id)
    if request.requester != author.session_id:
        raise NotOwner(f"only {request.requester} escalates its own help request")
    payload = m.HelpEscalate(
        request_id=request_id,
        task_id=request.task_id,
        blocked_swarm_id=request.requester,
        reason=reason or "no helper answered before the deadline",
    )
    return author.stamp(payload, now)
