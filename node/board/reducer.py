"""The reducer: one event, folded into the board, in the total order (lamport, source, seq).

Every handler first *judges* the event against the board as it is (unknown task, stale epoch,
not the owner, lease not expired, the governor's admission…) without touching anything, then
returns what to *commit*. A refused event is a no-op on every node alike and becomes a
:class:`~node.board.effects.Rejected` (or :class:`~node.board.effects.Lost`) effect. Between
judging and committing, the governor folds its own part (registrations, reservations,
breakers) with the board before the event — the one place it does (:func:`apply`).

Time here is only ever the event's own ``timestamp``. Status changes go through the lifecycle
table; blockers, help and dependency cascades live in :mod:`ifmesh.node.board.waiting`.
"""

from __future__ import annotations

from ifmesh.node.board import queue_fold, queues, reservation_fold, roster, waiting
from ifmesh.node.board.effects import Confirmed, Effect, Fenced, Lost, Unqueued
from ifmesh.node.board.fold import FoldState
from ifmesh.node.board.governance import Governance
from ifmesh.node.board.judgement import REFUSED, Handler, Outcome, Refused, refuse
from ifmesh.node.board.lifecycle import FREED, Trigger, next_status, settle
from ifmesh.node.board.state import (
    SEED_INCARNATION_PREFIX,
    BoardConfig,
    Task,
    TaskStatus,
    evolve,
    lease_expired,
)
from ifmesh.node.protocol import messages as m
from ifmesh.node.protocol.fields import format_timestamp


def apply(
    state: FoldState,
    event: m.Envelope,
    config: BoardConfig,
    governance: Governance,
    folds: bool = True,
) -> list[Effect]:
    """Folds ``event`` into ``state`` (mutated in place) and returns its effects.

    ``folds=False`` skips the governor's fold (for a governance whose fold is the identity)."""
    if event.type not in m.EVENT_TYPES:  # a generic message (the origin's) is not an event
        return []
    effects: list[Effect] = []
    handler = HANDLERS.get(event.type)
    outcome = handler(state, event, config, governance, effects) if handler else None
    if outcome is not REFUSED:
        # The governor sees exactly the events the board accepted, before they change it.
        if folds:
            state.governor = governance.fold(state.governor, state.view(), event)
        if callable(outcome):
            outcome()
    roster.touch(state, event.source, event.timestamp)
    state.folded += 1
    return effects


def _lookup(
    state: FoldState, event: m.Envelope, task_id: str, effects: list[Effect]
) -> Task | Refused:
    task = state.tasks.get(task_id)
    if task is None:
        return refuse(effects, event, task_id, "unknown_task", f"no task {task_id} on the board")
    return task


def _admit(
    state: FoldState, event: m.Envelope, governance: Governance, task_id: str, effects: list[Effect]
) -> Refused | None:
    admission = governance.admit(state.governor, state.view(), event)
    if admission.admitted:
        return None
    return refuse(effects, event, task_id, admission.code or "policy_denied", admission.reason)


def _take(
    state: FoldState,
    event: m.Envelope,
    task: Task,
    owner: str,
    epoch: int,
    config: BoardConfig,
    fx: list[Effect],
) -> None:
    """``owner`` now holds ``task`` at ``epoch``, provisionally, starting from scratch; it
    leaves the task's claim queue (see :mod:`ifmesh.node.board.queues`)."""
    at = event.timestamp
    changes, lapsed = queues.on_take(task, owner, at, config.lease)
    why = f"your turn to claim {task.task_id} lapsed unclaimed"
    fx.extend(Unqueued(event.id, session, task.task_id, why) for session in lapsed)
    state.put_task(
        evolve(
            task,
            **changes,
            status=TaskStatus.CLAIMED,
            owner=owner,
            epoch=epoch,
            confirmed=False,
            percent=0,
            milestone="",
            claimed_at=at,
            owner_last_event_at=at,
            tests_pass=None,
        )
    )
    roster.set_current(state, owner, task.task_id)


def _claim(
    state: FoldState, event: m.Envelope, config: BoardConfig, gov: Governance, fx: list[Effect]
) -> Outcome:
    p = event.payload
    assert isinstance(p, m.TaskClaim)
    task = _lookup(state, event, p.task_id, fx)
    if isinstance(task, Refused):
        return task
    source = event.source
    if task.held and task.owner == source and task.epoch == p.epoch:
        return None  # already ours at this epoch (the git verdict may have come first)
    if task.status is TaskStatus.COMPLETED:
        return refuse(fx, event, p.task_id, "claim_conflict", f"{p.task_id} is COMPLETED")
    if task.held:
        assert task.owner is not None
        if task.owner == source:  # its own claim from another epoch: nothing was lost
            return refuse(fx, event, p.task_id, "stale_epoch", f"already held at {task.epoch}")
        fx.append(Lost(event.id, source, p.task_id, p.epoch, task.owner, "mesh"))
        return REFUSED
    if p.epoch != task.epoch:
        return refuse(
            fx, event, p.task_id, "stale_epoch", f"claim names epoch {p.epoch}; it is {task.epoch}"
        )
    turn = queues.refused_for(task, source, event.timestamp, config.lease)
    if turn is not None and p.metadata.get("force") is not True:
        return _not_first(fx, event, p.task_id, turn)
    if p.metadata.get("force") is not True and not state.dependencies_done(task):
        missing = [d for d in task.dependencies if not _completed(state, d)]
        missing += [repr(task.manual_dependency)] if task.manual_dependency else []
        return refuse(
            fx,
            event,
            p.task_id,
            "dependencies_not_completed",
            f"{p.task_id} waits on {', '.join(missing)}",
        )
    if _admit(state, event, gov, p.task_id, fx) is REFUSED:
        return REFUSED
    return lambda: _take(state, event, task, source, p.epoch, config, fx)


def _not_first(fx: list[Effect], event: m.Envelope, task_id: str, turn: str) -> Refused:
    reason = f"{task_id} has a claim queue and it is {turn}'s turn"
    return refuse(fx, event, task_id, "not_queue_head", reason)


def _completed(state: FoldState, task_id: str) -> bool:
    task = state.tasks.get(task_id)
    return task is not None and task.status is TaskStatus.COMPLETED


def _steal(
    state: FoldState, event: m.Envelope, config: BoardConfig, gov: Governance, fx: list[Effect]
) -> Outcome:
    p = event.payload
    assert isinstance(p, m.TaskSteal)
    task = _lookup(state, event, p.task_id, fx)
    if isinstance(task, Refused):
        return task
    source, at = event.source, event.timestamp
    if task.held and task.owner == source and task.epoch == p.epoch:
        return None
    if not task.held or task.owner is None:
        return refuse(fx, event, p.task_id, "not_held", f"nobody holds {p.task_id}; claim it")
    if task.owner == source:
        return refuse(fx, event, p.task_id, "stale_epoch", f"already held at {task.epoch}")
    if task.epoch + 1 != p.epoch or task.owner != p.previous_owner:
        fx.append(Lost(event.id, source, p.task_id, p.epoch, task.owner, "mesh"))
        return REFUSED
    if not lease_expired(task, at, config.lease):
        last = task.owner_last_event_at
        return refuse(
            fx,
            event,
            p.task_id,
            "lease_not_expired",
            f"{task.owner}'s last event ({last and format_timestamp(last)}) is within the"
            f" lease of {config.lease} at {format_timestamp(at)}",
        )
    turn = queues.refused_for(task, source, at, config.lease)
    if turn is not None:
        return _not_first(fx, event, p.task_id, turn)
    if _admit(state, event, gov, p.task_id, fx) is REFUSED:
        return REFUSED
    previous = task.owner

    def commit() -> None:
        _take(state, event, task, source, p.epoch, config, fx)
        waiting.drop_tenure(state, previous, p.task_id)
        fx.append(Fenced(event.id, previous, p.task_id, p.epoch, source))

    return commit


_HOLDER_TRIGGERS: dict[str, Trigger] = {
    "task.progress": Trigger.PROGRESS,
    "task.complete": Trigger.COMPLETE,
    "task.fail": Trigger.FAIL,
    "task.release": Trigger.RELEASE,
}


def _claimless(task: Task, event: m.Envelope) -> bool:
    """A session without a node reports a task completed that nobody holds."""
    return (
        event.incarnation.startswith(SEED_INCARNATION_PREFIX)
        and not task.held
        and task.status is not TaskStatus.COMPLETED
    )


def _complete_without_claim(
    state: FoldState, task: Task, event: m.Envelope, p: m.TaskComplete, fx: list[Effect]
) -> Outcome:
    def commit() -> None:
        done = evolve(
            task,
            status=TaskStatus.COMPLETED,
            owner=event.source,
            percent=100,
            milestone="Complete",
            tests_pass=p.tests_pass,
            deliverable=p.deliverable or task.deliverable,
            completed_without_claim=True,
            owner_last_event_at=event.timestamp,
        )
        state.put_task(done)
        waiting.cascade(state, p.task_id, event, fx)

    return commit


def _holder(
    state: FoldState, event: m.Envelope, config: BoardConfig, gov: Governance, fx: list[Effect]
) -> Outcome:
    """progress / complete / fail / release: only the holder, only at the current epoch."""
    p = event.payload
    assert isinstance(p, (m.TaskProgress, m.TaskComplete, m.TaskFail, m.TaskRelease))
    trigger = _HOLDER_TRIGGERS[event.type]
    task = _lookup(state, event, p.task_id, fx)
    if isinstance(task, Refused):
        return task
    if isinstance(p, m.TaskComplete) and _claimless(task, event):
        return _complete_without_claim(state, task, event, p, fx)
    if p.epoch != task.epoch:
        return refuse(
            fx,
            event,
            p.task_id,
            "stale_epoch",
            f"{event.type} carries epoch {p.epoch}; {p.task_id} is at epoch {task.epoch}"
            f" (held by {task.owner or 'nobody'})",
        )
    if task.owner != event.source:
        return refuse(
            fx,
            event,
            p.task_id,
            "not_owner",
            f"{p.task_id} is held by {task.owner or 'nobody'}, not {event.source}",
        )
    status = next_status(task.status, task.held, trigger)
    if status is None:
        return refuse(
            fx, event, p.task_id, "invalid_transition", f"{p.task_id} is {task.status.value}"
        )
    source = event.source

    def commit() -> None:
        if isinstance(p, m.TaskProgress):
            # The owner's event time rides along, so touch() need not copy the task again.
            last = task.owner_last_event_at
            seen = event.timestamp if last is None or event.timestamp > last else last
            state.put_task(
                evolve(
                    task,
                    status=status,
                    percent=p.percent,
                    milestone=p.milestone,
                    owner_last_event_at=seen,
                )
            )
        elif isinstance(p, m.TaskComplete):
            done = evolve(
                task,
                status=status,
                percent=100,
                milestone=task.milestone if task.percent == 100 else "Complete",
                tests_pass=p.tests_pass,
                deliverable=p.deliverable or task.deliverable,
                queue=(),
                turn_since=None,
                ask=None,
            )
            state.put_task(done)
            why = f"{p.task_id} was completed by {source}"
            fx.extend(Unqueued(event.id, w.session_id, p.task_id, why) for w in task.queue)
            waiting.drop_tenure(state, source, p.task_id)
            waiting.cascade(state, p.task_id, event, fx)
        elif trigger in FREED:
            freed = evolve(
                task,
                status=settle(state.dependencies_done(task)),
                owner=None,
                epoch=task.epoch + 1,
                confirmed=False,
                percent=0,
                milestone="",
                claimed_at=None,
                owner_last_event_at=None,
                tests_pass=None,
            )
            state.put_task(queues.on_free(freed, event.timestamp)[0])
            waiting.drop_tenure(state, source, p.task_id)

    return commit


def _verdict(
    state: FoldState, event: m.Envelope, config: BoardConfig, gov: Governance, fx: list[Effect]
) -> Outcome:
    """The git tier's word (task.confirmed, claim.lost): the first confirm record per task and
    epoch names the holder, and overrules the mesh."""
    p = event.payload
    assert isinstance(p, (m.TaskConfirmed, m.ClaimLost))
    task = _lookup(state, event, p.task_id, fx)
    if isinstance(task, Refused):
        return task
    winner = p.winner
    loser = event.source if isinstance(p, m.ClaimLost) and event.source != winner else None
    if loser is not None:
        fx.append(Lost(event.id, loser, p.task_id, p.epoch, winner, "git"))
    if p.epoch < task.epoch:
        return refuse(fx, event, p.task_id, "stale_epoch", f"verdict for old epoch {p.epoch}")
    same = task.owner == winner and task.epoch == p.epoch
    if task.status is TaskStatus.COMPLETED:
        if not same:
            return refuse(fx, event, p.task_id, "claim_conflict", f"{p.task_id} is COMPLETED")
        return None if task.confirmed else lambda: state.put_task(evolve(task, confirmed=True))
    if same and task.held:
        if task.confirmed:
            return None

        def confirm() -> None:
            state.put_task(evolve(task, confirmed=True))
            fx.append(Confirmed(event.id, winner, p.task_id, p.epoch))

        return confirm
    previous = task.owner if task.held else None

    def overrule() -> None:
        _take(state, event, task, winner, p.epoch, config, fx)
        state.put_task(evolve(state.tasks[p.task_id], confirmed=True))
        if previous is not None and previous != winner:
            waiting.drop_tenure(state, previous, p.task_id)
            if task.epoch < p.epoch:
                # Git confirmed a steal the fold had refused: the holder kept renewing out of
                # reach (a partition), so its renewals sort before the steal. Its tenure ended
                # all the same: it is fenced, as by a steal the fold admits (and the taker,
                # told of it before the confirmation, hears that the task is assigned to it).
                fx.append(Fenced(event.id, previous, p.task_id, p.epoch, winner))
            elif previous != loser:
                fx.append(Lost(event.id, previous, p.task_id, p.epoch, winner, "git"))
        fx.append(Confirmed(event.id, winner, p.task_id, p.epoch))

    return overrule


HANDLERS: dict[str, Handler] = {
    "task.claim": _claim,
    "task.steal": _steal,
    "task.progress": _holder,
    "task.complete": _holder,
    "task.fail": _holder,
    "task.release": _holder,
    "task.confirmed": _verdict,
    "claim.lost": _verdict,
    **waiting.HANDLERS,
    **queue_fold.HANDLERS,
    **reservation_fold.HANDLERS,
}
