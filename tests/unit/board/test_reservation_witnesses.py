"""Two reservations overlapping only through a tracked path (node/board/reservations.py): the
reserving node carries the tracked paths its patterns match as witnesses, and overlap is judged
with them by the fold, the command and git alike; a pattern matching more than an event carries
is broad and judged by its directory. Properties: the rule is symmetric, a witness found is
matched by both patterns, every tracked path both match is found when either side carried its
working tree's, and a broad pattern never misses one."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ifmesh.node.board.reservations import (
    WITNESS_BYTES,
    anchor,
    carry,
    matches,
    overlap,
    witnesses_of,
)
from ifmesh.node.protocol.payloads import MAX_WITNESSES


@dataclass(frozen=True)
class Side:
    pattern: str
    witnesses: tuple[str, ...] = ()
    broad: bool = False


def carried(pattern: str, tracked: list[str]) -> Side:
    """``pattern`` as a node whose working tree tracks ``tracked`` sends it."""
    found = carry([pattern], tracked)
    return Side(pattern, witnesses_of(pattern, found.witnesses), pattern in found.broad)


def test_two_globs_overlap_through_a_tracked_path_either_side_carries() -> None:
    assert overlap(Side("src/*.py"), Side("src/a*")) is None  # no path from the patterns alone
    tracked = ["README.md", "src/a.py", "src/b.py", "src/about.md"]
    assert overlap(carried("src/*.py", tracked), Side("src/a*")) == "src/a.py"
    assert overlap(Side("src/*.py"), carried("src/a*", tracked)) == "src/a.py"
    assert overlap(Side("src/a*"), carried("src/*.py", tracked)) == "src/a.py"
    assert overlap(carried("src/*.py", ["src/b.py"]), carried("src/a*", ["src/about.md"])) is None


def test_a_witness_counts_only_where_both_patterns_match_it() -> None:
    """What an event carries can widen its own reservation, never reach into another's."""
    forged = Side("src/*.py", witnesses=("docs/guide.md",))
    assert overlap(forged, Side("docs/*.md")) is None
    assert overlap(Side("docs/*.md"), forged) is None


def test_a_pattern_without_wildcards_still_overlaps_by_itself() -> None:
    assert overlap(Side("src/a.py"), Side("src/*.py")) == "src/a.py"
    assert carry(["src/a.py"], ["src/a.py", "src/b.py"]).witnesses == ()  # nothing to carry
    # A reserved directory carries the files below it: its own path matches no glob of files.
    assert overlap(Side("src/db"), Side("src/db/*.py")) is None
    assert overlap(carried("src/db", ["src/db/models.py"]), Side("src/db/*.py")) == (
        "src/db/models.py"
    )


def test_carry_takes_the_tracked_paths_each_pattern_matches_sorted_and_once() -> None:
    tracked = ["src/b.py", "src/a.py", "docs/a.md", "src/a.md"]
    found = carry(["src/*.py", "src/a*"], tracked)
    assert found.witnesses == ("src/a.md", "src/a.py", "src/b.py")
    assert found.broad == ()
    assert carry(["src/*.py"], []).witnesses == ()


def test_a_pattern_matching_more_than_an_event_carries_is_broad() -> None:
    many = [f"src/gen/f{n:04}.py" for n in range(MAX_WITNESSES + 1)]
    found = carry(["src/**", "docs/*.md"], [*many, "docs/a.md"])
    assert found.broad == ("src/**",)  # the few first: docs/*.md keeps its witness
    assert found.witnesses == ("docs/a.md",)
    long = [f"src/{'d' * 900}/{n}.py" for n in range(WITNESS_BYTES // 900)]
    assert carry(["src/**"], long).broad == ("src/**",)  # by weight, too


@pytest.mark.parametrize(
    ("broad", "other", "overlaps"),
    [
        ("src/**", "src/a*", True),
        ("src/**", "src/db/*.py", True),
        ("src/db/**", "src/*.py", True),  # src/ holds src/db/: judged to overlap
        ("src/**", "docs/*.md", False),
        ("src/**", "/srcx/*.py", False),  # a directory, not a prefix of a name
        ("**/*.py", "docs/*.md", True),  # anchored nowhere: overlaps everything
        ("src/**", "*.md", True),
        ("src/db/", "db/", True),  # `db/` is not anchored (only a trailing slash)
    ],
)
def test_a_broad_pattern_overlaps_every_pattern_its_directory_nests_with(
    broad: str, other: str, overlaps: bool
) -> None:
    assert (overlap(Side(broad, broad=True), Side(other)) is not None) is overlaps
    assert (overlap(Side(other), Side(broad, broad=True)) is not None) is overlaps


@pytest.mark.parametrize(
    ("pattern", "fixed"),
    [("src/db/*.py", ("src", "db")), ("/README.md", ("README.md",)), ("src/", ()),
     ("*.py", ()), ("a/b/", ("a", "b")), ("a/\\*b/c", ("a",)), ("**/x", ())],
)  # fmt: skip
def test_the_anchor_of_a_pattern(pattern: str, fixed: tuple[str, ...]) -> None:
    assert anchor(pattern) == fixed


# --- properties -------------------------------------------------------------------------------

PARTS = ["src", "db", "a", "a.py", "b.md", "*", "*.py", "a*", "?.md", "**", "[ab]*"]
NAMES = ["src", "db", "a", "a.py", "b.md", "x"]
patterns = st.builds(
    lambda lead, parts, trail: lead + "/".join(parts) + trail,
    st.sampled_from(["", "/"]),
    st.lists(st.sampled_from(PARTS), min_size=1, max_size=3),
    st.sampled_from(["", "/"]),
)
paths = st.lists(st.sampled_from(NAMES), min_size=1, max_size=4).map("/".join)
trees = st.lists(paths, max_size=8, unique=True)


@settings(max_examples=150)
@given(patterns, patterns, trees, trees, st.booleans(), st.booleans())
def test_overlap_is_symmetric_and_names_a_path_both_match(
    a: str, b: str, here: list[str], there: list[str], broad_a: bool, broad_b: bool
) -> None:
    one = Side(a, carried(a, here).witnesses, broad_a)
    two = Side(b, carried(b, there).witnesses, broad_b)
    found = overlap(one, two)
    assert (found is None) == (overlap(two, one) is None)
    if found is not None and not (broad_a or broad_b):
        assert matches(a, found) and matches(b, found)


@settings(max_examples=150)
@given(patterns, patterns, trees, trees)
def test_every_tracked_path_both_match_is_found_when_either_side_carried_its_tree(
    a: str, b: str, here: list[str], there: list[str]
) -> None:
    shared = [p for p in {*here, *there} if matches(a, p) and matches(b, p)]
    if shared:  # about one example in six, most of them with no path from the patterns alone
        assert overlap(carried(a, here), carried(b, there)) is not None


@settings(max_examples=150)
@given(patterns, patterns, paths)
def test_a_broad_pattern_never_misses_a_path_both_match(a: str, b: str, path: str) -> None:
    if matches(a, path) and matches(b, path):
        assert overlap(Side(a, broad=True), Side(b)) is not None
        assert overlap(Side(a), Side(b, broad=True)) is not None
