"""How one bridge is configured: which remote and branch, which session, which cadences.

Durations are seconds. The defaults are the issue's: events within 200 ms share a commit, a
STATUS refresh at most every 15 minutes, a fetch every 30 s, seed sessions' own branches
found by the glob ``claude/*``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from ifmesh.node.protocol.fields import SessionId

Seconds = Annotated[float, Field(gt=0)]


class BridgeConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    session: SessionId
    remote_url: str = Field(min_length=1)
    branch: str = Field(min_length=1)
    state_dir: Path
    incarnation: str = Field(min_length=1, max_length=128)
    create_branch: bool = False
    seed_branch_glob: str | None = "claude/*"
    batch_window: Seconds = 0.2
    status_refresh_interval: Seconds = 900.0
    fetch_interval: Seconds = 30.0
    # Pushes: ``push_backoff_*`` space the retries of a push that lost a race while no other
    # writer is known, and of an unreachable remote. On a branch other writers push to as
    # well, the writers take turns (node.gitsync.turns): a writer belongs to the ring while it
    # landed a commit within ``push_ring_window``; ``push_turn_unit`` is the least time one
    # writer's turn is given (the measured fetch-rebuild-push when longer).
    push_backoff_base: Seconds = 0.05
    push_backoff_cap: Seconds = 0.5
    push_turn_unit: Seconds = 0.05
    push_ring_window: Seconds = 10.0
    # A STATUS is fresh (its session may be the scribe) this long after its timestamp.
    status_freshness: Seconds = 1800.0
    # The board shows a claim as STALE when its owner's last event is older than this.
    lease: Seconds = 900.0
    # Sessions without a node renew their lease through STATUS refreshes at most this often.
    seed_renew_interval: Seconds = 300.0

    @property
    def clone_dir(self) -> Path:
        return self.state_dir / "git"
