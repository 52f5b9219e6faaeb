"""Event logs in git: one canonical IFMessage per line, in the files
:mod:`ifmesh.node.gitsync.segments` lays out (``.ifmesh/log/<session>/…``).

Pure functions over file text: reading a log (a bad line is a typed error and is skipped,
never the end of the file), the point a restarted node resumes ``seq`` and ``lamport`` from,
and telling lines of our own log on the branch that we did not write: another process appends
to it (two hosts, one session id), or someone pushed lines into it. (Lines we wrote that the
branch lacks were lost to a force-push: the next commit puts our files back whole.)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from ifmesh.node.errors import ProtocolError
from ifmesh.node.gitsync.errors import IncarnationConflict, MalformedLogLine
from ifmesh.node.identity import seal
from ifmesh.node.identity.errors import SignatureRefused
from ifmesh.node.identity.keys import PublicKey
from ifmesh.node.protocol import codec
from ifmesh.node.protocol.messages import Envelope


@dataclass(frozen=True)
class LogRead:
    messages: tuple[Envelope, ...]
    errors: tuple[MalformedLogLine, ...]
    lines: int  # lines consumed, good and bad


@dataclass(frozen=True)
class ResumePoint:
    """The last ``seq`` and ``lamport`` a session used; its next event uses more."""

    seq: int = 0
    lamport: int = 0
    incarnations: tuple[str, ...] = ()
    events: int = 0


def split_lines(text: str) -> list[str]:
    """Complete lines only: a last line without its newline is still being written."""
    lines = text.split("\n")
    return lines[:-1]


def parse_log(text: str, path: str, session: str, *, line_offset: int = 0) -> LogRead:
    """Messages of ``session``'s log; ``text`` starts at line ``line_offset + 1`` of the file."""
    lines = split_lines(text)
    messages: list[Envelope] = []
    problems: list[MalformedLogLine] = []
    for number, line in enumerate(lines, line_offset + 1):
        if not line.strip():
            continue
        try:
            message = codec.decode(line)
        except ProtocolError as exc:
            problems.append(
                MalformedLogLine(
                    f"not a valid IFMessage ({exc}); the line is skipped — the session that "
                    "owns this log should rewrite it",
                    path=path,
                    line=number,
                )
            )
            continue
        if message.source != session:
            problems.append(
                MalformedLogLine(
                    f"message {message.id} has source {message.source!r} but this log belongs "
                    f"to {session!r}; the line is skipped",
                    path=path,
                    line=number,
                )
            )
            continue
        messages.append(message)
    return LogRead(tuple(messages), tuple(problems), len(lines))


def resume_point(messages: Iterable[Envelope]) -> ResumePoint:
    seq = lamport = count = 0
    incarnations: list[str] = []
    for message in messages:
        count += 1
        seq = max(seq, message.seq)
        lamport = max(lamport, message.lamport)
        if message.incarnation not in incarnations:
            incarnations.append(message.incarnation)
    return ResumePoint(seq, lamport, tuple(incarnations), count)


def foreign_lines(data: bytes, ours: Callable[[bytes], bool]) -> list[tuple[int, str]]:
    """(line number, text) of the lines of one file of our log on the branch that ``ours``
    does not know. Files there are never appended to, so a last line without its newline
    counts too."""
    lines = data.split(b"\n")
    if lines and not lines[-1]:
        lines.pop()
    return [
        (number, line.decode("utf-8", "replace"))
        for number, line in enumerate(lines, 1)
        if line.strip() and not ours(line)
    ]


def check_foreign(
    foreign: Iterable[tuple[int, str]],
    path: str,
    session: str,
    incarnation: str,
    own_key: PublicKey | None = None,
) -> list[MalformedLogLine]:
    """Raises IncarnationConflict when a foreign line is this session's from another process;
    other foreign lines (hand edits, garbage) come back as errors: we own the file and
    overwrite them. With ``own_key`` (signed events), only a line signed by this session's key
    is another process: one that is not is a forgery pushed into our log, dropped likewise."""
    problems: list[MalformedLogLine] = []
    for number, line in foreign:
        try:
            message = codec.decode(line)
        except ProtocolError as exc:
            problems.append(
                MalformedLogLine(
                    f"a line this session did not write and that is no IFMessage ({exc}); it "
                    "is dropped because only this session writes its log",
                    path=path,
                    line=number,
                )
            )
            continue
        if message.source == session and message.incarnation != incarnation:
            if own_key is None or _signed_by(message, own_key):
                raise IncarnationConflict(session, incarnation, message.incarnation or "(none)")
            problems.append(
                MalformedLogLine(
                    f"message {message.id} claims to be this session's (incarnation"
                    f" {message.incarnation or '?'}) but is not signed by its key: a forgery"
                    " pushed into this session's log; it is dropped",
                    path=path,
                    line=number,
                )
            )
            continue
        problems.append(
            MalformedLogLine(
                f"message {message.id} from {message.source!r} was added to this session's log "
                "by someone else; it is dropped because only this session writes its log",
                path=path,
                line=number,
            )
        )
    return problems


def _signed_by(message: Envelope, key: PublicKey) -> bool:
    try:
        seal.check(message, key)
    except SignatureRefused:
        return False
    return True
