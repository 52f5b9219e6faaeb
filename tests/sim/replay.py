"""Replays one simulation scenario and prints its trace and the properties it broke.

    .venv/bin/python -m tests.sim.replay --seed 17 --nodes 4
    IFMESH_SIM_SEED=17 .venv/bin/python -m pytest tests/sim -k seeded   # the same, as a test

A failing test prints the exact command (every knob of its ScenarioConfig) for its scenario.
"""

from __future__ import annotations

import argparse
import sys
from datetime import timedelta

from tests.sim.checks import violations
from tests.sim.cluster import ScenarioConfig
from tests.sim.scenario import run


def command_for(config: ScenarioConfig) -> str:
    parts = [
        ".venv/bin/python -m tests.sim.replay",
        f"--seed {config.seed}",
        f"--nodes {config.nodes}",
        f"--steps {config.steps}",
        f"--tasks {config.tasks}",
        f"--skew-seconds {config.max_skew.total_seconds():g}",
        f"--drop {config.drop:g}",
        f"--duplicate {config.duplicate:g}",
    ]
    parts += [
        f"--no-{name}" for name in ("partitions", "crashes", "wipes") if not getattr(config, name)
    ]
    return " ".join(parts)


def parse(argv: list[str]) -> ScenarioConfig:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--nodes", type=int, default=4)
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--tasks", type=int, default=8)
    parser.add_argument("--skew-seconds", type=float, default=180)
    parser.add_argument("--drop", type=float, default=0.1)
    parser.add_argument("--duplicate", type=float, default=0.1)
    for name in ("partitions", "crashes", "wipes"):
        parser.add_argument(f"--no-{name}", action="store_true")
    parser.add_argument("--governed", action="store_true", help="fold IF.governor's part too")
    args = parser.parse_args(argv)
    return ScenarioConfig(
        seed=args.seed,
        nodes=args.nodes,
        steps=args.steps,
        tasks=args.tasks,
        max_skew=timedelta(seconds=args.skew_seconds),
        partitions=not args.no_partitions,
        crashes=not args.no_crashes,
        wipes=not args.no_wipes,
        drop=args.drop,
        duplicate=args.duplicate,
        governed=args.governed,
    )


def main(argv: list[str] | None = None) -> int:
    config = parse(sys.argv[1:] if argv is None else argv)
    cluster = run(config)
    for line in cluster.trace:
        print(line)
    problems = violations(cluster)
    print(f"--- {len(cluster.events)} events, {cluster.net.sent} frames sent")
    for problem in problems:
        print(f"VIOLATION: {problem}")
    print("all properties hold" if not problems else f"{len(problems)} violation(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
