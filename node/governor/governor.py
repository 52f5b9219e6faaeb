"""The :class:`Governor`: one policy, and the pure decisions the board's reducer asks for.

Everything here is a function of (state before the event, the event), with the event's own
timestamp as the time, so every node holding the same events decides alike. The board-facing
:class:`~node.board.governance.Governance` adapter wraps this with the board's task records;
this class knows tasks only as :class:`TaskDemand`.
"""

from __future__ import annotations

from datetime import datetime

from ifmesh.node.board.governance import ADMITTED, Admission
from ifmesh.node.governor import help as helping
from ifmesh.node.governor import reducer
from ifmesh.node.governor.admission import ClaimDecision
from ifmesh.node.governor.policy import DEFAULT_POLICY, Policy
from ifmesh.node.governor.state import GovernorState, TaskDemand
from ifmesh.node.protocol.messages import Envelope, HelpRequest


class Governor:
    def __init__(self, policy: Policy = DEFAULT_POLICY) -> None:
        self.policy = policy
        # The last claim decision: a claim is judged when the command is made, again when it
        # is folded, and the fold asks once more, each time on the same state.
        self._last: tuple[GovernorState, str, TaskDemand | None, ClaimDecision | None]
        self._last = (GovernorState(), "", None, None)

    @property
    def policy_hash(self) -> str:
        """What this node's claims carry (``task.claim.policy_hash``)."""
        return self.policy.hash

    def initial(self) -> GovernorState:
        return GovernorState()

    def admit(
        self, state: GovernorState, event: Envelope, demand: TaskDemand | None = None
    ) -> Admission:
        """The verdict on a task.claim or task.steal; any other event is admitted."""
        decision = self._decide(self.policy, state, event, demand)
        return ADMITTED if decision is None else decision.admission

    def fold(
        self, state: GovernorState, event: Envelope, demand: TaskDemand | None = None
    ) -> GovernorState:
        return reducer.fold(self.policy, state, event, demand, decide=self._decide)

    def _decide(
        self, policy: Policy, state: GovernorState, event: Envelope, demand: TaskDemand | None
    ) -> ClaimDecision | None:
        """:func:`reducer.claim_decision`, remembered for the last (state, event, demand): the
        state is immutable, so the same object with the same event decides alike."""
        last_state, last_id, last_demand, last_decision = self._last
        if state is last_state and event.id == last_id and demand == last_demand:
            return last_decision
        decision = reducer.claim_decision(policy, state, event, demand)
        self._last = (state, event.id, demand, decision)
        return decision

    def route_help(
        self, state: GovernorState, request: Envelope, demand: TaskDemand | None = None
    ) -> tuple[str, ...]:
        """The helpers chosen for a help.request (empty: escalate at once)."""
        if not isinstance(request.payload, HelpRequest):
            raise TypeError(f"route_help needs a help.request, not {request.type}")
        assignment = helping.assign_helpers(
            self.policy,
            state,
            request.payload,
            request_id=request.id,
            now=request.timestamp.timestamp(),
            demand=demand,
        )
        return assignment.helpers

    def escalations_due(
        self, state: GovernorState, now: datetime, requester: str | None = None
    ) -> tuple[helping.EscalationDue, ...]:
        return helping.escalations_due(state, now.timestamp(), requester)

    def next_deadline(self, state: GovernorState, requester: str | None = None) -> float | None:
        """Epoch seconds at which to call :meth:`escalations_due` next (the runtime's timer)."""
        return helping.next_deadline(state, requester)
