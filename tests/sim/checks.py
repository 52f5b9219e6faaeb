"""The properties every scenario must keep, checked on the final cluster.

Each check returns the violations it found (empty: the property holds), so a failing seed
reports everything wrong with it at once.
"""

from __future__ import annotations

from ifmesh.node.board.canonical import canonical_bytes
from ifmesh.node.board.effects import Effect, Fenced, Lost, Rejected, Unblocked
from ifmesh.node.board.log import EventLog, order_key
from ifmesh.node.board.state import Board, TaskStatus
from ifmesh.node.protocol import messages as m
from tests.sim.cluster import Cluster


def boards_identical(cluster: Cluster) -> list[str]:
    encodings = {n.name: canonical_bytes(n.replica.board) for n in cluster.nodes.values()}
    if len(set(encodings.values())) == 1:
        return []
    first = next(iter(encodings.values()))
    differ = sorted(name for name, data in encodings.items() if data != first)
    return [f"boards differ after quiescence: {differ} vs the first node"]


def nothing_accepted_is_lost(cluster: Cluster) -> list[str]:
    problems = []
    for node in cluster.nodes.values():
        held = {e.id for e in node.replica.log}
        missing = [i for i, holders in cluster.holders.items() if holders and i not in held]
        if missing:
            problems.append(f"{node.name} lacks {len(missing)} accepted events, e.g. {missing[0]}")
    return problems


Step = tuple[m.Envelope, Board, list[Effect]]
_REPLAYS: dict[int, tuple[Cluster, list[Step]]] = {}


def _replay(cluster: Cluster) -> list[Step]:
    """Folds the (converged) log one event at a time: (event, board before, its effects)."""
    cached = _REPLAYS.get(id(cluster))
    if cached is not None and cached[0] is cluster:
        return cached[1]
    any_node = next(iter(cluster.nodes.values()))
    log = EventLog(cluster.board, cluster.board_config, cluster.governance)
    steps = []
    for event in sorted(any_node.replica.log, key=order_key):
        before = log.board
        steps.append((event, before, list(log.add(event).effects)))
    _REPLAYS.clear()
    _REPLAYS[id(cluster)] = (cluster, steps)
    return steps


def single_confirmed_holder(cluster: Cluster) -> list[str]:
    problems = []
    holders: dict[tuple[str, int], set[str]] = {}
    for event, _, _ in _replay(cluster):
        if isinstance(event.payload, m.TaskConfirmed | m.ClaimLost):
            key = (event.payload.task_id, event.payload.epoch)
            holders.setdefault(key, set()).add(event.payload.winner)
    for key, winners in sorted(holders.items()):
        if len(winners) > 1:
            problems.append(f"{key} has confirmed holders {sorted(winners)}")
        if cluster.git.records.get(key) not in winners:
            problems.append(f"{key}: verdict {sorted(winners)} disagrees with git")
    board = next(iter(cluster.nodes.values())).replica.board
    for task in board.tasks.values():
        if task.confirmed and task.held:
            recorded = cluster.git.records.get((task.task_id, task.epoch))
            if recorded != task.owner:
                problems.append(f"{task.task_id} confirmed for {task.owner}; git says {recorded}")
    return problems


def fenced_owners_make_no_progress(cluster: Cluster) -> list[str]:
    problems = []
    fenced: set[tuple[str, str, int]] = set()
    for event, before, effects in _replay(cluster):
        p = event.payload
        if isinstance(p, m.TaskProgress | m.TaskComplete):
            refused = any(isinstance(e, Rejected) and e.cause == event.id for e in effects)
            key = (p.task_id, event.source, p.epoch)
            if not refused:
                task = before.tasks[p.task_id]
                if key in fenced:
                    problems.append(f"progress from fenced {key} accepted")
                if task.owner != event.source or task.epoch != p.epoch or not task.held:
                    problems.append(f"progress {key} accepted from a non-holder")
        for effect in effects:
            if isinstance(effect, Fenced):
                fenced.add((effect.task_id, effect.session or "", effect.epoch - 1))
            elif (
                isinstance(effect, Lost) and effect.tier == "git"
            ):  # the mesh tier can be overruled
                fenced.add((effect.task_id, effect.session or "", effect.epoch))
    return problems


def waiters_are_woken(cluster: Cluster) -> list[str]:
    problems = []
    for _, _, effects in _replay(cluster):
        for effect in effects:
            if isinstance(effect, Unblocked):
                node = cluster.nodes[effect.session or ""]
                if effect not in node.told:
                    problems.append(f"{effect.session} never told {effect.task_id} is unblocked")
    board = next(iter(cluster.nodes.values())).replica.board
    for key, blocker in board.blockers.items():
        done = [t for t in blocker.waiting if board.tasks[t].status is TaskStatus.COMPLETED]
        if done:
            problems.append(f"{key} still waits on completed {done}")
    return problems


ALL = (
    boards_identical,
    nothing_accepted_is_lost,
    single_confirmed_holder,
    fenced_owners_make_no_progress,
    waiters_are_woken,
)


def violations(cluster: Cluster) -> list[str]:
    return [problem for check in ALL for problem in check(cluster)]
