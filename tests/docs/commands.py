"""Every ``ifmesh …`` command line in a doc, parsed by the real CLI parser.

Command lines are found in shell blocks (``sh``, ``bash``, ``console``…, heredoc bodies
excluded), in ``$(…)`` substitutions and ``sh -c '…'`` strings inside them, and in inline code
spans that start with ``ifmesh``. Each is parsed — never run — by
:func:`ifmesh.node.cli.main.build_parser`;
an unknown command or option fails with argparse's own message.

Commands the node runtime (issue 10) defines but the CLI does not register yet are parsed by
:mod:`tests.docs.pending_cli` instead, and a procedure using one is *pending*: the harness runs it
as soon as the real CLI registers the command.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass

from ifmesh.node.cli.main import build_parser
from tests.docs import pending_cli

# Sample values for the procedure variables (docs/README.md) when a line is only parsed.
SAMPLE_VALUES = {
    "PORT": "8765",
    "PORT2": "8766",
    "PORT3": "6399",
    "REMOTE": "/srv/git/coordination.git",
    "SIGNALING_URL": "ws://127.0.0.1:8765/ws",
    "WORK": "/tmp/work",
    "IFMESH_REPO": "/opt/ifmesh",
}
# Words a command may follow on its line: `if ifmesh claim …; then`, `until ifmesh status`.
_WRAPPERS = {"exec", "nohup", "time", "if", "elif", "then", "else", "while", "until", "do", "!",
             "{", "command"}  # fmt: skip
_SEPARATORS = {";", "&", "&&", "|", "||", "(", ")", "\n", ";;", "|&"}
_HEREDOC = re.compile(r"<<-?\s*(['\"]?)(?P<tag>[A-Za-z_][A-Za-z0-9_]*)\1")
_VARIABLE = re.compile(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?")
_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")


@dataclass(frozen=True)
class CommandLine:
    argv: tuple[str, ...]  # after `ifmesh`
    text: str  # as written, for messages
    # An inline mention in prose (`ifmesh validate`): it may leave out required arguments or
    # end in "…", but every command word and option it does show must exist.
    reference: bool = False

    @property
    def path(self) -> tuple[str, ...]:
        """The command words (``("governor", "check")``), options and values left out."""
        words: list[str] = []
        for word in self.argv:
            if word.startswith("-") or len(words) == 2:
                break
            words.append(word)
        return tuple(words)


def strip_heredocs(script: str) -> str:
    """``script`` without heredoc bodies (their text is data, not commands)."""
    out: list[str] = []
    ending: str | None = None
    for line in script.splitlines():
        if ending is not None:
            if line.strip() == ending:
                ending = None
            continue
        out.append(line)
        match = _HEREDOC.search(line)
        if match is not None:
            ending = match.group("tag")
    return "\n".join(out)


def strip_comments(script: str) -> str:
    """``script`` without shell comments (an unquoted ``#`` starting a word, to the line end)."""
    out: list[str] = []
    quote = ""
    index = 0
    while index < len(script):
        char = script[index]
        if quote:
            if char == quote:
                quote = ""
            elif char == "\\" and quote == '"':
                out.append(char)
                index += 1
                char = script[index] if index < len(script) else ""
        elif char in "'\"":
            quote = char
        elif char == "\\":
            out.append(char)
            index += 1
            char = script[index] if index < len(script) else ""
        elif char == "#" and (index == 0 or script[index - 1] in " \t\n;"):
            end = script.find("\n", index)
            index = len(script) if end < 0 else end
            continue
        out.append(char)
        index += 1
    return "".join(out)


def _substitutions(text: str) -> tuple[str, list[str]]:
    """``text`` with each ``$(…)`` and backtick span replaced by a placeholder, and the spans."""
    inner: list[str] = []
    out: list[str] = []
    index = 0
    while index < len(text):
        if text.startswith("$(", index) and not text.startswith("$((", index):
            depth, end = 1, index + 2
            while end < len(text) and depth:
                depth += {"(": 1, ")": -1}.get(text[end], 0)
                end += 1
            inner.append(text[index + 2 : end - 1])
            out.append("SUBST")
            index = end
        elif text[index] == "`":
            end = text.find("`", index + 1)
            end = len(text) if end < 0 else end
            inner.append(text[index + 1 : end])
            out.append("SUBST")
            index = end + 1
        else:
            out.append(text[index])
            index += 1
    return "".join(out), inner


def _sample(name: str) -> str:
    if name in SAMPLE_VALUES:
        return SAMPLE_VALUES[name]
    return "8765" if "port" in name.lower() else "x"  # a loop over ports: `for port in …`


def _expand(word: str) -> str:
    return _VARIABLE.sub(lambda m: _sample(m.group(1)), word)


def find_commands(script: str, *, console: bool = False) -> Iterator[CommandLine]:
    """The ``ifmesh`` command lines in shell ``script``."""
    text = strip_heredocs(script)
    if console:  # `$ cmd` lines are commands, the rest is output
        text = "\n".join(
            line.lstrip()[2:] for line in text.splitlines() if line.lstrip().startswith("$ ")
        )
    text = strip_comments(text)
    text = re.sub(r"\\\n", " ", text)
    flat, inner = _substitutions(text)
    for nested in inner:
        yield from find_commands(nested)
    for line in flat.splitlines():
        lexer = shlex.shlex(line, posix=True, punctuation_chars=";&|()")
        lexer.whitespace_split = True
        lexer.commenters = "#"
        try:
            tokens = list(lexer)
        except ValueError as exc:
            raise ValueError(f"cannot read shell line {line!r}: {exc}") from None
        yield from _commands_in(tokens, line)


def _commands_in(tokens: list[str], line: str) -> Iterator[CommandLine]:
    segment: list[str] = []
    for token in [*tokens, ";"]:
        if token not in _SEPARATORS:
            segment.append(token)
            continue
        words = _command_words(segment)
        if words and (words[0] == "ifmesh" or words[0].endswith("/ifmesh")):
            argv = tuple(_expand(word) for word in _until_redirect(words[1:]))
            yield CommandLine(argv, line.strip())
        elif len(words) >= 3 and words[0] in {"sh", "bash"} and words[1] == "-c":
            yield from find_commands(words[2])
        segment = []


def _command_words(segment: list[str]) -> list[str]:
    words = list(segment)
    while words and (words[0] in _WRAPPERS or _ASSIGNMENT.match(words[0])):
        words.pop(0)
    if words and words[0] == "timeout":  # timeout [-s SIG] DURATION CMD…
        words.pop(0)
        while words and words[0].startswith("-"):
            words.pop(0)
        words = words[1:]
    if words and words[0] == "env":
        words.pop(0)
        while words and _ASSIGNMENT.match(words[0]):
            words.pop(0)
    return words


def _until_redirect(words: list[str]) -> list[str]:
    out: list[str] = []
    skip = False
    for word in words:
        if skip:
            skip = False
            continue
        if re.fullmatch(r"\d?[<>]{1,2}&?\d?", word):
            skip = not word.endswith(("&1", "&2"))
            continue
        if re.match(r"^\d?[<>]", word):  # >file, 2>/dev/null
            continue
        out.append(word)
    return out


def inline_command(code: str) -> CommandLine | None:
    """An inline code span that is an ``ifmesh`` command line, else None."""
    if not code.startswith("ifmesh "):
        return None
    found = list(find_commands(code))
    if not found:
        return None
    argv = found[0].argv
    for elision in ("…", "..."):
        if elision in argv:
            argv = argv[: argv.index(elision)]
    return CommandLine(argv, found[0].text, reference=True)


# --- parsing ------------------------------------------------------------------------------


class _Refused(Exception):
    pass


def _parse(parser: argparse.ArgumentParser, argv: tuple[str, ...]) -> str | None:
    """argparse's complaint about ``argv``, or None when it parses."""
    stderr = io.StringIO()
    try:
        with contextlib.redirect_stderr(stderr), contextlib.redirect_stdout(io.StringIO()):
            parser.parse_args(list(argv))
    except SystemExit as exc:
        if exc.code in (0, None):  # --help
            return None
        lines = [line for line in stderr.getvalue().splitlines() if line.strip()]
        return lines[-1] if lines else f"exit {exc.code}"
    return None


def registered_paths(parser: argparse.ArgumentParser | None = None) -> set[tuple[str, ...]]:
    """Every command path the real CLI has: ``("claim",)``, ``("governor", "check")``…"""
    found: set[tuple[str, ...]] = set()

    def walk(current: argparse.ArgumentParser, prefix: tuple[str, ...]) -> None:
        for action in current._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, child in action.choices.items():
                    found.add((*prefix, name))
                    walk(child, (*prefix, name))

    walk(parser or build_parser(), ())
    return found


@dataclass(frozen=True)
class Verdict:
    command: CommandLine
    error: str | None  # None: it parses
    pending: bool  # parsed by the issue-10 spec because the CLI lacks the command


def check(command: CommandLine, real: set[tuple[str, ...]] | None = None) -> Verdict:
    real = registered_paths() if real is None else real
    path = command.path
    pending = any(path[: len(p)] == p and p not in real for p in pending_cli.PATHS)
    if command.reference and not command.argv:
        return Verdict(command, None, pending)
    parser = pending_cli.build_parser() if pending else build_parser()
    error = _parse(parser, command.argv)
    if error is not None and command.reference and _only_incomplete(error):
        # argparse stops at the missing argument; the options shown must still exist.
        error = _unknown_option(parser, command.argv)
    return Verdict(command, error, pending)


def _unknown_option(parser: argparse.ArgumentParser, argv: tuple[str, ...]) -> str | None:
    current = parser
    for word in argv:
        if word.startswith("-"):
            name = word.split("=", 1)[0]
            known = [o for a in current._actions for o in a.option_strings]
            if name not in known and not [o for o in known if o.startswith(name)]:
                return f"{current.prog}: unrecognized option {name}"
            continue
        sub = next((a for a in current._actions if isinstance(a, argparse._SubParsersAction)), None)
        if sub is not None and word in sub.choices:
            current = sub.choices[word]
    return None


def _only_incomplete(error: str) -> bool:
    """argparse complaining only that arguments were left out (fine in a prose mention)."""
    return (
        "the following arguments are required" in error
        or error.endswith("error: argument COMMAND: required")
        or "required: COMMAND" in error
    )
