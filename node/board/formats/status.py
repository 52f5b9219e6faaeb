"""``STATUS-SESSION-*.yaml``: one session's status file, in the seed's keys.

Two shapes come from the Phase-0 instructions and both parse: the progress report (``session``,
``current_task`` / ``claiming`` / ``completed``, ``milestone: "50% - ..."``, ``timestamp``,
``branch``, ``blocked_on``, ``next_action``, ``deliverable``, ``tests_pass``) and the bash
polling loop's minimal file (``session``, ``status``, ``last_poll``, ``branch``,
``current_task``). Unknown keys are kept and written back. ``epoch`` is ifmesh's addition: a
``claiming:`` with an epoch is a confirm record (DESIGN.md, "Data flow of one claim").

Files as sessions really write them are read too (:mod:`.statusyaml`, :mod:`.statusvalues`):
YAML that breaks part-way (the keys before the error are kept), several documents, nested
status maps, completed tasks under varied keys, timestamps in several formats or missing, and a
file name that names the session differently from its ``session:`` field. Nothing in a file's
content makes reading fail: what could not be read is in ``StatusFile.problems``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

import yaml

from ifmesh.node.board.errors import StatusFileError
from ifmesh.node.board.formats import statusvalues as values
from ifmesh.node.board.formats.problems import ReadProblem
from ifmesh.node.board.formats.statusyaml import COMPLETED_KEYS, read_mapping
from ifmesh.node.board.formats.yamlsafe import SAFE_LOADER
from ifmesh.node.protocol.fields import format_timestamp

_PERCENT = re.compile(r"^\s*(\d{1,3})\s*%")
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
    # Every task the file reports completed, under whichever key (``completed`` included).
    completed_tasks: tuple[str, ...] = field(default=(), compare=False)
    # What could not be read, with its line; the file is "partly read" when there is any.
    problems: tuple[ReadProblem, ...] = field(default=(), compare=False, repr=False)
    # The session the file's name gives, when its ``session:`` field names it differently.
    named: str | None = field(default=None, compare=False)

    @property
    def partly_read(self) -> bool:
        return bool(self.problems)

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


_STATUS_NAME = re.compile(r"^STATUS-(.+)\.ya?ml$", re.I)


def session_named_by(path: str) -> str | None:
    """``STATUS-SESSION-2-WEBRTC.yaml`` → ``session-2-webrtc``; None for any other file."""
    match = _STATUS_NAME.match(path.rsplit("/", 1)[-1])
    return values.session(match.group(1)) if match else None


def same_session(one: str, other: str) -> bool:
    """Whether two ids name one session (``session-4`` / ``session-4-sip`` / ``4-sip``)."""
    short, long = sorted((one, other), key=len)
    return long == short or long.startswith(short + "-") or long.endswith("-" + short)


def _identity(
    field_value: Any, path: str, file_name: str, line: int | None
) -> tuple[str, str | None, ReadProblem | None]:
    """(session, the file name's session when it differs, the warning about it)."""
    said = values.session(field_value) if field_value is not None else None
    named = session_named_by(file_name)
    if said is None and named is None:
        raise StatusFileError(
            "missing 'session' (e.g. session: session-2-webrtc), and the file name"
            " (STATUS-<SESSION>.yaml) names none",
            path=path,
            line=line or 1,
        )
    if said is None or named is None or said == named:
        return (said or named), None, None  # type: ignore[return-value]
    if same_session(said, named):
        reason = (
            f"the file name names session {named!r} and its session: field {said!r}; read as"
            f" one session, {said}, whose node keeps writing this file"
        )
        return said, named, ReadProblem(path, line, reason)
    reason = (
        f"says session {said!r} but the file belongs to {named!r} (one writer per file);"
        f" read as {named}"
    )
    return named, None, ReadProblem(path, line, reason)


def parse_status(
    text: str, path: str = "STATUS.yaml", *, file_name: str | None = None
) -> StatusFile:
    """Reads one STATUS file. What it cannot read is in ``problems``; it raises
    StatusFileError only when neither the file nor its name says whose it is.

    ``path`` names the file in problems (``STATUS-X.yaml (commit 1a2b3c)``); ``file_name``,
    when ``path`` is such a description, is the file's own path, whose name says whose it is."""
    read = read_mapping(text, path)
    problems = list(read.problems)
    data = dict(read.values)
    completed_values = list(read.completed)
    nested = data.get("status")
    if isinstance(nested, dict):  # status: {current_task: …, milestone: …, state: …}
        for key, value in nested.items():
            data.setdefault(str(key), value)
            read.lines.setdefault(str(key), read.lines.get("status", 1))
            if str(key) in COMPLETED_KEYS:
                completed_values.append(value)
        data["status"] = nested.get("state", nested.get("status"))
    known = {k: v for k, v in data.items() if k in KEY_ORDER}
    extra = {k: v for k, v in data.items() if k not in KEY_ORDER}

    def note(key: str, reason: str | None) -> None:
        if reason is not None:
            problems.append(ReadProblem(path, read.lines.get(key), f"{key}: {reason}"))

    def task_of(key: str) -> str | None:
        found, problem = values.task(known.get(key))
        note(key, problem)
        return found

    def time_of(key: str) -> datetime | None:
        found, problem = values.timestamp(known.get(key))
        note(key, problem)
        return found

    session, named, identity = _identity(
        known.get("session"), path, file_name or path, read.lines.get("session")
    )
    if identity is not None:
        problems.append(identity)
    epoch = known.get("epoch")
    if epoch is not None and (isinstance(epoch, bool) or not isinstance(epoch, int) or epoch < 0):
        note("epoch", f"must be a whole number ≥ 0, not {epoch!r}; read as none")
        epoch = None
    milestone = known.get("milestone")
    if isinstance(milestone, int) and not isinstance(milestone, bool):
        milestone = f"{milestone}%"
    tests_pass, problem = values.tests_pass(known.get("tests_pass"))
    note("tests_pass", problem)
    done_in_map, working = values.nested_tasks(extra.get("tasks", extra.get("task_status")))
    completed_tasks = values.tasks(completed_values) + done_in_map
    completed = task_of("completed") if not isinstance(known.get("completed"), list) else None
    current = task_of("current_task") or (working if "current_task" not in known else None)
    return StatusFile(
        session=session,
        status=values.text(known.get("status")),
        current_task=current,
        claiming=task_of("claiming"),
        completed=completed,
        epoch=epoch,
        milestone=values.text(milestone),
        timestamp=time_of("timestamp"),
        last_poll=time_of("last_poll"),
        branch=values.text(known.get("branch")),
        blocked_on=values.tasks([known.get("blocked_on")]),
        next_action=values.text(known.get("next_action")),
        deliverable=values.text(known.get("deliverable")),
        tests_pass=tests_pass,
        extra=MappingProxyType(extra),
        order=tuple(data),
        completed_tasks=tuple(dict.fromkeys(completed_tasks)),
        problems=tuple(problems),
        named=named,
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
) -> tuple[dict[str, StatusFile], list[ReadProblem]]:
    """Reads every file (path → text), by session; what could not be read is in the problems.

    Two files for one session (``STATUS-SESSION-4.yaml`` and ``STATUS-SESSION-4-SIP.yaml`` both
    saying ``session: session-4-sip``): the one written last counts, and the other is reported.
    """
    statuses: dict[str, StatusFile] = {}
    paths: dict[str, str] = {}
    problems: list[ReadProblem] = []
    for path, text in sorted(files.items()):
        try:
            status = parse_status(text, path)
        except StatusFileError as exc:
            problems.append(ReadProblem(path, exc.line, exc.reason, partial=False))
            continue
        problems += status.problems
        earlier = statuses.get(status.session)
        if earlier is not None:
            newer = _newer(status, earlier)
            dropped = paths[status.session] if newer is status else path
            problems.append(
                ReadProblem(
                    dropped,
                    1,
                    f"a second STATUS file for {status.session} (also"
                    f" {path if dropped != path else paths[status.session]}); the newer one counts",
                    partial=False,
                )
            )
            if newer is earlier:
                continue
        statuses[status.session] = status
        paths[status.session] = path
    return statuses, problems


def _newer(one: StatusFile, other: StatusFile) -> StatusFile:
    floor = datetime.min.replace(tzinfo=UTC)
    return one if (one.last_seen or floor) > (other.last_seen or floor) else other
