"""An operator's answer to an ask-release, given by the holder's node on its behalf.

In the fold only a task's holder answers an ask-release (``task.release``, ``task.keep``), and
the fold knows no roles (they are the signaling roster's, a presence view). So an operator's
answer is not folded as the operator sent it: every node lets it pass
(:mod:`ifmesh.node.mesh.roles`), and the node of the session that holds the task gives the
answer as its own event, which every node folds and git keeps. The holder's agent is told on
the node's event stream, as for any event of its own (docs/dashboard.md, "What an operator may
do"). Only an answer to a pending ask, naming the holder's current epoch, is given: an operator
cannot take a task away from a session that nobody asked. In a signed room the answer reaches
here only signed by an operator key this node pins (:mod:`ifmesh.node.mesh.roles`); a keep's
reason then names that key, so git keeps which operator key answered.
"""

from __future__ import annotations

from datetime import datetime

from ifmesh.node.board.replica import Replica
from ifmesh.node.identity.keys import parse_public_key
from ifmesh.node.mesh.errors import AnswerRefused
from ifmesh.node.protocol import messages as m
from ifmesh.node.protocol.fields import Ed25519Signature

__all__ = ["answer"]

_REASON_ROOM = 3_900  # a keep's reason is at most 4,096 characters, with the operator's name


def answer(
    replica: Replica, operator: str, message: m.Envelope, now: datetime
) -> tuple[tuple[m.Envelope, ...], AnswerRefused | None]:
    """The events that give ``operator``'s answer (none when this session does not hold the
    task: its holder's node answers), or why this node will not give it."""
    payload = message.payload
    if not isinstance(payload, m.TaskRelease | m.TaskKeep):
        return (), AnswerRefused(f"{message.type} is no answer to an ask-release")
    task = replica.board.tasks.get(payload.task_id)
    me = replica.session_id
    if task is None or not task.held or task.owner != me:
        return (), None
    if payload.epoch != task.epoch:
        return (), AnswerRefused(
            f"the answer names epoch {payload.epoch}; {me} holds {payload.task_id} at epoch"
            f" {task.epoch}"
        )
    if task.ask is None:
        return (), AnswerRefused(
            f"nobody asked {me} to release {payload.task_id}: an operator answers an"
            " ask-release, it does not take tasks away"
        )
    if isinstance(payload, m.TaskKeep):
        reason = f"{payload.reason[:_REASON_ROOM]} (answered by operator {operator}{_key(message)})"
        return replica.queues.keep(payload.task_id, reason, now), None
    return replica.release(payload.task_id, now), None


def _key(message: m.Envelope) -> str:
    """``, key 1a2b3c4d5e6f`` for an answer signed by a key (its short name, as `ifmesh status`
    shows keys); nothing for an unsigned one (a room under the migration switch)."""
    signature = message.signature
    key = (
        parse_public_key(signature.public_key) if isinstance(signature, Ed25519Signature) else None
    )
    return f", key {key.short}" if key is not None else ""
