"""IF.governor behind the board's seam: :class:`BoardGovernance` implements
:class:`ifmesh.node.board.governance.Governance` over the board's :class:`~node.board.state.Board`.

The only translation is the task: the board's record (type, required capabilities, estimate)
becomes a :class:`TaskDemand`; where the board has no estimate, the claim's own
``metadata.estimate_hours`` (or the policy default) is used. The governor's part of the board
(``board.governor``) is a :class:`GovernorState`; the board's reducer folds it only for the
events the board accepted, always with the board as it was before the event.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ifmesh.node.board.governance import Admission, Governance
from ifmesh.node.board.state import Board, TaskStatus
from ifmesh.node.governor.governor import Governor
from ifmesh.node.governor.policy import DEFAULT_POLICY, Policy
from ifmesh.node.governor.reducer import demand_for
from ifmesh.node.governor.state import GovernorState, TaskDemand
from ifmesh.node.protocol.messages import Envelope


def task_demand(board: Board, event: Envelope) -> TaskDemand | None:
    """What the board knows of the task ``event`` names (None: not a task event, or unknown)."""
    task_id = getattr(event.payload, "task_id", None)
    if not isinstance(task_id, str):
        return None
    task = board.tasks.get(task_id)
    if task is None:
        return None
    estimate = task.estimate_hours
    if estimate is None:
        estimate = demand_for(event, None).estimate_hours
    return TaskDemand(
        task_id=task_id,
        task_type=task.task_type,
        required_capabilities=frozenset(task.required_capabilities),
        estimate_hours=estimate,
        completed=task.status is TaskStatus.COMPLETED,
    )


class BoardGovernance:
    """The governor the runtime hands to the board's replica (``governance=``)."""

    def __init__(self, policy: Policy = DEFAULT_POLICY) -> None:
        self.governor = Governor(policy)

    @property
    def policy(self) -> Policy:
        return self.governor.policy

    def initial(self) -> GovernorState:
        return self.governor.initial()

    def admit(self, part: Any, board: Any, event: Envelope) -> Admission:
        return self.governor.admit(_part(part), event, task_demand(board, event))

    def fold(self, part: Any, board: Any, event: Envelope) -> GovernorState:
        return self.governor.fold(_part(part), event, task_demand(board, event))

    def route_help(self, part: Any, board: Any, request: Envelope) -> tuple[str, ...]:
        return self.governor.route_help(_part(part), request, task_demand(board, request))


def _part(part: Any) -> GovernorState:
    # A board built before a governor was wired carries None (or the permissive governor's
    # None): start from an empty part rather than fail.
    if part is None:
        return GovernorState()
    if not isinstance(part, GovernorState):
        raise TypeError(f"board.governor holds {type(part).__name__}, not GovernorState")
    return part


if TYPE_CHECKING:
    _conforms: Governance = BoardGovernance()  # mypy checks the protocol is met
