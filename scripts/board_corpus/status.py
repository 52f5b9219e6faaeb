"""The STATUS-file half of the corpus: the example STATUS files of examples/phase0/ rewritten the
ways sessions write them, each with the reading the rules of node/board/formats/status.py,
statusyaml.py and statusvalues.py give it. Here: the model, files written differently but read
the same, and other shapes (documents, nested maps, completed tasks under other keys);
status_breaks.py: timestamps, names, YAML broken part-way, long files.

A case is a function: its name names the case, its docstring says what it shows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from board_corpus.model import EXAMPLE

TASK_KEYS = ("current_task", "claiming", "completed")
NDI = "STATUS-SESSION-1-NDI.yaml"
WEBRTC = "STATUS-SESSION-2-WEBRTC.yaml"
H323 = "STATUS-SESSION-3-H323.yaml"
SIP = "STATUS-SESSION-4-SIP.yaml"
CLI = "STATUS-SESSION-5-CLI.yaml"
Entries = list[tuple[str, str]]  # (key, value as written)


@dataclass
class Case:
    files: dict[str, str]  # file name → text
    readings: dict[str, dict[str, Any]]  # file name → its expected reading
    sessions: dict[str, str]  # session → the file that counts for it
    dropped: list[str] = field(default_factory=list)  # reported as a second file for a session
    name: str = ""
    about: str = ""
    mutations: list[str] = field(default_factory=list)


CASES: list[Callable[[], Case]] = []


def case(*mutations: str) -> Callable[[Callable[[], Case]], Callable[[], Case]]:
    def register(function: Callable[[], Case]) -> Callable[[], Case]:
        def make() -> Case:
            about = " ".join((function.__doc__ or "").split())
            name = function.__name__.replace("_", "-")
            return replace(function(), name=name, about=about, mutations=list(mutations))

        CASES.append(make)
        return function

    return register


def single(file: str, text: str, expect: dict[str, Any]) -> Case:
    return Case({file: text}, {file: expect}, {expect["session"]: file})


def entries(name: str) -> Entries:
    text = (EXAMPLE / name).read_text(encoding="utf-8")
    return [(k, v) for k, _, v in (line.partition(": ") for line in text.splitlines())]


def stamp(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)


def _value(written: str) -> str:
    return written[1:-1] if written[:1] in "\"'" and written[-1:] == written[:1] else written


def reading(
    entries: Entries,
    *,
    done: tuple[str, ...] | None = None,
    problems: tuple[tuple[int, str], ...] = (),
    **overrides: Any,
) -> dict[str, Any]:
    """The reading of a file holding ``entries``, per the rules; ``done`` is its completed
    tasks when they are not just ``completed:``; what else a case changes is in ``overrides``."""
    values = {key: _value(written) for key, written in entries}
    tasks = {k: (None if values.get(k) in (None, "none") else values.get(k)) for k in TASK_KEYS}
    stamps = [stamp(values[k]) for k in ("timestamp", "last_poll") if k in values]
    completed = [tasks["completed"]] if tasks["completed"] else []
    out: dict[str, Any] = {
        "session": values.get("session"),
        "named": None,
        "status": values.get("status"),
        **tasks,
        "task": tasks["claiming"] or tasks["current_task"] or tasks["completed"],
        "completed_tasks": list(done if done is not None else completed),
        "blocked_on": [values["blocked_on"]] if "blocked_on" in values else [],
        "last_seen": max(stamps) if stamps else None,
    }
    out |= overrides
    if out["last_seen"] is not None:
        out["last_seen"] = out["last_seen"].isoformat().replace("+00:00", "Z")
    out["partly_read"] = bool(problems)
    out["problems"] = [{"line": line, "word": word} for line, word in problems]
    return out


def text_of(entries: Entries, newline: str = "\n") -> str:
    return "".join(f"{k}: {v}{newline}" for k, v in entries)


def with_value(entries: Entries, key: str, written: str) -> Entries:
    return [(k, written if k == key else v) for k, v in entries]


def without(entries: Entries, *keys: str) -> Entries:
    return [(k, v) for k, v in entries if k not in keys]


def report(session: str, at: datetime, **keys: str) -> Entries:
    return [("session", session), *keys.items(), ("timestamp", at.strftime("%Y-%m-%dT%H:%M:%SZ"))]


# --- written differently, read the same ---------------------------------------------------


@case("crlf")
def crlf() -> Case:
    """CRLF line endings."""
    e = entries(NDI)
    return single(NDI, text_of(e, "\r\n"), reading(e))


@case("bom", "trailing-spaces")
def bom_trailing() -> Case:
    """A byte-order mark; trailing spaces and tabs after values."""
    e = entries(WEBRTC)
    ends = ("\t", "  ")
    text = "\ufeff" + "".join(f"{k}: {v}{ends[n % 2]}\n" for n, (k, v) in enumerate(e))
    return single(WEBRTC, text, reading(e))


@case("banner", "inline-comments")
def banner_comments() -> Case:
    """A comment banner and a comment after each value."""
    e = entries(SIP)
    rule = "# " + "=" * 60 + "\n"
    banner = rule + "# SESSION 4 (SIP) STATUS — updated by the polling loop\n" + rule + "\n"
    body = "".join(f"{k}: {v}" + (f"  # {k}\n" if k != "milestone" else "\n") for k, v in e)
    return single(SIP, banner + body, reading(e))


@case("quoted")
def quoted() -> Case:
    """Every value quoted, single or double (tests_pass: 'true' too)."""
    e = entries(CLI)
    marks = ('"', "'")
    q = [(k, v if v[:1] == '"' else marks[n % 2] + v + marks[n % 2]) for n, (k, v) in enumerate(e)]
    return single(CLI, text_of(q), reading(e))


@case("reordered", "unknown-keys")
def reordered_unknown_keys() -> Case:
    """Keys in reverse order, and keys the seed never wrote."""
    e = entries(NDI)
    extra = [
        ("mood", "focused 😤"),
        ("pr", "https://github.com/org/repo/pull/41"),
        ("eta", "15:30"),
    ]
    return single(NDI, text_of([*reversed(e), *extra]), reading(e))


@case("document-markers")
def document_markers() -> Case:
    """A YAML directive, --- and ..."""
    e = entries(H323)
    return single(H323, "%YAML 1.1\n---\n" + text_of(e) + "...\n", reading(e))


@case("file-name")
def lowercase_yml() -> Case:
    """A lower-case file name ending .yml."""
    e = entries(CLI)
    return single("STATUS-session-5-cli.yml", text_of(e), reading(e))


@case("session-spelled")
def session_spelled() -> Case:
    """session: Session 4 (SIP), the same id once normalised."""
    e = entries(SIP)
    return single(SIP, text_of(with_value(e, "session", "Session 4 (SIP)")), reading(e))


@case("session-missing")
def session_missing() -> Case:
    """No session: key; the file name says whose it is."""
    e = entries(H323)
    return single(H323, text_of(without(e, "session")), reading(e))


@case("comments-only")
def comments_only() -> Case:
    """Only comments: the session from the file name, nothing else."""
    text = "# session-3-h323: nothing to report yet\n#\n# status: polling\n"
    return single(H323, text, reading([("session", "session-3-h323")]))


# --- shapes: several documents, nested maps, completed tasks under other keys ---------------


@case("documents")
def appended_reports() -> Case:
    """Four reports appended as YAML documents: later keys win, completed tasks add up."""
    e = entries(NDI)
    t = stamp("2025-11-12T13:00:00Z")
    docs = [
        report("session-1-ndi", t, current_task="P0.1.1", milestone='"50% - bus skeleton"'),
        report("session-1-ndi", t + timedelta(minutes=20), completed="P0.1.1"),
        report("session-1-ndi", t + timedelta(minutes=40), completed="P0.1.2", tests_pass="true"),
    ]
    text = "".join("---\n" + text_of(d) for d in [*docs, e])
    return single(NDI, text, reading(e, done=("P0.1.1", "P0.1.2"), completed="P0.1.2"))


@case("documents")
def appended_claim_persists() -> Case:
    """A key only an earlier document has stays: an old claiming: is still the claim."""
    e = entries(WEBRTC)
    first = report("session-2-webrtc", stamp("2025-11-12T14:00:00Z"), claiming="P0.5.2")
    text = text_of(first) + "---\n" + text_of(e)
    return single(WEBRTC, text, reading(e, claiming="P0.5.2", task="P0.5.2"))


@case("documents", "long")
def many_documents() -> Case:
    """Forty-one appended reports, 280 lines: the last one counts, completions add up."""
    e = entries(CLI)
    t = stamp("2025-11-12T08:00:00Z")
    docs = [
        report(
            "session-5-cli",
            t + timedelta(minutes=5 * n),
            current_task=f"P0.4.{1 + n % 4}",
            milestone=f'"{25 * (n % 4)}% - step {n}"',
            completed=f"P0.9.{n}",
        )
        for n in range(40)
    ]
    text = "".join("---\n" + text_of(d) for d in docs) + "---\n" + text_of(e)
    done = tuple(f"P0.9.{n}" for n in range(40))
    return single(CLI, text, reading(e, done=(*done, "P0.4.1")))


@case("nested-status", "completed-keys")
def nested_status() -> Case:
    """status: a map holding state, current_task, milestone and completed_tasks."""
    text = (
        "session: session-3-h323\n"
        "status:\n"
        "  state: polling\n"
        "  current_task: P0.3.3\n"
        '  milestone: "50% - credentials scoped"\n'
        "  completed_tasks:\n"
        "    - P0.3.1\n"
        "    - P0.3.2\n"
        "last_poll: 2025-11-12T14:55:31+00:00\n"
        "branch: claude/h323-agent-mesh-011CV2nD\n"
    )
    return single(H323, text, reading(entries(H323), done=("P0.3.1", "P0.3.2")))


@case("completed-keys")
def tasks_completed() -> Case:
    """tasks_completed: a list, next to the claim."""
    e = entries(SIP)
    text = text_of(e) + "tasks_completed:\n  - P0.2.1\n  - P0.2.2  # budget ledger\n"
    return single(SIP, text, reading(e, done=("P0.2.1", "P0.2.2")))


@case("completed-keys", "emoji")
def done_finished() -> Case:
    """done: and finished: besides completed:, in words and emoji."""
    e = entries(CLI)
    extra = 'done: [P0.1.2 (docs), "P0.5.1 ✅"]\nfinished: P0.4.0 and P0.4.9, on Tuesday\n'
    done = ("P0.4.1", "P0.1.2", "P0.5.1", "P0.4.0", "P0.4.9")
    return single(CLI, text_of(e) + extra, reading(e, done=done))


@case("tasks-map")
def tasks_map() -> Case:
    """tasks: a map of task → state; the one in progress is the current task."""
    text = (
        "session: session-1-ndi\n"
        "status: working\n"
        "tasks:\n"
        "  P0.1.1: ✅ completed\n"
        "  P0.1.2: {status: done, pr: 14}\n"
        "  P0.1.3: in progress (75%)\n"
        "  P0.1.4: todo\n"
        "timestamp: 2025-11-12T14:52:10Z\n"
    )
    e = without(entries(NDI), "milestone", "branch", "next_action")
    return single(NDI, text, reading(e, done=("P0.1.1", "P0.1.2")))
