"""Takeovers as a node knows them: the room's setting, and a task taken over for a session.

The rules (who may steal what, when) are :class:`ifmesh.node.board.replica.Replica`'s; see
docs/claims.md, "Leases, staleness and takeovers".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Takeover = Literal["offer", "auto", "never"]
"""The room's ``resource_policy.takeover`` (the governor's policy; the board never imports it)."""


@dataclass(frozen=True, slots=True)
class TakenOver:
    """A task this session holds because it was taken over from ``previous_owner``."""

    task_id: str
    epoch: int
    previous_owner: str
    confirmed: bool
