"""Claim queues and request-release on the command line: `ifmesh unqueue`, `ifmesh
ask-release`, `ifmesh keep` (`ifmesh claim --queue` and `ifmesh wait --until mine|asked` are
options of the session's own commands), and how their answers and queues are printed.

Thin, like :mod:`ifmesh.node.cli.session`: parse, call the control API, print. Works on the
JSON documents the node returns.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping
from typing import Any, TypeAlias

Subparsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"
Command = Callable[
    [Subparsers, str, str, Callable[[argparse.Namespace], Any]], argparse.ArgumentParser
]
URGENCIES = ("low", "medium", "high", "critical")


def register(commands: Subparsers, command: Command) -> None:
    """Adds the commands; ``command`` is the session's command factory (client options,
    the call and its printer)."""
    unqueue = command(
        commands,
        "unqueue",
        "leave a task's claim queue",
        lambda a: ("unqueue", {"task": a.task}, say_unqueued),
    )
    unqueue.add_argument("task")
    ask = command(
        commands,
        "ask-release",
        "ask the holder of a task to release it; unanswered within the policy's grace"
        " (10 min by default), the task goes STALE and its queue's first waiter takes it",
        lambda a: ("ask-release", {"task": a.task, "reason": a.reason}, say_asked),
    )
    ask.add_argument("task")
    ask.add_argument("--reason", required=True, help="why you need it (the holder reads this)")
    keep = command(
        commands,
        "keep",
        "answer an ask-release on a task you hold: keep it (your lease is restored)",
        lambda a: ("keep", {"task": a.task, "reason": a.reason}, say_kept),
    )
    keep.add_argument("task")
    keep.add_argument("--reason", required=True, help="why you keep it (the asker reads this)")


def add_claim_options(claim: argparse.ArgumentParser) -> None:
    claim.add_argument(
        "--queue",
        action="store_true",
        help="if someone else holds the task (or has the turn), join its claim queue: exit 0,"
        " then `ifmesh wait TASK --until mine`; a free task is simply claimed",
    )
    claim.add_argument(
        "--urgency", choices=URGENCIES, default="medium", help="your place in the queue (--queue)"
    )


# --- printing -----------------------------------------------------------------------------


def say_queued(result: Mapping[str, Any]) -> str:
    task = result["task"]
    again = "already " if result.get("already_queued") else ""
    behind = f"{result['holder']} holds it" if result.get("holder") else f"{result['turn']}'s turn"
    return (
        f"{again}queued for {task}: position {result['position']} of {result['queue_length']}"
        f" ({result['urgency']}); {behind}. `ifmesh wait {task} --until mine` returns when it"
        " is yours"
    )


def say_unqueued(result: Mapping[str, Any]) -> str:
    return f"left {result['task']}'s claim queue"


def say_asked(result: Mapping[str, Any]) -> str:
    task = result["task"]
    return (
        f"asked {result['holder']} to release {task}: it has until {result['grace_until']} to"
        f" release or keep it, then {task} goes STALE (queue for it: `ifmesh claim {task}"
        " --queue`)"
    )


def say_kept(result: Mapping[str, Any]) -> str:
    asker = f"; {result['asked_by']} is told" if result.get("asked_by") else ""
    return f"kept {result['task']}: your lease is restored{asker}"


def say_wait(result: Mapping[str, Any]) -> str:
    """``wait --until mine`` and ``--until asked``."""
    task = result["task"]
    ask = task.get("ask")
    if result["until"] == "asked" and ask is not None:
        return (
            f"{ask['asker']} asks you to release {task['id']}: {ask['reason']}. Answer by"
            f" {ask['grace_until']} with `ifmesh release {task['id']}` or `ifmesh keep"
            f" {task['id']} --reason …`"
        )
    return f"{task['id']} is yours (epoch {task['epoch']}): {task['title']}"


def render_queue_lines(document: Mapping[str, Any]) -> list[str]:
    """Each task's claim queue (waiters in order) and open ask-release, for ``ifmesh board``."""
    lines = []
    for task in document["tasks"]:
        if task.get("queue"):
            waiters = ", ".join(
                f"{w['session']} ({w['urgency']}, rank {w['rank']:g})" for w in task["queue"]
            )
            turn = f"; {task['queue_turn']}'s turn to claim" if task.get("queue_turn") else ""
            lines.append(f"queue {task['id']}: {waiters}{turn}")
        if task.get("ask"):
            ask = task["ask"]
            lines.append(
                f"asked: {ask['asker']} asks {task['owner']} to release {task['id']} (until"
                f" {ask['grace_until']}): {ask['reason']}"
            )
    return lines


def render_queued(queued: list[Mapping[str, Any]]) -> list[str]:
    """The queues this session waits in (``ifmesh status``, ``ifmesh next``)."""
    lines = []
    for q in queued:
        behind = f"held by {q['holder']}" if q["holder"] else f"{q['turn'] or 'nobody'}'s turn"
        lines.append(
            f"queued: {q['task']} position {q['position']} of {q['queue_length']}"
            f" ({q['urgency']}), {behind}"
        )
    return lines


def render_asks(status: Mapping[str, Any]) -> list[str]:
    """Asks on the tasks this session holds, and those it made (``ifmesh status``)."""
    lines = [
        f"asked: {a['asker']} asks you to release {a['task']} (answer by {a['grace_until']}"
        f" with `ifmesh release` or `ifmesh keep`): {a['reason']}"
        for a in status.get("asked", ())
    ]
    lines += [
        f"asking: {a['holder']} to release {a['task']} (grace until {a['grace_until']})"
        for a in status.get("asking", ())
    ]
    return lines + render_queued(status.get("queued", []))
