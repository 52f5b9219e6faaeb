"""Rosters: versions grow by one per change, replacement, limits, and mirrors catching up."""

from __future__ import annotations

import pytest

from ifmesh.signaling import errors
from ifmesh.signaling.rooms import Presence, Rooms, Roster, RosterChange, RosterGap


def member(session: str, conn: str = "", instance: str = "i1") -> Presence:
    return Presence(session, ("git",), instance, conn or f"c-{session}")


def test_join_and_leave_bump_the_version_once_each() -> None:
    rooms = Rooms(max_peers=8, max_rooms=8)
    roster, changes = rooms.join("r", member("a"))
    assert roster.version == 1 and list(roster.members) == ["a"]
    assert [(c.kind, c.version) for c in changes] == [("joined", 1)]
    roster, _ = rooms.join("r", member("b"))
    assert roster.version == 2 and sorted(roster.members) == ["a", "b"]
    (left,) = rooms.leave("r", member("a"), "closed")
    assert (left.kind, left.version, left.reason) == ("left", 3, "closed")
    current = rooms.roster("r")
    assert current is not None and list(current.members) == ["b"]


def test_same_session_replaces_the_old_connection() -> None:
    rooms = Rooms(max_peers=1, max_rooms=8)
    rooms.join("r", member("a", conn="old"))
    roster, changes = rooms.join("r", member("a", conn="new"))  # allowed even when full
    assert [(c.kind, c.version, c.reason, c.member.conn) for c in changes] == [
        ("left", 2, "replaced", "old"),
        ("joined", 3, "", "new"),
    ]
    assert roster.members["a"].conn == "new"
    assert rooms.leave("r", member("a", conn="old"), "closed") == [], "a stale leave is a no-op"
    assert rooms.peers() == 1


def test_room_and_server_limits() -> None:
    rooms = Rooms(max_peers=2, max_rooms=1)
    rooms.join("r", member("a"))
    rooms.join("r", member("b"))
    with pytest.raises(errors.RoomFull):
        rooms.join("r", member("c"))
    with pytest.raises(errors.TooManyRooms):
        rooms.join("other", member("d"))
    rooms.leave("r", member("a"), "closed")
    rooms.leave("r", member("b"), "closed")
    assert len(rooms) == 0, "an empty room is closed"
    rooms.join("other", member("d"))


def test_a_mirror_applying_changes_in_order_equals_the_authority() -> None:
    rooms = Rooms(max_peers=8, max_rooms=8)
    mirror = Roster("r")
    log: list[RosterChange] = []
    for step in [("a", "c1"), ("b", "c2"), ("a", "c3")]:
        log += rooms.join("r", member(step[0], conn=step[1]))[1]
    log += rooms.leave("r", member("b", conn="c2"), "timeout")
    for change in log:
        assert mirror.apply(change)
        assert not mirror.apply(change), "a duplicate is ignored"
    authority = rooms.roster("r")
    assert authority is not None
    assert (mirror.version, mirror.members) == (authority.version, authority.members)


def test_a_skipped_version_is_a_gap_and_a_snapshot_closes_it() -> None:
    mirror = Roster("r")
    mirror.apply(RosterChange("r", 1, "joined", member("a")))
    with pytest.raises(RosterGap):
        mirror.apply(RosterChange("r", 3, "joined", member("c")))
    changes = mirror.reset(3, [member("b"), member("c")])
    assert sorted((c.kind, c.member.session) for c in changes) == [
        ("joined", "b"), ("joined", "c"), ("left", "a"),
    ]  # fmt: skip
    assert {c.version for c in changes} == {3}
    assert mirror.reset(2, []) == [], "an older snapshot changes nothing"
    assert sorted(mirror.members) == ["b", "c"]


def test_presence_round_trips_through_its_dict() -> None:
    original = member("a")
    assert Presence.from_dict(original.as_dict()) == original
