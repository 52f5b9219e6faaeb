"""The budget table: each swarm's budget, spend, reservations and what is left, at a time.

A library function for the CLI and the control API (``ifmesh governor budget`` against a
running node comes with the runtime). Figures are the ledger's, so every node prints the same.
"""

from __future__ import annotations

from dataclasses import dataclass

from ifmesh.node.governor.ledger import dollars, micros, period_index
from ifmesh.node.governor.policy import Policy
from ifmesh.node.governor.state import GovernorState


@dataclass(frozen=True)
class BudgetRow:
    swarm_id: str
    budget: float
    spent: float  # this period
    reserved: float
    remaining: float
    committed_ratio: float  # (spent + reserved) / budget
    warning: bool  # at or above the policy's forecast ratio (default 80 %)


def budget_rows(policy: Policy, state: GovernorState, now: float) -> list[BudgetRow]:
    period = period_index(now, policy.budget_period)
    rows = []
    for swarm_id, profile in sorted(state.profiles.items()):
        budget = micros(profile.budget)
        spent = state.ledger.spent_in(swarm_id, period)
        reserved = state.ledger.reserved_by_swarm.get(swarm_id, 0)
        ratio = (spent + reserved) / budget if budget else (1.0 if spent + reserved else 0.0)
        rows.append(
            BudgetRow(
                swarm_id=swarm_id,
                budget=dollars(budget),
                spent=dollars(spent),
                reserved=dollars(reserved),
                remaining=dollars(budget - spent - reserved),
                committed_ratio=ratio,
                warning=ratio >= policy.budget_warning_ratio,
            )
        )
    return rows


def render_budget(policy: Policy, state: GovernorState, now: float) -> str:
    """A fixed-width table; ``!`` marks swarms past the forecast warning ratio."""
    header = (
        f"{'swarm':<24} {'budget':>9} {'spent':>9} {'reserved':>9} {'remaining':>10} {'used':>6}"
    )
    lines = [header, "-" * len(header)]
    for row in budget_rows(policy, state, now):
        mark = " !" if row.warning else ""
        lines.append(
            f"{row.swarm_id:<24} {row.budget:>9.2f} {row.spent:>9.2f} {row.reserved:>9.2f} "
            f"{row.remaining:>10.2f} {row.committed_ratio:>6.0%}{mark}"
        )
    return "\n".join(lines) + "\n"
