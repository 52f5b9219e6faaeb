"""Where rosters live: the Directory seam, and the in-process directory of a lone server.

The server asks a Directory to join and leave members, to find a member for a relay, and to
forward a relay to a member held by another instance. Roster changes come back through
``on_change`` in version order, whichever instance made them. ``LocalDirectory`` keeps rooms
in this process (``rooms.Rooms``); ``backplane.RedisDirectory`` shares them through Redis.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from ifmesh.signaling.rooms import Presence, Rooms, Roster, RosterChange

__all__ = ["ChangeSink", "Directory", "LocalDirectory", "RelaySink"]

ChangeSink = Callable[[RosterChange], None]
# (connection id, frame text, wall-clock time the frame reached the first server)
RelaySink = Callable[[str, str, float], None]


class Directory(Protocol):
    async def start(self) -> None: ...

    async def close(self) -> None: ...

    async def join(self, room: str, member: Presence) -> Roster:
        """Adds ``member``; the roster right after the join. Raises RoomFull, TooManyRooms."""
        ...

    async def leave(self, room: str, member: Presence, reason: str) -> None:
        """Removes ``member`` if this very connection still holds its session."""
        ...

    def lookup(self, room: str, session: str) -> Presence | None: ...

    async def forward(self, target: Presence, text: str, received_at: float) -> None:
        """Delivers a relay frame to a member held by another instance."""
        ...

    def room_count(self) -> int: ...

    def healthy(self) -> bool: ...


class LocalDirectory:
    """Rooms held in this process; changes are announced before ``join``/``leave`` return."""

    def __init__(self, rooms: Rooms, on_change: ChangeSink) -> None:
        self._rooms = rooms
        self._on_change = on_change

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def join(self, room: str, member: Presence) -> Roster:
        roster, changes = self._rooms.join(room, member)
        for change in changes:
            self._on_change(change)
        return roster

    async def leave(self, room: str, member: Presence, reason: str) -> None:
        for change in self._rooms.leave(room, member, reason):
            self._on_change(change)

    def lookup(self, room: str, session: str) -> Presence | None:
        roster = self._rooms.roster(room)
        return None if roster is None else roster.members.get(session)

    async def forward(self, target: Presence, text: str, received_at: float) -> None:
        raise AssertionError("a lone server holds every member; nothing to forward")

    def room_count(self) -> int:
        return len(self._rooms)

    def healthy(self) -> bool:
        return True
