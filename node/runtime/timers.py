"""The node's one timer task: it sleeps until the replica's next deadline and lets it act.

What time makes happen — a lease renewal, an escalation, a steal, the end of a claim's contest
window — is decided by the replica (``get_timer``/``handle_timer``, the aioquic shape); this
task is where those deadlines meet the clock. It wakes at the deadline or when the board
changes, publishes what the replica emitted, and hands each claim whose contest window ended to
git for its confirm record. The node wires it up (:mod:`ifmesh.node.runtime.node`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from ifmesh.node.board.replica import Replica
from ifmesh.node.protocol.messages import Envelope

IDLE_RECHECK = timedelta(seconds=1)


async def run_timers(
    board: Callable[[], Replica],
    wake: asyncio.Event,
    *,
    clock: Callable[[], datetime],
    publish: Callable[[Sequence[Envelope]], None],
    confirm: Callable[[str, int], None],
    take_turns: Callable[[datetime], bool] = lambda now: False,
) -> None:
    """Runs until cancelled. ``wake`` is set on every board change; ``publish`` takes the
    events the replica emitted, ``confirm(task, epoch)`` a claim that is ready for git, and
    ``take_turns(now)`` claims the tasks whose queue turn is this session's. ``board()`` is
    asked for the replica at every wake: it folds what the mesh acked first
    (node.runtime.arrivals), so no deadline is judged on a board without it."""
    loop = asyncio.get_running_loop()
    idle_deadline: datetime | None = None
    due = board().get_timer()
    while True:
        wake.clear()
        if due is not None and due == idle_deadline:
            # The replica had nothing to do at this deadline last time (a steal refused,
            # say): wait for the board to change, or re-check a little later, rather than
            # spin on a deadline in the past.
            due = clock() + IDLE_RECHECK
        if due is None or (delay := (due - clock()).total_seconds()) > 0:
            # A board change sets wake; so does the deadline (a timer handle, not a
            # wait_for: this runs on every message).
            alarm = None if due is None else loop.call_later(delay, wake.set)
            try:
                await wake.wait()
            finally:
                if alarm is not None:
                    alarm.cancel()
        now = clock()
        replica = board()
        due = replica.get_timer()
        if due is None or due > now:
            continue  # woken by a board change, with nothing due yet: just re-arm
        emitted = replica.handle_timer(now)
        if emitted:
            publish(emitted)
        turns = take_turns(now)  # claim-queue turns that are this session's: it claims them
        confirmations = replica.take_confirmations(now)
        for task_id, epoch in confirmations:
            confirm(task_id, epoch)
        idle_deadline = None if emitted or confirmations or turns else due
        due = replica.get_timer()
