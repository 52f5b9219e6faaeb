"""The governor's typed errors: a policy file that cannot be used, and refusals as exceptions.

:class:`InvalidPolicyFile` names the key path and the line of every problem, so a person can
go straight to it. :func:`refusal_error` turns an :class:`~node.board.governance.Admission`
refusal into the matching :mod:`ifmesh.node.errors` class at the edge (CLI, control API).
"""

from __future__ import annotations

from dataclasses import dataclass

from ifmesh.node import errors
from ifmesh.node.board.governance import Admission


@dataclass(frozen=True)
class PolicyProblem:
    """One thing wrong with a policy file.

    ``key_path`` is dotted (``resource_policy.max_cost_per_task``); ``line`` is 1-based, None
    when the file as a whole is at fault.
    """

    key_path: str
    line: int | None
    message: str

    def describe(self, file: str = "") -> str:
        where = ":".join(part for part in (file, str(self.line) if self.line else "") if part)
        key = f"{self.key_path}: " if self.key_path else ""
        return f"{where}: {key}{self.message}" if where else f"{key}{self.message}"


class InvalidPolicyFile(errors.InvalidPolicy):
    """A policy YAML that does not validate; ``problems`` lists all of them, first one first."""

    def __init__(self, problems: tuple[PolicyProblem, ...], *, file: str = "") -> None:
        if not problems:
            raise ValueError("InvalidPolicyFile needs at least one problem")
        self.problems = problems
        self.file = file
        first = problems[0]
        self.key_path = first.key_path
        self.line = first.line
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        super().__init__(first.describe(file) + more)


def refusal_error(admission: Admission) -> errors.CoordinationError:
    """The typed error for a refused admission (the CLI's and control API's view of it)."""
    if admission.admitted:
        raise ValueError("an admitted Admission is not an error")
    if admission.code == errors.CircuitOpen.code:
        return errors.CircuitOpen(admission.reason, retry_after=admission.retry_after or 0.0)
    if admission.code == errors.BudgetExhausted.code:
        return errors.BudgetExhausted(admission.reason)
    return errors.PolicyDenied(admission.reason)
