"""Dependency cells as people write them, and what they resolve to on one board.

Read, in this order (the specification, not tuned to one file):

* nothing: ``None``, ``-``, ``n/a``, an empty cell;
* ``All above``: the earlier tasks of the same table;
* a prefix group: ``All P0.2 tasks``, ``P0.2.*``, ``Phase 0 complete`` (every task whose id
  starts with ``P0.2.`` / ``P0.``);
* a named group: ``All components`` (the primary tasks of every other table on the board: its
  components), ``All documentation tasks`` (the tables whose heading names documentation);
* ids, separated by commas, spaces, ``and``, ``&``, ``/`` or ``;``, with ranges
  (``P0.1.1-P0.1.7``, ``P0.1.1–7``, ``P0.1.1 to P0.1.7``); notes in parentheses, "done"
  words and marks without words (``P0.1.1 ✅``, ``+``) are ignored.

A group that names nothing on this board, an id that is not on it, or any other text is a
**manual dependency**: the task shows BLOCKED with the text until someone claims it with
``--force``. Resolution depends on the board alone, so every node reads the same thing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ifmesh.node.board.formats.cells import TASK_ID
from ifmesh.node.board.formats.markdown import plain

_NONE = {"", "-", "--", "—", "–", "none", "n/a", "na", "nothing", "no", "no dependencies"}
_ABOVE = re.compile(r"^(?:all\s+(?:of\s+)?(?:the\s+)?)?(?:tasks?\s+)?above$", re.I)
_PREFIX = re.compile(
    r"^(?:all\s+(?:of\s+)?)?(?:the\s+)?(?P<prefix>[A-Za-z]+\d+(?:\.\d+)*)(?:\.[x*])?"
    r"(?:\s+tasks?)?(?:\s+(?:complete|completed|done|finished))?$",
    re.I,
)
_PHASE = re.compile(
    r"^(?:all\s+)?phase\s+(?P<n>\d+)(?:\s+tasks?)?(?:\s+(?:complete|completed|done|finished))?$",
    re.I,
)
_STAR = re.compile(r"[`*_ ]*([A-Za-z]+\d+(?:\.\d+)*)\.[*xX][`*_ ]*")
_NAMED = re.compile(r"^all\s+(?:of\s+)?(?:the\s+)?(?P<words>[a-z][\w .-]*?)(?:\s+tasks?)?$", re.I)
_RANGE = re.compile(
    r"(?P<prefix>[A-Za-z]\w*(?:\.\d+)*\.)(?P<a>\d+)\s*(?:-|–|—|\.\.|\bto\b)\s*"
    r"(?:(?P<prefix2>[A-Za-z]\w*(?:\.\d+)*\.))?(?P<b>\d+)\b"
)
# What makes "P0.2" a group rather than a task id: "All P0.2", "P0.2.*", "P0.2 tasks".
_GROUP_MARK = re.compile(r"^(?:all|the)\b|\.[x*]$|\btasks\b")
_SEPARATORS = re.compile(r"\s*(?:,|;|/|&|\band\b|\s)\s*", re.I)
_NOISE = {"complete", "completed", "done", "finished", "must", "be", "after", "until", "tasks"}
_COMPONENT_WORDS = {"component", "components", "other", "others", "other tasks", "tasks"}


@dataclass(frozen=True, slots=True)
class Dependencies:
    """A cell's reading before the board is known: ids, groups, or manual text."""

    ids: tuple[str, ...] = ()
    above: bool = False
    prefix: str | None = None
    named: str | None = None
    manual: str = ""


@dataclass(frozen=True, slots=True)
class TableIndex:
    """What group resolution needs of one table: its heading and its primary task ids."""

    heading: str
    task_ids: tuple[str, ...]


def read(cell: str) -> Dependencies:
    star = _STAR.fullmatch(cell.strip())  # before plain(), which takes a trailing "*" for dress
    if star is not None:
        return Dependencies(prefix=star.group(1))
    text = plain(cell)
    lowered = text.lower().strip(" .")
    if lowered in _NONE:
        return Dependencies()
    if _ABOVE.match(lowered):
        return Dependencies(above=True)
    phase = _PHASE.match(lowered)
    if phase:
        return Dependencies(prefix=f"P{phase.group('n')}")
    prefix = _PREFIX.match(text.strip(" ."))
    if prefix is not None and _GROUP_MARK.search(lowered):
        return Dependencies(prefix=prefix.group("prefix"))
    named = _NAMED.match(lowered)
    if named is not None and not any(ch.isdigit() for ch in named.group("words").split()[0]):
        return Dependencies(named=named.group("words").strip())
    return _ids(text)


def _ids(text: str) -> Dependencies:
    body = re.sub(r"\([^)]*\)", " ", text)  # "P0.2.6 (integration tests)"
    ids: list[str] = []

    def expand(match: re.Match[str]) -> str:
        prefix, second = match.group("prefix"), match.group("prefix2")
        if second is not None and second != prefix:
            return match.group(0)  # "P0.1.7-P0.2.1" spans two groups: not a range
        low, high = int(match.group("a")), int(match.group("b"))
        if high < low or high - low > 200:
            return match.group(0)
        ids.extend(f"{prefix}{n}" for n in range(low, high + 1))
        return " "

    body = _RANGE.sub(expand, body)
    leftovers = []
    for token in _SEPARATORS.split(body):
        token = token.strip("`'\".:")
        if not any(ch.isalnum() for ch in token) or token.lower() in _NOISE:
            continue  # "P0.1.1 ✅": a mark without words says no more than "done" does
        if TASK_ID.match(token) and any(ch.isdigit() for ch in token):
            ids.append(token)
        else:
            leftovers.append(token)
    if leftovers or not ids:
        return Dependencies(manual=text)
    return Dependencies(ids=tuple(dict.fromkeys(ids)))


def _singular(word: str) -> str:
    return word[:-1] if word.endswith("s") and len(word) > 3 else word


def resolve(
    reading: Dependencies,
    task: str,
    table: int,
    tables: Sequence[TableIndex],
    known: Mapping[str, int],
) -> tuple[tuple[str, ...], str]:
    """(task ids, manual text) of ``task`` in ``tables[table]``; ``known``: id → its table."""
    found: list[str]
    if reading.above:
        own = tables[table].task_ids
        found = list(own[: own.index(task)]) if task in own else []
    elif reading.prefix is not None:
        stem = reading.prefix + "."
        found = [t for t in known if t.startswith(stem) and t != task]
    elif reading.named is not None:
        words = {_singular(w) for w in reading.named.lower().split()} - {"task", "the", "all"}
        if not words or reading.named.lower() in _COMPONENT_WORDS:
            found = [t for i, tab in enumerate(tables) if i != table for t in tab.task_ids]
        else:
            found = [
                t
                for tab in tables
                if words <= {_singular(w) for w in re.findall(r"[\w.]+", tab.heading.lower())}
                for t in tab.task_ids
                if t != task
            ]
    else:
        missing = [d for d in reading.ids if d not in known]
        if reading.manual or missing:
            text = reading.manual or ", ".join(reading.ids)
            note = f" ({', '.join(missing)} not on this board)" if missing else ""
            return (), text + note
        return reading.ids, ""
    if not found:
        return (), _describe(reading) + " (names no task on this board)"
    return tuple(found), ""


def _describe(reading: Dependencies) -> str:
    if reading.above:
        return "All above"
    if reading.prefix is not None:
        return f"All {reading.prefix} tasks"
    return f"All {reading.named}"
