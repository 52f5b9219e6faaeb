"""Path reservations: when one is in force, and when a path or another reservation conflicts
with it. Pure: reservations, tasks and ``now`` in, conflicts out.

Patterns are gitignore-style globs relative to the repository's root, compiled by ``pathspec``
(its ``GitIgnoreSpecPattern``, the gitwildmatch rules Git uses), never by a matcher of our
own. A pattern matches a path, and every path below a directory it matches: ``src/db`` and
``src/db/`` both cover ``src/db/models.py``, which is the "ancestor directory" conflict.

The rules (docs/agents.md, "Path reservations"):

- A reservation is *in force* at ``now`` while its holder still holds its task at its epoch,
  the holder's lease has not run out, and ``now`` is before ``expires_at``. A reservation of an
  older epoch is void (fenced): it ended with the tenure it was made in (release, completion,
  failure, steal, or git naming another holder).
- A path conflicts with another session's exclusive reservation in force whose pattern
  matches it, or matches a directory above it; a directory (a path ending in ``/``) also with
  one whose fixed part lies inside it. Shared reservations never keep anyone from editing.
- Two reservations conflict when at least one is exclusive, their holders differ, and some
  *witness* path matches both (:func:`overlap`): a pattern of either that has no wildcard, or
  a path git tracks in either reserving session's working tree (``git ls-files``). The fold
  has no working tree, and trees differ, so the reserving node puts the tracked paths its
  patterns match in the event (:func:`carry`): every node, and git, judge with the same
  witnesses. An event carries at most :data:`MAX_WITNESSES` of them (and
  :data:`WITNESS_BYTES`); a pattern that matches more is *broad*, and a broad pattern overlaps
  every pattern whose directory nests with its own (:func:`anchor`: ``src/**`` overlaps
  ``src/db/*.py``; an unanchored ``**/*.py`` overlaps everything), a superset of what its
  witnesses would have found. Events of earlier versions carry none: against them, the other
  side's witnesses still count.
- A new reservation meets the earlier ones that are *standing*: not void (its tenure and its
  TTL), whatever the holder's lease says. Git, which decides what the mesh cannot, sees
  releases, TTLs and epochs but no leases, so the fold judges as git does (a STALE holder's
  reservations keep nobody from editing, but a new overlapping one waits for the takeover).
- Own reservations never conflict. A pattern that does not compile fails closed
  (:class:`~ifmesh.node.board.errors.InvalidPattern`): never skipped as matching nothing.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from pathspec.patterns.gitignore import GitIgnorePatternError
from pathspec.patterns.gitignore.spec import GitIgnoreSpecPattern

from ifmesh.node.board.errors import InvalidPattern
from ifmesh.node.board.state import DEFAULT_LEASE, Reservation, Task, lease_expired
from ifmesh.node.protocol import messages as m
from ifmesh.node.protocol.payloads import MAX_WITNESSES

WILDCARDS = frozenset("*?[")
# What one event's witnesses may weigh (paths plus a little for the encoding): an IFMessage is
# at most 1 MiB, and each pattern's witnesses are copied into its STATUS entry.
WITNESS_BYTES = 128 * 1024


class Reach(Protocol):
    """What one reserved pattern covers, as :func:`overlap` judges it (a :class:`Reservation`
    in the fold, a STATUS entry in git)."""

    @property
    def pattern(self) -> str: ...
    @property
    def witnesses(self) -> tuple[str, ...]: ...
    @property
    def broad(self) -> bool: ...


@dataclass(frozen=True, slots=True)
class Carried:
    """What a ``paths.reserve`` carries besides its patterns: the tracked paths they match,
    sorted, and the patterns that matched too many to carry."""

    witnesses: tuple[str, ...] = ()
    broad: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Conflict:
    """``path`` is covered by ``holder``'s reservation ``pattern`` for ``task``."""

    path: str
    holder: str
    task: str
    pattern: str
    exclusive: bool
    expires_at: datetime


@functools.lru_cache(maxsize=4096)
def compile_pattern(pattern: str) -> GitIgnoreSpecPattern:
    """The compiled pattern; raises InvalidPattern for what cannot reserve anything."""
    text = pattern.strip()
    if not text or text == "/":
        raise InvalidPattern(pattern, "it is empty")
    if any(c in text for c in "\n\r\x00"):
        raise InvalidPattern(pattern, "it holds a line break or a NUL")
    if text.startswith("#"):
        raise InvalidPattern(pattern, "gitignore reads it as a comment (escape it: `\\#`)")
    if text.startswith("!"):
        raise InvalidPattern(pattern, "a reservation cannot exclude (`!`): reserve less instead")
    if ".." in text.split("/"):
        raise InvalidPattern(pattern, "`..` leaves the repository")
    try:
        compiled = GitIgnoreSpecPattern(text)
    except (GitIgnorePatternError, re.error, ValueError) as exc:
        raise InvalidPattern(pattern, str(exc)) from None
    if compiled.regex is None or compiled.include is not True:
        raise InvalidPattern(pattern, "it matches nothing (an invalid range such as `[z-a`?)")
    return compiled


def check_patterns(patterns: Iterable[str]) -> None:
    for pattern in patterns:
        compile_pattern(pattern)


def matches(pattern: str, path: str) -> bool:
    """Whether ``pattern`` covers ``path`` (repository-relative, ``/``-separated)."""
    return compile_pattern(pattern).match_file(path) is not None


def is_literal(pattern: str) -> bool:
    return not WILDCARDS.intersection(pattern)


def fixed_part(pattern: str) -> str:
    """The directories a pattern is anchored in before its first wildcard (``src/db/`` for
    ``src/db/*.py``); empty for a pattern that may match anywhere (``*.py``)."""
    text = pattern.strip()
    anchored = text.startswith("/") or "/" in text.rstrip("/")
    if not anchored:
        return "" if not is_literal(text) else text
    parts = text.lstrip("/").split("/")
    fixed: list[str] = []
    for part in parts:
        if WILDCARDS.intersection(part):
            return "/".join(fixed) + "/" if fixed else ""
        fixed.append(part)
    return "/".join(fixed)


def witness_of(pattern: str) -> str | None:
    """A pattern without wildcards, as the path it names (``/src/a.py`` is ``src/a.py``)."""
    text = pattern.strip()
    return text.lstrip("/") if is_literal(text) else None


def in_force(
    reservation: Reservation,
    tasks: Mapping[str, Task],
    now: datetime,
    lease: timedelta = DEFAULT_LEASE,
) -> bool:
    task = tasks.get(reservation.task_id)
    return (
        task is not None
        and task.held
        and task.owner == reservation.session_id
        and task.epoch == reservation.epoch
        and now < reservation.expires_at
        and not lease_expired(task, now, lease)
    )


def void(reservation: Reservation, tasks: Mapping[str, Task], now: datetime) -> bool:
    """Over for good at ``now``: its tenure ended or its time ran out (a lapsed lease is not
    enough: a late renewal brings the holder back, with its reservations)."""
    task = tasks.get(reservation.task_id)
    tenure = (
        task is not None
        and task.held
        and task.owner == reservation.session_id
        and task.epoch == reservation.epoch
    )
    return not tenure or now >= reservation.expires_at


def standing(reservation: Reservation, tasks: Mapping[str, Task], now: datetime) -> bool:
    """What a new reservation at ``now`` must not overlap (see the module docstring)."""
    return not void(reservation, tasks, now)


def literal_overlap(a: str, b: str) -> str | None:
    """The pattern without wildcards (as a path) that both ``a`` and ``b`` match, if any.
    Raises InvalidPattern for either."""
    for witness in (witness_of(a), witness_of(b)):
        if witness is not None and matches(a, witness) and matches(b, witness):
            return witness
    return None


def anchor(pattern: str) -> tuple[str, ...]:
    """The path components every path ``pattern`` matches begins with: those before its first
    wildcard (or escape) when it is anchored at the root, none when it may match at any depth
    (gitignore: anchored when a slash leads or sits inside it)."""
    text = pattern.strip()
    if not (text.startswith("/") or "/" in text.rstrip("/")):
        return ()
    fixed: list[str] = []
    for part in text.strip("/").split("/"):
        if WILDCARDS.intersection(part) or "\\" in part:
            break
        fixed.append(part)
    return tuple(fixed)


def overlap(a: Reach, b: Reach) -> str | None:
    """The witness over which ``a`` and ``b`` overlap, if any (for a broad one, the pattern
    anchored deeper): the conflict rule of the fold and of git (the module docstring). A
    witness counts only when both patterns match it, so what an event carries can widen its
    own reservation's conflicts, never another's. Raises InvalidPattern for either pattern."""
    found = literal_overlap(a.pattern, b.pattern)
    if found is not None:
        return found
    for path in (*a.witnesses, *b.witnesses):
        if matches(a.pattern, path) and matches(b.pattern, path):
            return path
    if a.broad or b.broad:
        here, there = anchor(a.pattern), anchor(b.pattern)
        if here[: len(there)] == there or there[: len(here)] == here:
            return a.pattern if len(here) >= len(there) else b.pattern
    return None


def witnesses_of(pattern: str, carried: Sequence[str]) -> tuple[str, ...]:
    """The carried paths ``pattern`` matches (none when it does not compile: whatever judges
    it refuses it)."""
    try:
        return tuple(path for path in carried if matches(pattern, path))
    except InvalidPattern:
        return ()


def asked_for(session: str, p: m.PathsReserve, at: datetime) -> list[Reservation]:
    """What ``session``'s ``paths.reserve`` ``p``, made at ``at``, asks for: one reservation
    per pattern, each with the witnesses it matches (the fold's, the command's and git's)."""
    until, broad = at + timedelta(seconds=p.ttl_seconds), frozenset(p.broad or ())
    return [
        Reservation(session, p.task_id, p.epoch, pattern, p.exclusive, at, until,
                    witnesses_of(pattern, p.witnesses or ()), pattern in broad)
        for pattern in dict.fromkeys(p.patterns)
    ]  # fmt: skip


def carry(patterns: Sequence[str], tracked: Sequence[str]) -> Carried:
    """The witnesses a reservation of ``patterns`` carries: the ``tracked`` paths each matches
    (its own path left out: :func:`literal_overlap` covers it), the patterns with the fewest
    first, while the budget lasts; the patterns left over are broad."""
    found = []
    for pattern in patterns:
        literal = witness_of(pattern)
        paths = [p for p in tracked if p != literal and matches(pattern, p)]
        found.append((len(paths), sum(len(p) + 4 for p in paths), pattern, paths))
    witnesses: set[str] = set()
    broad: list[str] = []
    count = weight = 0
    for size, bytes_, pattern, paths in sorted(found, key=lambda f: f[:3]):
        if count + size > MAX_WITNESSES or weight + bytes_ > WITNESS_BYTES:
            broad.append(pattern)
            continue
        count, weight = count + size, weight + bytes_
        witnesses.update(paths)
    return Carried(tuple(sorted(witnesses)), tuple(p for p in patterns if p in broad))


def _conflict(path: str, r: Reservation) -> Conflict:
    return Conflict(path, r.session_id, r.task_id, r.pattern, r.exclusive, r.expires_at)


def path_conflicts(
    paths: Sequence[str],
    reservations: Iterable[Reservation],
    me: str,
    tasks: Mapping[str, Task],
    now: datetime,
    lease: timedelta = DEFAULT_LEASE,
) -> list[Conflict]:
    """Each (path, reservation) where editing ``path`` would trespass on another session's
    exclusive reservation in force, in the order of ``paths``."""
    others = sorted(
        (
            r
            for r in reservations
            if r.session_id != me and r.exclusive and in_force(r, tasks, now, lease)
        ),
        key=lambda r: (r.session_id, r.task_id, r.pattern),
    )
    found = []
    for path in paths:
        for r in others:
            inside = path.endswith("/") and fixed_part(r.pattern).startswith(path)
            if inside or matches(r.pattern, path):
                found.append(_conflict(path, r))
    return found


def reservation_conflicts(
    wanted: Sequence[Reservation],
    reservations: Iterable[Reservation],
    tasks: Mapping[str, Task],
    now: datetime,
) -> list[Conflict]:
    """Each (witness, standing reservation of another session) that some wanted reservation
    overlaps, exclusive on either side: the fold's judgement, and the command's before it
    sends (the same witnesses, so the same answer)."""
    check_patterns(r.pattern for r in wanted)
    found: list[Conflict] = []
    existing = sorted(
        (r for r in reservations if standing(r, tasks, now)),
        key=lambda r: (r.session_id, r.task_id, r.pattern),
    )
    for new in wanted:
        for old in existing:
            if old.session_id == new.session_id or not (old.exclusive or new.exclusive):
                continue
            hit = overlap(new, old)
            if hit is not None:
                found.append(_conflict(hit, old))
    return found
