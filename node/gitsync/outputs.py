"""What the bridge hands back: other sessions' events, verdicts on this node's claims, typed
errors, and the sync state ``ifmesh status`` shows (with the tally it is built from)."""

from __future__ import annotations

from dataclasses import dataclass, field

from ifmesh.node.board.formats.problems import ReadProblem
from ifmesh.node.gitsync.confirm import Verdict
from ifmesh.node.gitsync.errors import GitSyncError
from ifmesh.node.gitsync.reservation_ledger import ReservationVerdict
from ifmesh.node.protocol.messages import Envelope


@dataclass(frozen=True)
class Landed:
    """A push of this bridge that landed, with its objects for the next writer (compressed,
    node.gitsync.handoff; None when they would not fit in a hint)."""

    tip: str
    objects: bytes | None = None


@dataclass
class Outputs:
    events: list[Envelope] = field(default_factory=list)
    verdicts: list[Verdict] = field(default_factory=list)
    reservations: list[ReservationVerdict] = field(default_factory=list)  # on this node's records
    errors: list[GitSyncError] = field(default_factory=list)
    # Hints for the peers (node.gitsync.turns): tips this bridge landed, and whether it lost a
    # race since the last outputs (it waits for a turn the others may not give it yet).
    landed: list[Landed] = field(default_factory=list)
    waiting: bool = False
    # The keys pinned changed (node.identity): held mesh events and offers may now be judged.
    pins_changed: bool = False

    def __bool__(self) -> bool:
        return bool(
            self.events
            or self.verdicts
            or self.reservations
            or self.errors
            or self.landed
            or self.waiting
            or self.pins_changed
        )


@dataclass
class SyncTally:
    """What the bridge has done so far: kept by its fetches and pushes, shown by ``state()``."""

    last_error: GitSyncError | None = None
    last_push_at: float | None = None
    last_fetch_at: float | None = None
    pushes: int = 0
    lost_races: int = 0


@dataclass(frozen=True)
class SyncState:
    """What ``ifmesh status`` shows about git."""

    session: str
    branch: str
    remote_url: str
    head: str | None
    remote_head: str | None
    pending_commits: int
    last_error: str | None
    last_error_code: str | None
    last_push_at: float | None
    last_fetch_at: float | None
    pushes: int
    lost_races: int
    scribe: str | None
    stopped: bool
    # What the latest version of each STATUS file read could not fully say (file:line, why).
    read_problems: tuple[ReadProblem, ...] = ()
