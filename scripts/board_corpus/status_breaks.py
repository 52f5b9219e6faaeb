"""STATUS cases where the words are what varies: timestamps in every format or none, emoji, a
file name and a session: field that disagree, YAML broken part-way (the keys above the break
are read), long files, everything at once."""

from __future__ import annotations

from datetime import datetime, timedelta

from board_corpus.status import (
    CLI,
    H323,
    NDI,
    SIP,
    WEBRTC,
    Case,
    case,
    entries,
    reading,
    single,
    stamp,
    text_of,
    with_value,
    without,
)

# --- timestamps -----------------------------------------------------------------------------

_AT = stamp("2025-11-12T14:52:10Z")
_TIMESTAMPS: dict[str, tuple[str, datetime, str]] = {
    "naive": ("2025-11-12 14:52:10", _AT, "No zone: read as UTC."),
    "offset": ("2025-11-12T15:52:10+01:00", _AT, "An offset, as date -Iseconds writes."),
    "date": ("Wed Nov 12 14:52:10 UTC 2025", _AT, "date's default output."),
    "rfc2822": ('"Wed, 12 Nov 2025 14:52:10 +0000"', _AT, "RFC 2822, as git log writes."),
    "epoch": (str(int(_AT.timestamp())), _AT, "Seconds since the epoch."),
    "epoch-ms": (str(int(_AT.timestamp()) * 1000), _AT, "Milliseconds, as JavaScript writes."),
    "fraction": (
        "2025-11-12T14:52:10.250Z",
        _AT + timedelta(milliseconds=250),
        "Fractions of a second.",
    ),
    "date-only": ("2025-11-12", stamp("2025-11-12T00:00:00Z"), "A date without a time."),
    "day-first": ('"12/11/2025 14:52"', stamp("2025-11-12T14:52:00Z"), "Day/month/year."),
}


def _timestamp_case(key: str) -> None:
    written, when, about = _TIMESTAMPS[key]

    def make() -> Case:
        e = entries(NDI)
        return single(NDI, text_of(with_value(e, "timestamp", written)), reading(e, last_seen=when))

    make.__name__, make.__doc__ = f"timestamp_{key.replace('-', '_')}", f"timestamp: {about}"
    case("timestamp")(make)


for _key in _TIMESTAMPS:
    _timestamp_case(_key)


@case("timestamp")
def timestamp_missing() -> Case:
    """No timestamp at all: the session was never seen."""
    e = without(entries(NDI), "timestamp")
    return single(NDI, text_of(e), reading(e))


@case("timestamp")
def timestamp_words() -> Case:
    """A timestamp in words: warned, read as none."""
    e = entries(NDI)
    text = text_of(with_value(e, "timestamp", "yesterday, after lunch"))
    return single(NDI, text, reading(e, last_seen=None, problems=((5, "timestamp"),)))


@case("timestamp")
def timestamp_feb_30() -> Case:
    """February 30th: YAML cannot build it, only that key is lost."""
    e = entries(SIP)
    text = text_of(with_value(e, "timestamp", "2025-02-30T14:41:02Z"))
    return single(SIP, text, reading(e, last_seen=None, problems=((6, "timestamp"),)))


@case("polling-loop", "timestamp")
def unexpanded_shell() -> Case:
    """The seed's loop with a quoted heredoc: $(date) and ${CURRENT_TASK} were never
    expanded."""
    text = (
        "session: session-3-h323\n"
        "status: polling\n"
        "last_poll: $(date -Iseconds)\n"
        "branch: $MY_BRANCH\n"
        "current_task: ${CURRENT_TASK:-none}\n"
    )
    e = [("session", "session-3-h323"), ("status", "polling")]
    return single(H323, text, reading(e, problems=((3, "last_poll"), (5, "current_task"))))


# --- emoji, names, sessions -----------------------------------------------------------------


@case("emoji")
def emoji() -> Case:
    """Emoji in status, milestone, current_task and tests_pass."""
    e = entries(SIP)
    changed = with_value(e, "status", '"🟡 working"')
    changed = with_value(changed, "milestone", '"25% - Policy schema 🚀 and loader ✅"')
    text = text_of(changed) + "current_task: P0.2.3 🔧\ntests_pass: ✅\n"
    return single(SIP, text, reading(e, status="🟡 working", current_task="P0.2.3"))


@case("session-mismatch")
def session_shorter() -> Case:
    """session: session-4 in STATUS-SESSION-4-SIP.yaml: one session, said both ways."""
    e = entries(SIP)
    text = text_of(with_value(e, "session", "session-4"))
    expect = reading(e, session="session-4", named="session-4-sip", problems=((1, "file name"),))
    return single(SIP, text, expect)


@case("session-mismatch")
def session_impostor() -> Case:
    """Another session's name in this file: the file name wins."""
    e = entries(WEBRTC)
    text = text_of(with_value(e, "session", "session-9-rogue"))
    return single(WEBRTC, text, reading(e, problems=((1, "belongs"),)))


@case("session-mismatch", "two-files")
def two_files_one_session() -> Case:
    """STATUS-SESSION-4.yaml and STATUS-SESSION-4-SIP.yaml, one session: the newer counts, the
    other is reported."""
    sip = entries(SIP)
    old = [
        ("session", "session-4-sip"),
        ("status", "working"),
        ("claiming", "P0.2.2"),
        ("timestamp", "2025-11-12T13:10:00Z"),
    ]
    older = "STATUS-SESSION-4.yaml"
    files = {older: text_of(old), SIP: text_of(sip)}
    readings = {
        older: reading(old, named="session-4", problems=((1, "file name"),)),
        SIP: reading(sip),
    }
    return Case(files, readings, {"session-4-sip": SIP}, [older])


# --- YAML broken part-way: the keys above the break are read ---------------------------------


def _broken(file: str, key: str, written: str) -> Case:
    e = entries(file)
    at = [k for k, _ in e].index(key)
    text = text_of(with_value(e, key, written))
    return single(file, text, reading(e[:at], problems=((at + 1, "yaml"),)))


@case("broken-yaml")
def broken_quote() -> Case:
    """An unclosed quote runs to the end."""
    return _broken(NDI, "milestone", '"75% - Broadcast fan-out and ordering done')


@case("broken-yaml")
def broken_bracket() -> Case:
    """An unclosed [ runs on."""
    return _broken(WEBRTC, "blocked_on", "[P0.2.6, P0.2.5")


@case("broken-yaml")
def broken_colon() -> Case:
    """A second ': ' in a plain value."""
    return _broken(CLI, "next_action", "Wire budget output: then `if governor status`")


@case("broken-yaml")
def escape_codes() -> Case:
    """A terminal's colour codes pasted into a value."""
    return _broken(CLI, "tests_pass", "\x1b[32mtrue\x1b[0m")


@case("broken-yaml", "tabs")
def tab_indent() -> Case:
    """A tab-indented line under claiming: belongs to it, and that key's block is lost with
    it."""
    e = entries(SIP)
    text = text_of(e[:3]) + "\tepoch: 0\n" + text_of(e[4:])
    return single(SIP, text, reading(e[:2], problems=((3, "yaml"),)))


@case("documents")
def list_document() -> Case:
    """A document that is a list, then the report."""
    e = entries(WEBRTC)
    text = "- wrote the SDP mocks\n- waiting on P0.2.6\n---\n" + text_of(e)
    return single(WEBRTC, text, reading(e, problems=((1, "mapping"),)))


# --- long files and combinations ---------------------------------------------------------------


@case("long", "unknown-keys")
def long_notes() -> Case:
    """A 280-line notes block and a log: 306 lines."""
    e = entries(H323)
    notes = "".join(f"  {n:03d} ran the H.323 vectors: {n % 7} failures\n" for n in range(280))
    log = "".join(f"  - {n:02d}: polled, nothing new\n" for n in range(20))
    return single(H323, text_of(e) + "notes: |\n" + notes + "log:\n" + log, reading(e))


@case("crlf", "bom", "banner", "documents", "nested-status", "timestamp")
def everything() -> Case:
    """CRLF, a BOM, a banner, two documents, a nested status map, date's output."""
    e = entries(NDI)
    first = "session: Session 1 (NDI)\r\ncompleted: P0.1.1\r\ntimestamp: 2025-11-12T13:00:00Z\r\n"
    second = (
        "session: session-1-ndi\r\n"
        "status:\r\n"
        "  state: working\r\n"
        "  current_task: P0.1.3\r\n"
        "  done: [P0.1.2]\r\n"
        "timestamp: Wed Nov 12 14:52:10 UTC 2025\r\n"
    )
    text = "\ufeff# ===== NDI =====\r\n---\r\n" + first + "---\r\n" + second
    return single(NDI, text, reading(e, done=("P0.1.1", "P0.1.2"), completed="P0.1.1"))
