"""The YAML of a STATUS file as sessions write it: comment banners, several documents, and
YAML that breaks part-way through.

:func:`read_mapping` returns the top-level keys it could read, with the line of each, and the
problems it met. When the YAML breaks, the keys read before the first error are kept: the text
is cut before the top-level key whose block holds the error, and read again; the problem names
the first key left out, the line a person has to fix. A character YAML refuses (a terminal's
colour codes, say) breaks it the same way. A value that parses but cannot be built (an unknown
``!tag``, a date such as ``2025-02-30``) costs only its own key, reported on the key's line.
Several documents (a session appending a new report each time) merge in order, later keys
winning, except that what they report completed adds up. A file an agent wrapped in a Markdown
code fence (```` ```yaml ```` … ```` ``` ````) is read without the fence lines.

Lines are counted as editors and git count them, by ``\\n`` (PyYAML also breaks lines at
``\\r``, NEL and the Unicode separators): a problem's line is the one ``sed -n Np`` shows.
"""

from __future__ import annotations

import bisect
import itertools
import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from ifmesh.node.board.formats.problems import ReadProblem
from ifmesh.node.board.formats.yamlsafe import SAFE_LOADER

_TOP_LEVEL_KEY = re.compile(r"^[^\s#\-][^:]*:(?:\s|$)")
_DOCUMENT = re.compile(r"^(?:---|\.\.\.)(?:\s|$)")
_FENCE = re.compile(r"^[ \t]*(?:```|~~~)[\w-]*[ \t]*\r?$", re.M)
COMPLETED_KEYS = ("completed", "tasks_completed", "completed_tasks", "done", "finished")
# What building a value from parsed YAML raises besides YAMLError: a date out of range
# (ValueError), an int tag on words (ValueError), an alias nested past the stack (RecursionError).
_BUILD_ERRORS = (yaml.YAMLError, ValueError, TypeError, OverflowError, RecursionError)


@dataclass
class Mapping_:
    values: dict[str, Any] = field(default_factory=dict)
    lines: dict[str, int] = field(default_factory=dict)
    completed: list[Any] = field(default_factory=list)  # every document's, in order
    problems: list[ReadProblem] = field(default_factory=list)
    documents: int = 0


def line_of(text: str, index: int) -> int:
    """The 1-based line (counted by ``\\n``) of character ``index``."""
    return text.count("\n", 0, index) + 1


class _LineIndex:
    """Lines of many positions in one text: :func:`line_of` for each key of a long file would
    count its newlines again and again."""

    def __init__(self, text: str) -> None:
        self.starts = list(itertools.accumulate(len(part) + 1 for part in text.split("\n")))

    def line(self, index: int) -> int:
        return bisect.bisect_right(self.starts, index) + 1


def read_mapping(text: str, path: str) -> Mapping_:
    result = Mapping_()
    text = _unfenced(text)
    index = _LineIndex(text)
    nodes, error = _usable_nodes(text, path)
    if error is not None:
        result.problems.append(error)
    for node in nodes:
        if node is None:
            continue
        if not isinstance(node, yaml.MappingNode):
            result.problems.append(
                ReadProblem(
                    path,
                    index.line(node.start_mark.index),
                    "a STATUS document is a mapping of keys (session: …, status: …);"
                    " this one is not and is skipped",
                )
            )
            continue
        result.documents += 1
        for key, value, line in _entries(node, index, path, result.problems):
            result.lines[key] = line
            if key in COMPLETED_KEYS:
                result.completed.append(value)
            result.values[key] = value
    return result


def _unfenced(text: str) -> str:
    """The text with the fence lines around it turned into comments, when its first line that
    is not blank opens a code fence; every other character keeps its place (and its line)."""
    first = text.lstrip("\ufeff \t\r\n")
    if not first.startswith(("```", "~~~")):
        return text
    return _FENCE.sub(lambda m: "#" + m.group(0)[1:], text)


def _entries(
    node: yaml.MappingNode, index: _LineIndex, path: str, problems: list[ReadProblem]
) -> list[tuple[str, Any, int]]:
    """(key, value, line) of each top-level pair; a pair that cannot be built is reported."""
    pairs = list(node.value)  # building merges ``<<:`` keys into the node itself
    lines = [index.line(key.start_mark.index) for key, _ in pairs]
    by_key = {str(k.value): n for (k, _), n in zip(pairs, lines, strict=True)}
    try:
        data = SAFE_LOADER("").construct_document(node)
        if isinstance(data, dict):
            first = lines[0] if lines else index.line(node.start_mark.index)
            return [(str(k), v, by_key.get(str(k), first)) for k, v in data.items()]
    except _BUILD_ERRORS:
        pass  # some value cannot be built: build them one by one
    entries: list[tuple[str, Any, int]] = []
    for (key_node, value_node), line in zip(pairs, lines, strict=True):
        single = yaml.MappingNode("tag:yaml.org,2002:map", [(key_node, value_node)])
        try:
            built = SAFE_LOADER("").construct_document(single)
        except _BUILD_ERRORS as exc:
            name = key_node.value if isinstance(key_node, yaml.ScalarNode) else "a key"
            reason = f"{name}: {_reason(exc)}; this key is left out"
            problems.append(ReadProblem(path, line, reason))
            continue
        entries += [(str(k), v, line) for k, v in built.items()]
    return entries


def _usable_nodes(text: str, path: str) -> tuple[list[Any], ReadProblem | None]:
    """The documents of the text, or of the part of it before the top-level key whose block
    holds the first error.

    The parser notices an error where it stops making sense, which can be a key or two after
    the one at fault (an unclosed ``[`` or ``"`` runs on): cut before the key at or above that
    line, and again one key higher while what is left still fails."""
    first: yaml.YAMLError | None = None
    end = len(text)
    while True:
        try:
            nodes = list(yaml.compose_all(text[:end], Loader=SAFE_LOADER))
        except yaml.YAMLError as exc:
            index = _error_index(exc)
            if index is None:
                return [], _problem(exc, text, path, None, partial=False)
            first = first or exc
            cut = _cut(text, min(index, end - 1))  # before ``end``: each pass cuts more
        except RecursionError as exc:  # nested past the stack: nothing to keep
            return [], _problem(exc, text, path, 1, partial=False)
        else:
            if first is None:
                return nodes, None
            # The problem names the first key left out: that is the line a person has to fix.
            return nodes, _problem(first, text, path, line_of(text, end), partial=end > 0)
        if cut == 0:
            return [], _problem(first, text, path, 1, partial=False)
        end = cut


def _error_index(exc: yaml.YAMLError) -> int | None:
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        return mark.index if mark is not None else None
    position = getattr(exc, "position", None)  # a ReaderError: a character YAML refuses
    return position if isinstance(position, int) else None


def _cut(text: str, index: int) -> int:
    """Where the line of the top-level key (or document marker) at or above ``index`` starts."""
    start = text.rfind("\n", 0, index) + 1
    while start > 0:
        end = text.find("\n", start)
        line = text[start : end if end >= 0 else len(text)]
        if _TOP_LEVEL_KEY.match(line) or _DOCUMENT.match(line):
            return start
        start = text.rfind("\n", 0, start - 1) + 1
    return 0


def _reason(exc: BaseException) -> str:
    if isinstance(exc, yaml.MarkedYAMLError):
        return str(exc.problem or exc.context or exc).strip()
    if isinstance(exc, yaml.YAMLError):
        return str(exc).split("\n", 1)[0]
    if isinstance(exc, RecursionError):
        return "the value refers to itself"
    return f"not a value YAML can build ({exc})"


def _problem(
    exc: BaseException, text: str, path: str, line: int | None, *, partial: bool
) -> ReadProblem:
    reason = _reason(exc)
    index = _error_index(exc) if isinstance(exc, yaml.YAMLError) else None
    if index is not None:
        noticed = line_of(text, index)
        reason = f"{reason} at line {noticed}"
        line = line or noticed
    kept = "the keys above it are read" if partial else "nothing could be read"
    return ReadProblem(path, line, f"not valid YAML from here ({reason}); {kept}", partial=partial)
