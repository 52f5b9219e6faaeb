"""Admission decision latency of IF.governor with 100 swarms and 1,000 tasks.

Target (governor issue): admission decision p99 under 1 ms. The state is realistic and busy:
100 registered swarms (3–6 capabilities each from a pool of 30), 1,000 tasks, 500 of them
claimed (so the ledger holds 500 reservations), 50 open help requests, a few tripped
breakers. Each sample is one ``Governor.admit`` of a claim by a random swarm for a random
task, timed alone with perf_counter_ns. Also reported, for reading the figure: fold (admit +
reserve) and help routing (ranking all 100 swarms) latencies, measured the same way.
Run: .venv/bin/python benchmarks/governor.py
"""

from __future__ import annotations

import json
import os
import random
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ifmesh.node.governor.governor import Governor
from ifmesh.node.governor.matching import match_score
from ifmesh.node.governor.policy_file import parse_policy
from ifmesh.node.governor.state import GovernorState, TaskDemand
from ifmesh.node.protocol import messages as m

SWARMS, TASKS, CLAIMED, HELP = 100, 1_000, 500, 50
SAMPLES = 5_000
TARGET_P99_MS = 1.0
T0 = datetime(2025, 11, 12, 14, 0, tzinfo=UTC)
POLICY = parse_policy(
    """
resource_policy:
  max_cost_per_task: 60
  min_capability_match: 0.5
  max_swarms_per_task: 3
  task_types:
    docs: {max_cost_per_task: 20}
"""
)


class Clock:
    lamport = 0

    def message(self, payload: m.Payload, source: str, minutes: float) -> m.Envelope:
        self.lamport += 1
        return m.make_message(
            payload, source=source, timestamp=T0 + timedelta(minutes=minutes), lamport=self.lamport
        )


def build(rng: random.Random) -> tuple[Governor, GovernorState, list[str], list[TaskDemand]]:
    governor = Governor(POLICY)
    clock = Clock()
    pool = [f"{c}:{n}" for c in ("protocol", "docs", "test", "lang", "media") for n in "abcdef"]
    swarms = [f"session-{i}-bench" for i in range(SWARMS)]
    state = governor.initial()
    for swarm in swarms:
        register = m.SwarmRegister(
            swarm_id=swarm,
            capabilities=rng.sample(pool, rng.randint(3, 6)),
            cost_per_hour=round(rng.uniform(0.5, 6.0), 2),
            reputation_score=round(rng.uniform(0.3, 1.0), 2),
            budget=10_000.0,
        )
        state = governor.fold(state, clock.message(register, swarm, 0))
    tasks = [
        TaskDemand(
            f"T{i}",
            rng.choice(["general", "docs", "protocol"]),
            frozenset(rng.sample(pool, rng.randint(1, 3))),
            rng.choice([0.5, 1.0, 2.0, 3.0]),
        )
        for i in range(TASKS)
    ]
    claimed = 0
    for task in tasks:
        if claimed == CLAIMED:
            break
        swarm = fitting_swarm(rng, governor, state, swarms, task)
        claim = m.TaskClaim(task_id=task.task_id, epoch=0, swarm_id=swarm, timestamp=T0)
        event = clock.message(claim, swarm, 1)
        if governor.admit(state, event, task).admitted:
            state = governor.fold(state, event, task)
            claimed += 1
    for i in range(HELP):
        task, swarm = tasks[i], rng.choice(swarms)
        request = m.HelpRequest(
            blocked_swarm_id=swarm,
            task_id=task.task_id,
            required_capabilities=sorted(task.required_capabilities),
            deadline=T0 + timedelta(hours=1),
        )
        state = governor.fold(state, clock.message(request, swarm, 2), task)
    for swarm in swarms[:5]:  # a few swarms with failures on record, one tripped
        for j in range(3 if swarm == swarms[0] else 1):
            tid = f"F{swarm}{j}"
            demand = TaskDemand(tid, "general", frozenset(), 0.5)
            claim = m.TaskClaim(task_id=tid, epoch=0, swarm_id=swarm, timestamp=T0)
            state = governor.fold(state, clock.message(claim, swarm, 3), demand)
            fail = m.TaskFail(task_id=tid, epoch=0, reason="bench")
            state = governor.fold(state, clock.message(fail, swarm, 4), demand)
    return governor, state, swarms, tasks


def fitting_swarm(
    rng: random.Random,
    governor: Governor,
    state: GovernorState,
    swarms: list[str],
    task: TaskDemand,
) -> str:
    """A random swarm whose capabilities fit ``task`` (a random one if none does)."""
    limit = governor.policy.limits(task.task_type).min_capability_match
    fitting = [
        s
        for s in swarms
        if match_score(task.required_capabilities, state.profiles[s].capabilities) >= limit
    ]
    return rng.choice(fitting or swarms)


def percentiles(samples_ns: list[int]) -> dict[str, float]:
    ordered = sorted(samples_ns)

    def at(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] / 1e6

    return {
        "p50_ms": round(at(0.50), 4),
        "p99_ms": round(at(0.99), 4),
        "max_ms": round(ordered[-1] / 1e6, 4),
        "mean_ms": round(statistics.fmean(ordered) / 1e6, 4),
    }


def timed(operations: list[Callable[[], object]]) -> list[int]:
    samples = []
    for operation in operations:
        start = time.perf_counter_ns()
        operation()
        samples.append(time.perf_counter_ns() - start)
    return samples


def main() -> None:
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    rng = random.Random(8)
    started = time.perf_counter()
    governor, state, swarms, tasks = build(rng)
    build_s = time.perf_counter() - started
    clock = Clock()
    clock.lamport = 10_000
    claims = []
    for i in range(SAMPLES):
        task = rng.choice(tasks)
        # Half by a fitting swarm (they go through every check), half by anyone.
        swarm = fitting_swarm(rng, governor, state, swarms, task) if i % 2 else rng.choice(swarms)
        payload = m.TaskClaim(task_id=task.task_id, epoch=0, swarm_id=swarm, timestamp=T0)
        claims.append((clock.message(payload, swarm, 10), task))
    requests = []
    for _ in range(SAMPLES // 5):
        swarm, task = rng.choice(swarms), rng.choice(tasks)
        payload = m.HelpRequest(
            blocked_swarm_id=swarm,
            task_id=task.task_id,
            required_capabilities=sorted(task.required_capabilities),
            deadline=T0 + timedelta(hours=1),
        )
        requests.append((clock.message(payload, swarm, 10), task))

    timed([lambda e=e, t=t: governor.admit(state, e, t) for e, t in claims[:500]])  # warm-up
    admit = timed([lambda e=e, t=t: governor.admit(state, e, t) for e, t in claims])
    verdicts = [governor.admit(state, e, t) for e, t in claims]
    fold = timed([lambda e=e, t=t: governor.fold(state, e, t) for e, t in claims[: SAMPLES // 5]])
    route = timed([lambda e=e, t=t: governor.route_help(state, e, t) for e, t in requests])

    admitted = sum(v.admitted for v in verdicts)
    codes: dict[str, int] = {}
    for verdict in verdicts:
        if not verdict.admitted:
            codes[verdict.code] = codes.get(verdict.code, 0) + 1
    figures: dict[str, object] = {
        "swarms": SWARMS,
        "tasks": TASKS,
        "reservations": len(state.ledger.reservations),
        "open_help_requests": len(state.help),
        "breakers_on_record": len(state.breakers),
        "samples": SAMPLES,
        "build_state_s": round(build_s, 3),
        "admitted": admitted,
        "refused_by_code": codes,
        **{f"admit.{k}": v for k, v in percentiles(admit).items()},
        **{f"fold_claim.{k}": v for k, v in percentiles(fold).items()},
        **{f"route_help.{k}": v for k, v in percentiles(route).items()},
    }
    p99 = percentiles(admit)["p99_ms"]
    checks = [
        {
            "name": "admission decision p99 (100 swarms, 1,000 tasks)",
            "value": p99,
            "unit": "ms",
            "op": "<=",
            "target": TARGET_P99_MS,
            "met": p99 <= TARGET_P99_MS,
        }
    ]
    print(
        f"admit p50 {figures['admit.p50_ms']} ms, p99 {p99} ms; "
        f"fold p99 {figures['fold_claim.p99_ms']} ms; route_help p99 "
        f"{figures['route_help.p99_ms']} ms ({admitted}/{SAMPLES} admitted)"
    )
    print(json.dumps({"benchmark": "governor", "figures": figures, "checks": checks}))


if __name__ == "__main__":
    main()
