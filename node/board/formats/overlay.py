"""``.ifmesh/tasks.yaml``: an optional overlay that adds what the seed board's table does not
carry — task type, required capabilities, model, estimate — per task id::

    P0.5.2:
      task_type: docs
      required_capabilities: [docs:technical-writing, docs:governance]
      model: haiku
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from ifmesh.node.board.errors import TaskOverlayError
from ifmesh.node.board.formats.yamlsafe import SAFE_LOADER

_CAPABILITY = re.compile(r"^[^\s:][^:]*:\S(.*\S)?$")
_KEYS = {"task_type", "required_capabilities", "model", "estimate_hours", "title"}


@dataclass(frozen=True, slots=True)
class TaskOverlay:
    task_id: str
    task_type: str | None = None
    required_capabilities: tuple[str, ...] | None = None
    model: str | None = None
    estimate_hours: float | None = None
    title: str | None = None


def parse_overlay(text: str, path: str = ".ifmesh/tasks.yaml") -> dict[str, TaskOverlay]:
    """Parses the overlay; raises TaskOverlayError naming the file and line at fault."""
    try:
        node = yaml.compose(text, Loader=SAFE_LOADER)
        data = yaml.load(text, Loader=SAFE_LOADER)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        raise TaskOverlayError(
            f"not valid YAML: {exc.problem}", path=path, line=mark.line + 1 if mark else None
        ) from None
    if data is None:
        return {}
    if not isinstance(node, yaml.MappingNode) or not isinstance(data, dict):
        raise TaskOverlayError("the overlay maps task ids to their fields", path=path, line=1)
    lines = {str(k.value): k.start_mark.line + 1 for k, _ in node.value}
    result: dict[str, TaskOverlay] = {}
    for task_id, entry in data.items():
        line = lines.get(str(task_id))
        result[str(task_id)] = _entry(str(task_id), entry, path, line)
    return result


def _entry(task_id: str, entry: Any, path: str, line: int | None) -> TaskOverlay:
    if not isinstance(entry, Mapping):
        raise TaskOverlayError(f"{task_id}: expected a mapping of fields", path=path, line=line)
    unknown = set(map(str, entry)) - _KEYS
    if unknown:
        raise TaskOverlayError(
            f"{task_id}: unknown key(s) {', '.join(sorted(unknown))};"
            f" known: {', '.join(sorted(_KEYS))}",
            path=path,
            line=line,
        )
    caps = entry.get("required_capabilities")
    if caps is not None:
        if isinstance(caps, str):
            caps = [c.strip() for c in caps.split(",") if c.strip()]
        if not isinstance(caps, list) or not all(
            isinstance(c, str) and _CAPABILITY.match(c) for c in caps
        ):
            raise TaskOverlayError(
                f"{task_id}: required_capabilities are 'category:name' strings",
                path=path,
                line=line,
            )
        caps = tuple(caps)
    estimate = entry.get("estimate_hours")
    if estimate is not None and (
        isinstance(estimate, bool) or not isinstance(estimate, int | float)
    ):
        raise TaskOverlayError(f"{task_id}: estimate_hours is a number", path=path, line=line)
    return TaskOverlay(
        task_id=task_id,
        task_type=_opt_str(entry.get("task_type")),
        required_capabilities=caps,
        model=_opt_str(entry.get("model")),
        estimate_hours=float(estimate) if estimate is not None else None,
        title=_opt_str(entry.get("title")),
    )


def _opt_str(value: Any) -> str | None:
    return None if value is None else str(value)
