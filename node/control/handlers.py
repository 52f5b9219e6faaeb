"""The control API's commands and queries: each a thin call into the running node.

A command judges against this node's board at the time of the request and returns at once
with what it emitted, or raises the board's typed refusal (nothing is sent then). The waits
(``claim --confirmed``, ``wait``) return the instant the board says so: they sleep on the
node's change notification, never on a timer loop.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Awaitable, Callable
from datetime import timedelta
from functools import partial
from typing import Any

from ifmesh.node import errors
from ifmesh.node.board import commands
from ifmesh.node.board.errors import AlreadyClaimed
from ifmesh.node.board.state import Task, TaskStatus
from ifmesh.node.claims.rules import confirmed_holder
from ifmesh.node.control import queueing, reserving, waits
from ifmesh.node.control.running import RunningNode, read_problems
from ifmesh.node.control.views import (
    board_document,
    event_summary,
    fold_document,
    next_document,
    peer_document,
    problem_document,
    refusal_document,
    taken_over_document,
)
from ifmesh.node.governor.budget_table import budget_rows
from ifmesh.node.governor.matching import match_score
from ifmesh.node.protocol.messages import BreakerReset, Envelope, SwarmRegister, TaskSteal

Handler = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]


def _seconds(body: dict[str, Any], key: str, default: float) -> float:
    value = body.get(key)
    return default if value in (None, "") else float(value)


class Handlers:
    def __init__(self, node: RunningNode) -> None:
        self.node = node

    def commands(self) -> dict[str, Handler]:
        return {
            "claim": self.claim,
            "progress": self.progress,
            "complete": self.complete,
            "fail": self.fail,
            "release": self.release,
            "block": self.block,
            "help": self.help,
            "offer": self.offer,
            "wait": self.wait,
            "register": self.register,
            "reset-breaker": self.reset_breaker,
            "unqueue": partial(queueing.unqueue, self.node),
            "ask-release": partial(queueing.ask_release, self.node),
            "keep": partial(queueing.keep, self.node),
            "reserve": partial(reserving.reserve, self.node),
            "unreserve": partial(reserving.unreserve, self.node),
            "check-paths": partial(reserving.check_paths, self.node),
            "end-session": partial(reserving.end_session, self.node),
        }

    def queries(self) -> dict[str, Handler]:
        return {
            "board": self.board,
            "peers": self.peers,
            "status": self.status,
            "next": self.next,
            "budget": self.budget,
            "check-paths": partial(reserving.check_paths, self.node),
        }

    # --- helpers -----------------------------------------------------------------------------

    async def _emitted(self, events: tuple[Envelope, ...]) -> dict[str, Any]:
        await self.node.publish_now(events)
        return {"events": [event_summary(e) for e in events]}

    def _task(self, task_id: str) -> Task:
        task = self.node.board.task(task_id)
        if task is None:
            raise errors.CoordinationError(f"no task {task_id} on the board")
        return task

    def _help_deadline(self, task_id: str) -> timedelta:
        """How long a help request waits for an offer: the policy's escalation deadline."""
        limits = self.node.policy.limits(self._task(task_id).task_type)
        return timedelta(seconds=limits.escalation_deadline)

    async def _until(self, predicate: Callable[[], Any], timeout: float | None) -> Any:
        """Waits for ``predicate()`` to be truthy, woken by every board change."""
        async with asyncio.timeout(timeout):
            while not (result := predicate()):
                await self.node.changed.wait()
            return result

    # --- commands ----------------------------------------------------------------------------

    async def claim(self, body: dict[str, Any]) -> dict[str, Any]:
        """A claim, answered once it is decided (``won`` only for the winner; a loser gets
        ``claim_lost``), or at once with ``provisional``. See docs/claims.md."""
        if (queued := await queueing.queue_instead(self.node, body)) is not None:
            return queued  # --queue on a task that is not this session's to take now
        replica, now, task_id = self.node.replica_or_fail(), self.node.now(), body["task"]
        try:
            events = replica.claim(
                task_id, now, force=bool(body.get("force")), policy_hash=self.node.policy.hash
            )
        except AlreadyClaimed as exc:
            if exc.owner != self.node.session:
                raise
            task = self._task(task_id)  # already yours: go on working
            by = "git" if task.confirmed else None
            return {"task": task_id, "epoch": task.epoch, "won": True, "already_yours": True,
                    "provisional": not task.confirmed, "decided_by": by, "events": []}  # fmt: skip
        # Folded, published and routed in this one step, before anything else is received.
        pending = self.node.claims.begin(events)
        payload = events[0].payload  # a claim, or the steal of a task taken over (epoch + 1)
        epoch = payload.epoch  # type: ignore[attr-defined]
        result: dict[str, Any] = {"events": [event_summary(e) for e in events], "task": task_id,
                                  "epoch": epoch, "provisional": True}  # fmt: skip
        if isinstance(payload, TaskSteal):
            result["taken_over_from"] = payload.previous_owner
        timeout = _seconds(body, "timeout", 60)
        if body.get("provisional"):
            self.node.background(self.node.claims.settle(pending, timeout))
            return result
        started = asyncio.get_running_loop().time()
        verdict = await self.node.claims.settle(pending, timeout)
        if verdict.won is None:
            await self._undecided(task_id, epoch, timeout)
        if not verdict.won:
            raise errors.ClaimLost(task_id, epoch, verdict.winner, decided_by=verdict.decided_by)
        result |= {"won": True, "provisional": False, "confirmed": verdict.decided_by == "git",
                   "decided_by": verdict.decided_by}  # fmt: skip
        if verdict.why_git:
            result["why_git"] = verdict.why_git
        if body.get("confirmed") and not result["confirmed"]:
            left = timeout - (asyncio.get_running_loop().time() - started)
            try:
                result |= await self._until(lambda: self._decided(task_id, epoch), max(0.0, left))
            except TimeoutError:
                await self._undecided(task_id, epoch, timeout)
        return result

    def _decided(self, task_id: str, epoch: int) -> dict[str, Any] | None:
        """Git's verdict on this session's claim (``claim --confirmed``): the first confirm
        record per (task, epoch) in the branch's first-parent history. None while undecided."""
        task = self._task(task_id)
        winner = confirmed_holder(self.node.board, (task_id, epoch))
        if winner is not None:
            if winner != self.node.session:
                raise errors.ClaimLost(task_id, epoch, winner, decided_by="git")
            return {"won": True, "provisional": False, "confirmed": True}
        if task.epoch > epoch:  # released, stolen or withdrawn since: this claim is over
            raise errors.ClaimLost(task_id, epoch, None)
        return None

    async def _undecided(self, task_id: str, epoch: int, timeout: float) -> None:
        """No decision in time: the claim is withdrawn (it cannot win later), and the agent
        told so."""
        if withdrawn := self.node.claims.withdrawal((task_id, epoch), self.node.now()):
            await self.node.publish_now(withdrawn)
        raise errors.ClaimUndecided(
            f"{task_id} epoch {epoch} was not decided within {timeout:g}s, so the claim is"
            " withdrawn (it cannot win later); see `ifmesh status` for git's last error,"
            " then claim again"
        )

    async def progress(self, body: dict[str, Any]) -> dict[str, Any]:
        events = self.node.replica_or_fail().progress(
            body["task"], int(body["percent"]), self.node.now(), milestone=body.get("milestone", "")
        )
        return await self._emitted(events)

    async def complete(self, body: dict[str, Any]) -> dict[str, Any]:
        events = self.node.replica_or_fail().complete(
            body["task"],
            self.node.now(),
            deliverable=body.get("deliverable", ""),
            tests_pass=bool(body.get("tests_pass", True)),
        )
        return await self._emitted(events)

    async def fail(self, body: dict[str, Any]) -> dict[str, Any]:
        replica = self.node.replica_or_fail()
        return await self._emitted(replica.fail(body["task"], body["reason"], self.node.now()))

    async def release(self, body: dict[str, Any]) -> dict[str, Any]:
        return await self._emitted(
            self.node.replica_or_fail().release(body["task"], self.node.now())
        )

    async def block(self, body: dict[str, Any]) -> dict[str, Any]:
        events = self.node.replica_or_fail().block(
            body["task"],
            self.node.now(),
            on=list(body.get("on", [])),
            description=body.get("reason", ""),
            required_capabilities=list(body.get("need", [])),
            urgency=body.get("urgency", "medium"),
            help_deadline=self._help_deadline(body["task"]),
        )
        return await self._emitted(events)

    async def help(self, body: dict[str, Any]) -> dict[str, Any]:
        replica, now = self.node.replica_or_fail(), self.node.now()
        event = commands.request_help(
            replica.log.view(),
            replica.author,
            body["task"],
            list(body.get("need", [])),
            now,
            description=body.get("description", ""),
            urgency=body.get("urgency", "medium"),
            deadline=self._help_deadline(body["task"]),
            max_helpers=int(body.get("max_helpers", 3)),
        )
        result = await self._emitted(replica.emit([event]))
        request = self.node.board.help_requests.get(event.id)
        result["request_id"] = event.id
        result["helpers"] = list(request.helpers) if request else []
        return result

    async def offer(self, body: dict[str, Any]) -> dict[str, Any]:
        events = self.node.replica_or_fail().offer_help(
            body["request"],
            self.node.now(),
            capabilities=list(body.get("capabilities", self.node.config.capabilities)),
            message=body.get("message", ""),
        )
        return await self._emitted(events)

    async def wait(self, body: dict[str, Any]) -> dict[str, Any]:
        """Returns the instant ``task`` is completed, unblocked, assigned, this session's
        (``mine``), or asked to be released (``asked``): see :mod:`ifmesh.node.control.waits`."""
        return await waits.wait(self.node, body)

    async def register(self, body: dict[str, Any]) -> dict[str, Any]:
        config = self.node.config
        payload = SwarmRegister(
            swarm_id=body.get("swarm") or self.node.session,
            capabilities=list(body.get("capabilities") or config.capabilities),
            cost_per_hour=float(body.get("cost_per_hour", config.cost_per_hour)),
            reputation_score=float(body.get("reputation", 0.5)),
            budget=float(body.get("budget", config.budget)),
            model=body.get("model") or config.model,
        )
        return await self._emitted(self.node.replica_or_fail().publish(payload, self.node.now()))

    async def reset_breaker(self, body: dict[str, Any]) -> dict[str, Any]:
        payload = BreakerReset(
            swarm_id=body["swarm"],
            task_type=body.get("task_type") or None,
            reason=body.get("reason", "operator reset"),
        )
        return await self._emitted(self.node.replica_or_fail().publish(payload, self.node.now()))

    # --- queries -----------------------------------------------------------------------------

    async def board(self, query: dict[str, Any]) -> dict[str, Any]:
        lease = timedelta(seconds=self.node.config.lease_seconds)
        refusals = self.node.replica_or_fail().refusals
        document = board_document(
            self.node.board,
            self.node.now(),
            lease,
            self.node.presence,
            read_problems(self.node),
            list(refusals),
        )
        # Sessions whose unsigned events the migration switch lets in (docs/security.md).
        document["unsigned_sessions"] = self.node.identity_status().get("unsigned_sessions", [])
        return document

    async def peers(self, query: dict[str, Any]) -> dict[str, Any]:
        mesh = self.node.mesh
        metrics = mesh.metrics() if mesh is not None else {}
        return {
            "session": self.node.session,
            "signaling_joined": self.node.signaling_joined,
            "peers": [
                peer_document(peer, self.node.presence.get(peer, "unknown"), metric)
                for peer, metric in sorted(metrics.items())
            ],
        }

    async def status(self, query: dict[str, Any]) -> dict[str, Any]:
        git = self.node.git.state() if self.node.git is not None else None
        replica = self.node.replica_or_fail()
        held = [t.task_id for t in self.node.board.held_by(self.node.session)]
        peers = await self.peers(query)
        return {
            "session": self.node.session,
            "incarnation": self.node.incarnation,
            "room": self.node.config.room,
            "seq": replica.author.seq,
            "lamport": replica.author.lamport,
            "holding": held,
            "taken_over": [taken_over_document(t) for t in replica.taken_over()],
            "policy": {"hash": self.node.policy.hash, "source": self.node.policy_source},
            "mesh": {
                "signaling_joined": self.node.signaling_joined,
                "peers_up": sorted(self.node.mesh.peers_up) if self.node.mesh else [],
                "peers": peers["peers"],
            },
            "git": {
                "branch": git.branch if git else None,
                "head": git.head if git else None,
                "pending_commits": git.pending_commits if git else 0,
                "last_error": git.last_error if git else None,
                "pushes": git.pushes if git else 0,
                "scribe": git.scribe if git else None,
                "recent_errors": self.node.last_git_errors,
            },
            "fatal": self.node.fatal,
            "fold": fold_document(replica.log),
            "read_problems": [problem_document(p) for p in read_problems(self.node)],
            "refusals": {
                "recent": [refusal_document(r) for r in replica.refusals],
                "by_code": dict(sorted(replica.refusal_counts.items())),
            },
            # Keys, pins, and events refused before the fold (bad or missing signatures).
            "identity": self.node.identity_status(),
            "completed_without_claim": sorted(
                t.task_id for t in self.node.board.tasks.values() if t.completed_without_claim
            ),
        } | queueing.status_part(self.node)

    async def next(self, query: dict[str, Any]) -> dict[str, Any]:
        """The best tasks for this session's capabilities, as the governor ranks: first the
        stale tasks of absent sessions it may take over (not under ``takeover: never``), then
        the available ones, those whose claim-queue turn is this session's first and those
        whose turn is another's left out; and the queues this session waits in."""
        now, mine = self.node.now(), frozenset(self.node.config.capabilities)
        offers, me = self.node.replica_or_fail().takeover_offers(now), self.node.session
        turns = queueing.turns(self.node, now)
        available = [t for t in self.node.board.tasks.values() if t.status is TaskStatus.AVAILABLE]
        available = [t for t in available if turns.get(t.task_id, me) == me]
        ranked = []
        for task, offered in [(t, True) for t in offers] + [(t, False) for t in available]:
            match = match_score(frozenset(task.required_capabilities), mine)
            if match >= self.node.policy.limits(task.task_type).min_capability_match:
                waits_turn = task.task_id not in turns  # a queue turn of this session's first
                rank = (not offered, waits_turn, -match, task.kind.value != "primary", task.task_id)
                ranked.append((rank, task, offered))
        ranked.sort(key=lambda item: item[0])
        lease = timedelta(seconds=self.node.config.lease_seconds)
        tasks = [next_document(t, now, lease, offered) for _, t, offered in ranked[:5]]
        return {"tasks": tasks, "queued": queueing.queued(self.node, now)}

    async def budget(self, query: dict[str, Any]) -> dict[str, Any]:
        state = self.node.board.governor
        rows = budget_rows(self.node.policy, state, self.node.now().timestamp()) if state else []
        return {
            "policy_hash": self.node.policy.hash,
            "swarms": [dataclasses.asdict(row) for row in rows],
        }
