"""When a path, or another reservation, conflicts with a path reservation: globs, exact paths
and ancestor directories; shared against exclusive; a session's own; malformed patterns that
fail closed; the TTL judged at ``now``; the lease; fencing by epoch."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from ifmesh.node.board.errors import InvalidPattern
from ifmesh.node.board.reservations import (
    fixed_part,
    in_force,
    path_conflicts,
    reservation_conflicts,
)
from ifmesh.node.board.state import Reservation, Task, TaskStatus
from tests.unit.board.helpers import at

LEASE = timedelta(minutes=15)


def held(task_id: str, owner: str, epoch: int = 0, last: datetime | None = None) -> Task:
    return Task(
        task_id, status=TaskStatus.CLAIMED, owner=owner, epoch=epoch,
        owner_last_event_at=last or at(0), claimed_at=at(0),
    )  # fmt: skip


TASKS = {"A": held("A", "s1"), "B": held("B", "s2"), "C": held("C", "s3")}


def res(
    pattern: str,
    session: str = "s1",
    task: str = "A",
    *,
    exclusive: bool = True,
    epoch: int = 0,
    until: float = 120,
) -> Reservation:
    return Reservation(session, task, epoch, pattern, exclusive, at(0), at(until))


def conflicting(paths: list[str], *reservations: Reservation, me: str = "s2") -> list[str]:
    found = path_conflicts(paths, reservations, me, TASKS, at(1), LEASE)
    return [c.path for c in found]


@pytest.mark.parametrize(
    ("pattern", "path", "covered"),
    [
        ("src/db/**", "src/db/models.py", True),
        ("src/db/**", "src/db/deep/er/x.py", True),
        ("src/db/**", "src/dbx/models.py", False),
        ("src/db/*.py", "src/db/models.py", True),
        ("src/db/*.py", "src/db/sub/models.py", False),  # `*` stays within a directory
        ("*.md", "docs/deep/guide.md", True),  # no slash: at any depth
        ("/README.md", "README.md", True),
        ("/README.md", "docs/README.md", False),  # a leading slash anchors at the root
        ("README.md", "README.md", True),  # an exact path
        ("src/db", "src/db/models.py", True),  # a directory above the path
        ("src/db/", "src/db/models.py", True),
        ("src/db/models.py", "src/db/models.py.bak", False),
    ],
)
def test_a_path_is_covered_by_globs_exact_paths_and_reserved_directories(
    pattern: str, path: str, covered: bool
) -> None:
    assert conflicting([path], res(pattern)) == ([path] if covered else [])


def test_a_directory_path_conflicts_with_what_is_reserved_inside_it() -> None:
    assert conflicting(["src/"], res("src/db/models.py")) == ["src/"]
    assert conflicting(["src/"], res("src/db/*.py")) == ["src/"]
    assert conflicting(["docs/"], res("src/db/*.py")) == []


def test_shared_reservations_never_keep_anyone_from_editing() -> None:
    assert conflicting(["src/db/models.py"], res("src/db/**", exclusive=False)) == []


def test_own_reservations_never_conflict() -> None:
    assert conflicting(["src/db/models.py"], res("src/db/**"), me="s1") == []
    mine = [res("src/**"), res("src/db/**", task="A")]
    assert reservation_conflicts(mine[:1], mine[1:], TASKS, at(1)) == []


def test_conflicts_name_the_holder_task_and_pattern() -> None:
    [found] = path_conflicts(["src/db/x.py"], [res("src/db/**")], "s2", TASKS, at(1), LEASE)
    assert (found.path, found.holder, found.task, found.pattern) == (
        "src/db/x.py", "s1", "A", "src/db/**",
    )  # fmt: skip


def test_the_ttl_is_judged_at_now() -> None:
    r = res("src/**", until=10)
    assert in_force(r, TASKS, at(9), LEASE)
    assert conflicting(["src/a.py"], r) == ["src/a.py"]
    assert not in_force(r, TASKS, at(10), LEASE)
    assert path_conflicts(["src/a.py"], [r], "s2", TASKS, at(11), LEASE) == []


def test_a_reservation_of_an_older_epoch_is_void() -> None:
    r = res("src/**", epoch=0)
    released_and_taken_again = {"A": held("A", "s1", epoch=1)}
    assert not in_force(r, released_and_taken_again, at(1), LEASE)
    stolen = {"A": held("A", "s2", epoch=1)}
    assert not in_force(r, stolen, at(1), LEASE)
    completed = {"A": Task("A", status=TaskStatus.COMPLETED, owner="s1", epoch=0)}
    assert not in_force(r, completed, at(1), LEASE)
    gone = {"A": Task("A", epoch=1)}  # released: nobody holds it
    assert not in_force(r, gone, at(1), LEASE)


def test_a_stale_holder_blocks_nobody_until_it_is_heard_from_again() -> None:
    r = res("src/**", until=600)
    silent = {"A": held("A", "s1", last=at(0))}
    assert not in_force(r, silent, at(16), LEASE)
    renewed = {"A": held("A", "s1", last=at(15))}
    assert in_force(r, renewed, at(16), LEASE)


def test_a_stale_holder_still_keeps_a_new_overlapping_reservation_out() -> None:
    """Git, which decides what the mesh cannot, sees no leases: the fold judges a new
    reservation as git does, so a silent holder's stands until its TTL, release or takeover."""
    r = res("src/**", until=600)
    silent = {"A": held("A", "s1", last=at(0)), "B": held("B", "s2", last=at(16))}
    assert path_conflicts(["src/a.py"], [r], "s2", silent, at(16), LEASE) == []  # edits: free
    [found] = reservation_conflicts([res("src/a.py", "s2", "B")], [r], silent, at(16))
    assert (found.holder, found.pattern) == ("s1", "src/**")
    taken_over = {**silent, "A": held("A", "s3", epoch=1)}
    assert reservation_conflicts([res("src/a.py", "s2", "B")], [r], taken_over, at(16)) == []


@pytest.mark.parametrize(
    "pattern", ["", "   ", "/", "#notes", "!src/keep.py", "../outside", "a/../b", "foo\\",
                "x[z-a]", "line\nbreak", "a["],
)  # fmt: skip
def test_a_malformed_pattern_fails_closed(pattern: str) -> None:
    with pytest.raises(InvalidPattern) as caught:
        reservation_conflicts([res(pattern)], [], TASKS, at(1))
    assert caught.value.code == "invalid_pattern"
    with pytest.raises(InvalidPattern):  # never skipped as matching nothing
        path_conflicts(["src/a.py"], [res(pattern)], "s2", TASKS, at(1), LEASE)


def test_two_reservations_conflict_through_a_pattern_without_wildcards() -> None:
    mine = [res("src/db/models.py", "s2", "B")]
    [found] = reservation_conflicts(mine, [res("src/**")], TASKS, at(1))
    assert (found.path, found.holder, found.pattern) == ("src/db/models.py", "s1", "src/**")
    directory = [res("src/db", "s2", "B")]
    assert reservation_conflicts(directory, [res("src/db/x.py")], TASKS, at(1))


def test_two_globs_conflict_only_through_a_tracked_path_either_one_carries() -> None:
    mine = res("src/**/*.py", "s2", "B")
    theirs = res("src/db/*.py")
    assert reservation_conflicts([mine], [theirs], TASKS, at(1)) == []
    carried = replace(mine, witnesses=("src/app.py", "src/db/models.py"))
    [found] = reservation_conflicts([carried], [theirs], TASKS, at(1))
    assert found.path == "src/db/models.py"
    # The earlier one's witnesses count the same: one working tree tracking the path is enough.
    [found] = reservation_conflicts(
        [mine], [replace(theirs, witnesses=("src/db/models.py",))], TASKS, at(1)
    )
    assert (found.path, found.pattern) == ("src/db/models.py", "src/db/*.py")


def test_shared_only_conflicts_with_exclusive() -> None:
    shared, other_shared = res("docs/*.md", exclusive=False), res("docs/a.md", "s2", "B")
    both_shared = [res("docs/a.md", "s2", "B", exclusive=False)]
    assert reservation_conflicts(both_shared, [shared], TASKS, at(1)) == []
    assert reservation_conflicts([other_shared], [shared], TASKS, at(1))
    assert reservation_conflicts(both_shared, [res("docs/*.md", exclusive=True)], TASKS, at(1))


def test_a_reservation_no_longer_in_force_conflicts_with_nothing() -> None:
    expired = res("src/**", until=1)
    assert reservation_conflicts([res("src/a.py", "s2", "B")], [expired], TASKS, at(2)) == []


@pytest.mark.parametrize(
    ("pattern", "fixed"),
    [("src/db/*.py", "src/db/"), ("src/**", "src/"), ("*.py", ""), ("README.md", "README.md"),
     ("/docs/a.md", "docs/a.md"), ("a/b[0-9]/c", "a/")],
)  # fmt: skip
def test_the_fixed_part_of_a_pattern(pattern: str, fixed: str) -> None:
    assert fixed_part(pattern) == fixed
