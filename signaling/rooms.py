"""Rooms and their versioned rosters, sans-IO.

A ``Roster`` is the membership of one room plus a version that grows by exactly one per change.
Every change is a ``RosterChange`` (joined or left, with the new version); applying changes in
version order reproduces the roster, which is how a server instance mirrors rooms that other
instances change through Redis. ``Rooms`` is the authority when there is no backplane: it
enforces room size and room count, and a join with a session id already present replaces the
old member (a ``left`` with reason ``replaced``, then the ``joined``), so a restarted node gets
its identity back.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from ifmesh.signaling import errors
from ifmesh.signaling.protocol import Role

__all__ = ["Presence", "Rooms", "Roster", "RosterChange", "RosterGap"]

ChangeKind = Literal["joined", "left"]


@dataclass(frozen=True)
class Presence:
    """One member: its session, what it can do, which connection on which instance holds it,
    and the role its join was admitted with (node, observer or operator)."""

    session: str
    capabilities: tuple[str, ...]
    instance: str
    conn: str
    role: Role = "node"

    def as_dict(self) -> dict[str, Any]:
        return {
            "session": self.session,
            "capabilities": list(self.capabilities),
            "instance": self.instance,
            "conn": self.conn,
            "role": self.role,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Presence:
        return cls(
            session=str(data["session"]),
            capabilities=tuple(str(c) for c in data.get("capabilities") or ()),
            instance=str(data["instance"]),
            conn=str(data["conn"]),
            role=_role(data.get("role")),
        )

    @property
    def wire_role(self) -> Role | None:
        """The role as the roster carries it: absent for a node (docs/signaling-protocol.md)."""
        return None if self.role == "node" else self.role


def _role(value: object) -> Role:
    # Absent when written by an instance older than roles: its members are all nodes.
    return value if value in ("observer", "operator") else "node"


@dataclass(frozen=True)
class RosterChange:
    room: str
    version: int
    kind: ChangeKind
    member: Presence
    # For ``left``: left, closed, replaced, timeout or expired.
    reason: str = ""


class RosterGap(Exception):
    """A change skipped versions: the mirror missed something and must resynchronise."""


@dataclass
class Roster:
    room: str
    version: int = 0
    members: dict[str, Presence] = field(default_factory=dict)

    def apply(self, change: RosterChange) -> bool:
        """Applies the next change; False for one already seen, RosterGap for a skipped one."""
        if change.version <= self.version:
            return False
        if change.version != self.version + 1:
            raise RosterGap(
                f"room {self.room!r} at version {self.version} received {change.version}"
            )
        if change.kind == "joined":
            self.members[change.member.session] = change.member
        else:
            self.members.pop(change.member.session, None)
        self.version = change.version
        return True

    def reset(self, version: int, members: Iterable[Presence]) -> list[RosterChange]:
        """Adopts a snapshot newer than this roster; returns the differences as changes.

        The changes all carry the snapshot's version: the steps in between are unknown, and a
        client only needs versions to grow.
        """
        if version <= self.version:
            return []
        new = {member.session: member for member in members}
        changes = [
            RosterChange(self.room, version, "left", old, reason="closed")
            for session, old in self.members.items()
            if session not in new or new[session].conn != old.conn
        ]
        changes += [
            RosterChange(self.room, version, "joined", member)
            for session, member in new.items()
            if session not in self.members or self.members[session].conn != member.conn
        ]
        self.members = new
        self.version = version
        return changes

    def snapshot(self) -> Roster:
        return Roster(self.room, self.version, dict(self.members))


class Rooms:
    """Every room of a server that has no backplane; the source of truth for its rosters."""

    def __init__(self, *, max_peers: int, max_rooms: int) -> None:
        self.max_peers = max_peers
        self.max_rooms = max_rooms
        self._rooms: dict[str, Roster] = {}

    def __len__(self) -> int:
        return len(self._rooms)

    def roster(self, room: str) -> Roster | None:
        return self._rooms.get(room)

    def peers(self) -> int:
        return sum(len(roster.members) for roster in self._rooms.values())

    def join(self, room: str, member: Presence) -> tuple[Roster, list[RosterChange]]:
        """Adds ``member`` (replacing a same-session member); returns the roster after it."""
        roster = self._rooms.get(room)
        if roster is None:
            if len(self._rooms) >= self.max_rooms:
                raise errors.TooManyRooms(
                    f"the server holds {self.max_rooms} rooms, its limit; join an existing room"
                )
            roster = Roster(room)
        previous = roster.members.get(member.session)
        if previous is None and len(roster.members) >= self.max_peers:
            raise errors.RoomFull(f"room {room!r} has {self.max_peers} members, its limit")
        self._rooms[room] = roster
        changes = []
        if previous is not None:
            changes.append(RosterChange(room, roster.version + 1, "left", previous, "replaced"))
            roster.apply(changes[-1])
        changes.append(RosterChange(room, roster.version + 1, "joined", member))
        roster.apply(changes[-1])
        return roster.snapshot(), changes

    def leave(self, room: str, member: Presence, reason: str) -> list[RosterChange]:
        """Removes ``member`` if it (this very connection) is still in the room."""
        roster = self._rooms.get(room)
        if roster is None:
            return []
        current = roster.members.get(member.session)
        if current is None or current.conn != member.conn:
            return []  # already replaced by a newer connection: nothing to announce
        change = RosterChange(room, roster.version + 1, "left", current, reason)
        roster.apply(change)
        if not roster.members:
            del self._rooms[room]
        return [change]
