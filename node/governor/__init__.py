"""IF.governor: who may take what. Sans-IO, folded by the board's reducer, alike on every node.

Start with :class:`BoardGovernance` (what the runtime hands the board) or :class:`Governor`
(the same decisions over plain :class:`TaskDemand` records), and :func:`load_policy` for
``.ifmesh/policy.yaml``.
"""

from ifmesh.node.governor.board_governance import BoardGovernance
from ifmesh.node.governor.budget_table import budget_rows, render_budget
from ifmesh.node.governor.errors import InvalidPolicyFile, PolicyProblem, refusal_error
from ifmesh.node.governor.governor import Governor
from ifmesh.node.governor.policy import DEFAULT_POLICY, Limits, Policy
from ifmesh.node.governor.policy_file import load_policy, parse_policy
from ifmesh.node.governor.state import GovernorState, TaskDemand

__all__ = [
    "DEFAULT_POLICY",
    "BoardGovernance",
    "Governor",
    "GovernorState",
    "InvalidPolicyFile",
    "Limits",
    "Policy",
    "PolicyProblem",
    "TaskDemand",
    "budget_rows",
    "load_policy",
    "parse_policy",
    "refusal_error",
    "render_budget",
]
