"""``STATUS-SESSION-*.yaml``: one session's status file, in the seed's keys.

Two shapes exist in the wild and both parse: the progress report (``session``,
``current_task`` / ``claiming`` / ``completed``, ``milestone: "50% - ..."``, ``timestamp``,
``branch``, ``blocked_on``, ``next_action``, ``deliverable``, ``tests_pass``) and the bash
polling loop's minimal file (``session``, ``status``, ``last_poll``, ``branch``,
``current_task``). Unknown keys are kept and written back. ``epoch`` is ifmesh's addition: a
``claiming:`` with an epoch is a confirm record (DESIGN.md, "Data flow of one claim").

A corrupt file raises :class:`StatusFileError` with the file and line; ``load_status_files``
collects such errors per file so one bad file never hides the others.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import UTC, date, datetime
from types import MappingProxyType
from typing import Any

import yaml

from ifmesh.node.board.errors import StatusFileError
from ifmesh.node.board.formats.yamlsafe import SAFE_LOADER
from ifmesh.node.protocol.messages import format_timestamp

_SESSION_ID = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
_TASK_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")
_PERCENT = re.compile(r"^\s*(\d{1,3})\s*%")
_NO_TASK = {"", "none", "null", "-", "~"}
_PLAIN_SAFE = re.compile(r"^[A-Za-z0-9_./][A-Za-z0-9_./*@+=-]*$")

KEY_ORDER = (
    "session",
    "status",
    "current_task",
    "claiming",
    "completed",
    "epoch",
    "milestone",
    "timestamp",
    "last_poll",
    "branch",
    "blocked_on",
    "next_action",
    "deliverable",
    "tests_pass",
)


def status_file_name(session_id: str) -> str:
    """``session-2-webrtc`` → ``STATUS-SESSION-2-WEBRTC.yaml`` (the seed's naming)."""
    return f"STATUS-{session_id.upper()}.yaml"


@dataclass(frozen=True, slots=True)
class StatusFile:
    session: str
    status: str | None = None
    current_task: str | None = None
    claiming: str | None = None
    completed: str | None = None
    epoch: int | None = None
    milestone: str | None = None
    timestamp: datetime | None = None
    last_poll: datetime | None = None
    branch: str | None = None
    blocked_on: tuple[str, ...] = ()
    next_action: str | None = None
    deliverable: str | None = None
    tests_pass: bool | None = None
    extra: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    # The order keys had in the parsed file, so rewriting a file keeps its shape.
    order: tuple[str, ...] = field(default=(), compare=False, repr=False)

    @property
    def percent(self) -> int | None:
        """The milestone's percentage (``"50% - Policy ..."`` → 50), if it states one."""
        match = _PERCENT.match(self.milestone or "")
        return int(match.group(1)) if match else None

    @property
    def task(self) -> str | None:
        """The task this file is about, whichever key names it."""
        return self.claiming or self.current_task or self.completed

    @property
    def last_seen(self) -> datetime | None:
        """When the session last wrote: ``timestamp``, else the polling loop's ``last_poll``."""
        stamps = [t for t in (self.timestamp, self.last_poll) if t is not None]
        return max(stamps) if stamps else None


def _lines_of(node: yaml.MappingNode) -> dict[str, int]:
    return {
        str(key.value): key.start_mark.line + 1
        for key, _ in node.value
        if isinstance(key, yaml.ScalarNode)
    }


def _fail(reason: str, path: str, line: int | None) -> StatusFileError:
    return StatusFileError(reason, path=path, line=line)


def _text(value: Any, key: str, path: str, line: int | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool | list | dict):
        raise _fail(f"{key} must be text, not {type(value).__name__}", path, line)
    return str(value)


def _task(value: Any, key: str, path: str, line: int | None) -> str | None:
    text = _text(value, key, path, line)
    if text is None or text.strip().lower() in _NO_TASK:
        return None
    text = text.strip()
    if not _TASK_ID.match(text):
        raise _fail(f"{key} {text!r} is not a task id like 'P0.5.2'", path, line)
    return text


def _time(value: Any, key: str, path: str, line: int | None) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, date):
        parsed = datetime(value.year, value.month, value.day)
    elif isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.strip())
        except ValueError:
            raise _fail(
                f"{key} {value!r} is not a timestamp like 2025-11-12T14:30:00Z", path, line
            ) from None
    else:
        raise _fail(f"{key} must be a timestamp", path, line)
    # `date -Iseconds` always writes an offset; a bare time is read as UTC, like git does.
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _blocked_on(value: Any, path: str, line: int | None) -> tuple[str, ...]:
    if value is None:
        return ()
    items = value if isinstance(value, list) else str(value).split(",")
    result = []
    for item in items:
        task = _task(item, "blocked_on", path, line)
        if task is not None:
            result.append(task)
    return tuple(result)


def _tests_pass(value: Any, path: str, line: int | None) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false", "yes", "no"):
        return value.strip().lower() in ("true", "yes")
    raise _fail(f"tests_pass must be true or false, not {value!r}", path, line)


def parse_status(text: str, path: str = "STATUS.yaml") -> StatusFile:
    """Parses one STATUS file; raises StatusFileError naming ``path`` and the line at fault."""
    try:
        node = yaml.compose(text, Loader=SAFE_LOADER)
        data = yaml.load(text, Loader=SAFE_LOADER)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        raise _fail(f"not valid YAML: {exc.problem or exc}", path, line) from None
    except yaml.YAMLError as exc:
        raise _fail(f"not valid YAML: {exc}", path, None) from None
    if not isinstance(node, yaml.MappingNode) or not isinstance(data, dict):
        line = node.start_mark.line + 1 if node is not None else 1
        raise _fail("a STATUS file is a mapping of keys (session: ..., status: ...)", path, line)
    lines = _lines_of(node)
    values: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    for raw_key, value in data.items():
        key = str(raw_key)
        (values if key in KEY_ORDER else extra)[key] = value

    def at(key: str) -> int | None:
        return lines.get(key)

    session = _text(values.get("session"), "session", path, at("session"))
    if session is None:
        raise _fail("missing 'session' (e.g. session: session-2-webrtc)", path, 1)
    if not _SESSION_ID.match(session):
        raise _fail(
            f"session {session!r} is not a session id like 'session-2-webrtc'", path, at("session")
        )
    epoch = values.get("epoch")
    if epoch is not None and (isinstance(epoch, bool) or not isinstance(epoch, int) or epoch < 0):
        raise _fail(f"epoch must be a whole number ≥ 0, not {epoch!r}", path, at("epoch"))
    milestone = values.get("milestone")
    if isinstance(milestone, int) and not isinstance(milestone, bool):
        milestone = f"{milestone}%"
    return StatusFile(
        session=session,
        status=_text(values.get("status"), "status", path, at("status")),
        current_task=_task(values.get("current_task"), "current_task", path, at("current_task")),
        claiming=_task(values.get("claiming"), "claiming", path, at("claiming")),
        completed=_task(values.get("completed"), "completed", path, at("completed")),
        epoch=epoch,
        milestone=_text(milestone, "milestone", path, at("milestone")),
        timestamp=_time(values.get("timestamp"), "timestamp", path, at("timestamp")),
        last_poll=_time(values.get("last_poll"), "last_poll", path, at("last_poll")),
        branch=_text(values.get("branch"), "branch", path, at("branch")),
        blocked_on=_blocked_on(values.get("blocked_on"), path, at("blocked_on")),
        next_action=_text(values.get("next_action"), "next_action", path, at("next_action")),
        deliverable=_text(values.get("deliverable"), "deliverable", path, at("deliverable")),
        tests_pass=_tests_pass(values.get("tests_pass"), path, at("tests_pass")),
        extra=MappingProxyType(extra),
        order=tuple(str(k) for k in data),
    )


def _scalar(value: Any, *, quote: bool = False) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, datetime):
        return format_timestamp(value)
    text = str(value)
    if not quote and _PLAIN_SAFE.match(text) and yaml.load(text, Loader=SAFE_LOADER) == text:
        return text
    return json.dumps(text, ensure_ascii=False)


def render_status(status: StatusFile) -> str:
    """The file's text: keys in the order the parsed file had them, others in the seed's
    order, unknown keys last; ``parse_status(render_status(s)) == s``."""
    known = {f.name for f in fields(status)} - {"extra", "order"}
    order = [k for k in status.order if k in known or k in status.extra]
    order += [k for k in KEY_ORDER if k not in order]
    order += [k for k in status.extra if k not in order]
    out = []
    for key in order:
        if key in status.extra:
            dumped = yaml.safe_dump(
                {key: status.extra[key]}, default_flow_style=False, allow_unicode=True
            )
            out.append(dumped.rstrip("\n"))
            continue
        value = getattr(status, key)
        if value is None or value == ():
            continue
        if key == "blocked_on":
            value = ", ".join(value)
        out.append(f"{key}: {_scalar(value, quote=key in ('milestone', 'next_action'))}")
    return "\n".join(out) + "\n"


def load_status_files(
    files: Mapping[str, str],
) -> tuple[dict[str, StatusFile], list[StatusFileError]]:
    """Parses every file (path → text); a bad file becomes an error, the others still load.

    A file whose name does not match its ``session`` (``STATUS-`` + id upper-cased) is an error
    too: it would let one session's file speak for another.
    """
    statuses: dict[str, StatusFile] = {}
    problems: list[StatusFileError] = []
    for path, text in sorted(files.items()):
        try:
            status = parse_status(text, path)
        except StatusFileError as exc:
            problems.append(exc)
            continue
        name = path.rsplit("/", 1)[-1]
        if name.startswith("STATUS-") and name != status_file_name(status.session):
            problems.append(
                _fail(
                    f"session {status.session} belongs in {status_file_name(status.session)}",
                    path,
                    1,
                )
            )
            continue
        statuses[status.session] = status
    return statuses, problems
