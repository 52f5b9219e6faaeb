"""Reading a policy file: YAML that keeps line numbers, so every error names key path and line.

PyYAML's composer gives nodes with their marks; we build plain data from them ourselves and
remember the line of each key, then let pydantic validate. A pydantic error's location is a
key path; the nearest recorded line for it is where the person should look. Duplicate keys,
which PyYAML would silently resolve to the last one, are refused here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from ifmesh.node.governor.errors import InvalidPolicyFile, PolicyProblem
from ifmesh.node.governor.policy import Policy, PolicyDocument, policy_from_model

KeyPath = tuple[str | int, ...]

MAX_POLICY_BYTES = 1 << 20


def load_policy(path: str | Path) -> Policy:
    """Reads and validates the policy file at ``path``.

    Raises OSError when the file cannot be read, :class:`InvalidPolicyFile` when it does not
    validate.
    """
    file = Path(path)
    data = file.read_bytes()
    if len(data) > MAX_POLICY_BYTES:
        problem = PolicyProblem("", None, f"file is {len(data)} bytes; a policy is at most 1 MiB")
        raise InvalidPolicyFile((problem,), file=str(file))
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        problem = PolicyProblem("", None, f"not UTF-8 text ({exc.reason} at byte {exc.start})")
        raise InvalidPolicyFile((problem,), file=str(file)) from None
    return parse_policy(text, file=str(file))


def parse_policy(text: str, *, file: str = "") -> Policy:
    """Validates policy YAML ``text``; ``file`` only labels error messages."""
    data, lines = _read_yaml(text, file)
    if not isinstance(data, dict):
        found = "an empty file" if data is None else f"a {type(data).__name__}"
        problem = PolicyProblem(
            "", lines.get(()), f"expected a mapping with the key 'resource_policy', found {found}"
        )
        raise InvalidPolicyFile((problem,), file=file)
    try:
        document = PolicyDocument.model_validate(data)
    except ValidationError as exc:
        raise InvalidPolicyFile(_problems(exc, lines), file=file) from None
    return policy_from_model(document.resource_policy)


def _read_yaml(text: str, file: str) -> tuple[Any, dict[KeyPath, int]]:
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        lines: dict[KeyPath, int] = {}
        if node is None:
            return None, lines
        data = _build(loader, node, (), lines, file)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = PolicyProblem("", line, f"not valid YAML: {exc.problem or exc.context}")
        raise InvalidPolicyFile((problem,), file=file) from None
    except yaml.YAMLError as exc:
        raise InvalidPolicyFile(
            (PolicyProblem("", None, f"not valid YAML: {exc}"),), file=file
        ) from None
    finally:
        loader.dispose()
    return data, lines


def _build(
    loader: yaml.SafeLoader,
    node: yaml.Node,
    path: KeyPath,
    lines: dict[KeyPath, int],
    file: str,
) -> Any:
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            if not isinstance(key, str | int | float | bool) and key is not None:
                problem = PolicyProblem(
                    _dotted(path), key_node.start_mark.line + 1, "a key must be a plain scalar"
                )
                raise InvalidPolicyFile((problem,), file=file)
            name = str(key)
            if name in result:
                problem = PolicyProblem(
                    _dotted((*path, name)),
                    key_node.start_mark.line + 1,
                    f"duplicate key (first given on line {lines[(*path, name)]})",
                )
                raise InvalidPolicyFile((problem,), file=file)
            # The key's line, not the value's: a nested mapping's value starts a line later.
            lines[(*path, name)] = key_node.start_mark.line + 1
            result[name] = _build(loader, value_node, (*path, name), lines, file)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [
            _build(loader, item, (*path, index), lines, file)
            for index, item in enumerate(node.value)
        ]
    return loader.construct_object(node, deep=True)


def _problems(exc: ValidationError, lines: dict[KeyPath, int]) -> tuple[PolicyProblem, ...]:
    problems = []
    for error in exc.errors(include_url=False):
        path: KeyPath = tuple(error["loc"])
        message = str(error["msg"])
        kind = error["type"]
        if kind == "extra_forbidden":
            message = "unknown key (check the spelling; `ifmesh governor check` lists the keys)"
        elif kind == "missing":
            message = "required key is missing"
        elif kind in ("model_type", "dict_type"):
            message = "must be a mapping of keys to values"
        elif "input" in error and repr(error["input"]) not in message:
            message = f"{message} (got {error['input']!r})"
        problems.append(PolicyProblem(_dotted(path), _line_of(path, lines), message))
    return tuple(sorted(problems, key=lambda p: (p.line or 0, p.key_path)))


def _line_of(path: KeyPath, lines: dict[KeyPath, int]) -> int | None:
    """The line of ``path``, or of its nearest ancestor in the file (a missing key's parent)."""
    for end in range(len(path), -1, -1):
        line = lines.get(path[:end])
        if line is not None:
            return line
    return None


def _dotted(path: KeyPath) -> str:
    return ".".join(str(part) for part in path)
