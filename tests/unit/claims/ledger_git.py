"""Git reduced to what decides path reservations: each session's STATUS ``reserved:`` list,
one commit per write, folded by the real :class:`ReservationLedger`. It stands in for a node's
git bridge (the decider's ``node.git``) in the unit tests of the decider and of the control
commands, which run without one."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from types import MappingProxyType

from ifmesh.node.board.formats.reserved import RESERVED, ReservedEntry, entry_document
from ifmesh.node.board.formats.status import StatusFile
from ifmesh.node.gitsync.reservation_ledger import ReservationLedger, ReservationVerdict

LANDED_AT = datetime(2025, 11, 12, 14, 0, tzinfo=UTC)
Read = Callable[[list[ReservationVerdict]], None]


class LedgerGit:
    def __init__(self, session: str = "s1", *, lands: bool = True) -> None:
        self.session = session
        self.ledger = ReservationLedger()
        self.listed: dict[str, list[ReservedEntry]] = {}
        self.commits = 0
        self.lands = lands  # the node's records land at once, or when the test says (land)
        self.written: list[ReservedEntry] = []
        self.on_read: Read = lambda verdicts: None  # the node, handed git's verdicts

    # --- as the node's bridge --------------------------------------------------------------

    def write_reservation_record(self, entries: Sequence[ReservedEntry]) -> None:
        self.written.extend(entries)
        if self.lands:
            asyncio.get_running_loop().call_soon(self.land)

    def reservation_ledger(self) -> ReservationLedger:
        return self.ledger

    def land(self) -> None:
        """The node's records written so far land in one commit; the node reads them."""
        written, self.written = self.written, []
        self.on_read(self.write(self.session, written) if written else [])

    # --- any session's STATUS ------------------------------------------------------------

    def write(self, session: str, entries: Sequence[ReservedEntry]) -> list[ReservationVerdict]:
        """``session``'s next commit lists ``entries`` too (replacing its entries for the same
        task and pattern); the verdicts on them."""
        renewed = {(e.task, e.pattern) for e in entries}
        kept = [e for e in self.listed.get(session, []) if (e.task, e.pattern) not in renewed]
        return self._commit(session, [*kept, *entries])

    def release(self, session: str, entries: Sequence[ReservedEntry]) -> None:
        self._commit(session, [e for e in self.listed.get(session, []) if e not in entries])

    def _commit(self, session: str, listed: list[ReservedEntry]) -> list[ReservationVerdict]:
        self.listed[session] = listed
        self.commits += 1
        extra = {RESERVED: [entry_document(e) for e in listed]} if listed else {}
        status = StatusFile(session=session, extra=MappingProxyType(extra))
        return self.ledger.apply(
            f"c{self.commits}", LANDED_AT, [(f"STATUS-{session.upper()}.yaml", status)]
        )
