"""docs/claims.md is the contract of `ifmesh claim`: every error code a claim can end with must
be in its table, so the document fails the build the day the code grows a new answer."""

from __future__ import annotations

import inspect
from pathlib import Path

from ifmesh.node import errors
from ifmesh.node.board import errors as board_errors

DOC = Path(__file__).resolve().parents[2] / "docs" / "claims.md"


def _claim_codes() -> set[str]:
    """The codes a claim can be answered with: every conflict, epoch and governor refusal the
    code defines, the undecided timeout, open dependencies and an unknown task."""
    answers = (errors.ClaimConflict, errors.StaleEpoch, errors.PolicyDenied)
    codes = {errors.ClaimUndecided.code, board_errors.DependenciesNotCompleted.code}
    codes.add(board_errors.UnknownTask.code)
    for module in (errors, board_errors):
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, answers) and cls is not errors.ClaimConflict:
                codes.add(cls.code)
    return codes


def test_every_claim_answer_is_in_the_table() -> None:
    table = DOC.read_text(encoding="utf-8").split("## How a claim is decided")[0]
    missing = sorted(code for code in _claim_codes() if f"`{code}`" not in table)
    assert not missing, f"docs/claims.md lacks {missing}"
