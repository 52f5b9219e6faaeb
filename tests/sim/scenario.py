"""One seeded scenario: a random walk of commands and trouble, then heal and quiescence.

``run(ScenarioConfig(seed=…))`` returns the cluster in its final state; :mod:`tests.sim.checks`
judges it. ``python -m tests.sim.replay SEED`` replays one seed with its trace.
"""

from __future__ import annotations

from datetime import timedelta

from ifmesh.node.board.state import TaskStatus
from ifmesh.node.errors import CoordinationError
from ifmesh.node.protocol import messages as m
from tests.sim.cluster import CAPABILITIES, Cluster, ScenarioConfig, SimNode


def _session_step(cluster: Cluster, node: SimNode) -> None:
    rng, replica = cluster.rng, node.replica
    now, board, me = node.now(cluster.world), replica.log.view(), node.name
    held = board.held_by(me)
    roll = rng.random()
    try:
        if held:
            task = held[0]
            if roll < 0.35 and task.percent < 75:
                cluster.emitted(node, replica.progress(task.task_id, task.percent + 25, now))
            elif roll < 0.65:
                cluster.emitted(node, replica.complete(task.task_id, now))
            elif roll < 0.70:
                cluster.emitted(node, replica.release(task.task_id, now))
            elif roll < 0.75:
                cluster.emitted(node, replica.fail(task.task_id, "tests fail", now))
            elif roll < 0.85:
                open_tasks = [
                    t
                    for t, x in sorted(board.tasks.items())
                    if x.status is not TaskStatus.COMPLETED and t != task.task_id
                ]
                if open_tasks:
                    on = [rng.choice(open_tasks)]
                    caps = [rng.choice(CAPABILITIES)] if rng.random() < 0.5 else []
                    cluster.emitted(
                        node,
                        replica.block(
                            task.task_id,
                            now,
                            on=on,
                            required_capabilities=caps,
                            help_deadline=timedelta(minutes=1),
                        ),
                    )
            return
        free = [t for t, x in sorted(board.tasks.items()) if x.status is TaskStatus.AVAILABLE]
        if roll < 0.7 and free:
            target = rng.choice(free)
            racers = [node] + [n for n in cluster.up() if n is not node and rng.random() < 0.3]
            for racer in racers:  # claims made at the same instant on different nodes
                try:
                    cluster.emitted(racer, racer.replica.claim(target, racer.now(cluster.world)))
                except CoordinationError as exc:
                    cluster.log(f"{racer.name} refused: {exc}")
        elif roll < 0.85:
            waiting = [t for t, x in sorted(board.tasks.items()) if x.status is TaskStatus.BLOCKED]
            filler = [
                t
                for t, x in sorted(board.tasks.items())
                if t.startswith("F") and x.status is TaskStatus.AVAILABLE
            ]
            if waiting and filler:
                target = rng.choice(filler)
                cluster.emitted(node, replica.claim(target, now))
                cluster.emitted(node, replica.block(target, now, on=[rng.choice(waiting)]))
        else:
            asks = [
                r
                for r, x in sorted(board.help_requests.items())
                if me in x.helpers and all(o.helper != me for o in x.offers)
            ]
            if asks:
                cluster.emitted(node, replica.offer_help(rng.choice(asks), now))
    except CoordinationError as exc:
        cluster.log(f"{me} refused: {exc}")


def _trouble(cluster: Cluster, roll: float) -> bool:
    config, rng, net = cluster.config, cluster.rng, cluster.net
    names = sorted(cluster.nodes)
    if config.partitions and roll < 0.05 and not net.links.groups:
        groups = {name: rng.randint(0, 1) for name in names}
        net.partition(groups)
        cluster.log(f"partition {groups}")
        return True
    if roll < 0.10 and net.links.groups:
        net.heal(cluster.world)
        cluster.log("heal")
        return True
    if config.crashes and roll < 0.14 and len(cluster.up()) > 2:
        node = rng.choice(cluster.up())
        node.up = False
        net.crash(node.name)
        cluster.log(f"crash {node.name}")
        return True
    down = [n for n in cluster.nodes.values() if not n.up]
    if roll < 0.20 and down:
        restart(cluster, rng.choice(down))
        return True
    return False


def restart(cluster: Cluster, node: SimNode) -> None:
    """Restarts ``node`` as a new incarnation: from its state directory, or — when the whole
    room is reachable — from an empty one, catching up from its peers before it emits."""
    everyone_up = all(n.up for n in cluster.nodes.values() if n is not node)
    wipe = cluster.config.wipes and everyone_up and not cluster.net.links.groups
    wipe = wipe and cluster.rng.random() < 0.5
    old = node.replica
    node.restarts += 1
    node.replica = cluster._replica(node.name, node.restarts)
    node.up = True
    cluster.net.restart(node.name)
    if wipe:
        for held in cluster.holders.values():
            held.discard(node.name)
        sources = [p.replica.log for p in cluster.up() if p is not node]
    else:
        sources = [old.log]
    for source in sources:
        for event in source:
            if node.replica.receive(event):
                cluster._note(node, event)
    node.replica.resume()
    cluster._drain(node)
    for peer in cluster.up():
        if peer is not node:
            cluster.anti_entropy(peer, node)
            cluster.anti_entropy(node, peer)
    cluster.log(f"restart {node.name} ({'empty state' if wipe else 'state kept'})")


def run(config: ScenarioConfig) -> Cluster:
    cluster = Cluster(config)
    for node in cluster.nodes.values():
        register = m.SwarmRegister(
            swarm_id=node.name,
            capabilities=sorted(cluster.rng.sample(CAPABILITIES, 2)),
            cost_per_hour=1.0,
            budget=100.0,
        )
        cluster.emitted(node, node.replica.publish(register, node.now(cluster.world)))
    for _ in range(config.steps):
        roll = cluster.rng.random()
        if not _trouble(cluster, roll) and cluster.up():
            _session_step(cluster, cluster.rng.choice(cluster.up()))
        long_pause = cluster.rng.random() < 0.08
        cluster.advance(
            cluster.rng.uniform(60, 200) if long_pause else cluster.rng.uniform(0.05, 15)
        )
        cluster.timers()
    quiesce(cluster)
    return cluster


def quiesce(cluster: Cluster) -> None:
    """Heal, restart everyone, stop dropping, and exchange until nothing moves."""
    cluster.log("--- heal and quiesce ---")
    cluster.net.heal(cluster.world)
    cluster.net.drop = 0.0
    for node in sorted(cluster.nodes.values(), key=lambda n: n.name):
        if not node.up:
            restart(cluster, node)
    cluster.presence()
    for _ in range(50):
        before = len(cluster.events)
        for a in cluster.up():
            for b in cluster.up():
                if a is not b:
                    cluster.anti_entropy(a, b)
        while not cluster.net.idle:
            nxt = cluster.net.next_delivery()
            if nxt is None:
                break
            cluster.world = max(cluster.world, nxt)
            cluster.deliver()
        cluster.world += timedelta(seconds=3)
        cluster.timers(steal=False)
        settled = len(cluster.events) == before and not cluster.git.pending
        if settled and cluster.net.idle:
            return
    raise AssertionError("the cluster did not quiesce in 50 rounds")
