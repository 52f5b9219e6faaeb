"""The YAML of a STATUS file as sessions write it: comment banners, several documents, and
YAML that breaks part-way through.

:func:`read_mapping` returns the top-level keys it could read, with the line of each, and the
problems it met. When the YAML breaks, the keys read before the first error are kept: the text
is cut before the top-level key whose block holds the error, and read again. Several documents
(a session appending a new report each time) merge in order, later keys winning, except that
what they report completed adds up.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from ifmesh.node.board.formats.problems import ReadProblem
from ifmesh.node.board.formats.yamlsafe import SAFE_LOADER

_TOP_LEVEL_KEY = re.compile(r"^[^\s#\-][^:]*:(?:\s|$)")
_DOCUMENT = re.compile(r"^(?:---|\.\.\.)(?:\s|$)")
COMPLETED_KEYS = ("completed", "tasks_completed", "completed_tasks", "done", "finished")


@dataclass
class Mapping_:
    values: dict[str, Any] = field(default_factory=dict)
    lines: dict[str, int] = field(default_factory=dict)
    completed: list[Any] = field(default_factory=list)  # every document's, in order
    problems: list[ReadProblem] = field(default_factory=list)
    documents: int = 0


def read_mapping(text: str, path: str) -> Mapping_:
    result = Mapping_()
    usable, error = _usable_text(text, path)
    if error is not None:
        result.problems.append(error)
    try:
        nodes = list(yaml.compose_all(usable, Loader=SAFE_LOADER))
    except yaml.YAMLError as exc:  # the cut text still fails: keep nothing from it
        result.problems.append(_problem(exc, path, None, partial=False))
        return result
    builder = SAFE_LOADER("")  # builds values from the nodes already composed
    for node in nodes:
        if node is None:
            continue
        if not isinstance(node, yaml.MappingNode):
            result.problems.append(
                ReadProblem(
                    path,
                    node.start_mark.line + 1,
                    "a STATUS document is a mapping of keys (session: …, status: …);"
                    " this one is not and is skipped",
                )
            )
            continue
        data = builder.construct_document(node)
        if not isinstance(data, dict):
            continue
        result.documents += 1
        for key_node, _ in node.value:
            if isinstance(key_node, yaml.ScalarNode):
                result.lines[str(key_node.value)] = key_node.start_mark.line + 1
        for raw_key, value in data.items():
            key = str(raw_key)
            if key in COMPLETED_KEYS:
                result.completed.append(value)
            result.values[key] = value
    return result


def _usable_text(text: str, path: str) -> tuple[str, ReadProblem | None]:
    """The text, or the part of it before the top-level key whose block holds the first error.

    The parser notices an error where it stops making sense, which can be a key or two after
    the one at fault (an unclosed ``[`` runs on): cut before the key at or above that line, and
    again one key higher while what is left still fails."""
    first: ReadProblem | None = None
    end = len(text)
    while True:
        try:
            for _ in yaml.compose_all(text[:end], Loader=SAFE_LOADER):
                pass
            return text[:end], first
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            bad_line = mark.line if mark is not None else 0  # 0-based
            failure: yaml.YAMLError = exc
        except yaml.YAMLError as exc:
            return "", first or _problem(exc, path, None, partial=False)
        lines = text[:end].splitlines(keepends=True)
        cut = 0
        for index in range(min(bad_line, len(lines) - 1), -1, -1):
            if _TOP_LEVEL_KEY.match(lines[index]) or _DOCUMENT.match(lines[index]):
                cut = index
                break
        # The problem names the first key left out: that is the line a person has to fix.
        first = first or _problem(failure, path, cut + 1, partial=cut > 0)
        end = sum(len(line) for line in lines[:cut])
        if cut == 0:
            return "", first


def _problem(exc: yaml.YAMLError, path: str, line: int | None, *, partial: bool) -> ReadProblem:
    reason = str(exc)
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        noticed = f" at line {mark.line + 1}" if mark is not None else ""
        reason = f"{exc.problem or exc}{noticed}"
        line = line or (mark.line + 1 if mark is not None else None)
    kept = "the keys above it are read" if partial else "nothing could be read"
    return ReadProblem(path, line, f"not valid YAML from here ({reason}); {kept}", partial=partial)
