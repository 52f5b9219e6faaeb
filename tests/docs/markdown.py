"""Reading Markdown the way the doc tests need it: fenced blocks, their markers, inline code.

A *marker* is an HTML comment on the line(s) right above a fence (readers of the rendered page
never see it)::

    <!-- procedure tools="redis-server" timeout=60 -->
    ```sh
    ...
    ```

Its first word is the marker's name, the rest ``key=value`` or ``key="value with spaces"``
attributes. docs/README.md lists the markers the harness knows; an unknown one is an error, so a
typo in a marker cannot silently turn a check off.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

KNOWN_MARKERS = frozenset({"procedure", "output", "include", "yaml"})
SHELL_LANGUAGES = frozenset({"sh", "bash", "shell", "console", "zsh"})

_FENCE = re.compile(r"^(?P<indent>\s*)(?P<fence>`{3,}|~{3,})\s*(?P<info>[^`]*)$")
_COMMENT = re.compile(r"^\s*<!--\s*(?P<body>.*?)\s*-->\s*$")
_INLINE = re.compile(r"(?<!`)`(?P<code>[^`\n]+)`(?!`)")
_LINK = re.compile(r"\[[^\]]+\]\((?P<target>[^)\s]+)\)")
_HEADING = re.compile(r"^#{1,6}\s+(?P<title>.+?)\s*#*\s*$")


class MarkdownError(Exception):
    """A doc the harness cannot read as intended (unclosed fence, unknown marker)."""


@dataclass(frozen=True)
class Marker:
    name: str
    attrs: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Block:
    path: Path
    line: int  # 1-based line of the opening fence
    language: str
    text: str  # the content, indentation of the fence removed, ending with a newline if any
    markers: tuple[Marker, ...] = ()

    def marker(self, name: str) -> Marker | None:
        for marker in self.markers:
            if marker.name == name:
                return marker
        return None

    @property
    def where(self) -> str:
        return f"{self.path}:{self.line}"


@dataclass(frozen=True)
class InlineCode:
    path: Path
    line: int
    code: str


@dataclass(frozen=True)
class Link:
    path: Path
    line: int
    target: str


@dataclass(frozen=True)
class Document:
    path: Path
    blocks: tuple[Block, ...]
    inline: tuple[InlineCode, ...]
    links: tuple[Link, ...] = ()
    anchors: frozenset[str] = frozenset()


def anchor(title: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", title.strip().lower()).replace(" ", "-")


def parse_marker(body: str, where: str) -> Marker | None:
    """The marker in an HTML comment's ``body``; None for an ordinary comment."""
    words = body.split(None, 1)
    if not words or words[0] not in KNOWN_MARKERS:
        if words and re.fullmatch(r"[a-z-]+", words[0]) and "=" in body:
            raise MarkdownError(f"{where}: unknown marker {words[0]!r} (known: {_known()})")
        return None
    attrs: dict[str, str] = {}
    for item in shlex.split(words[1]) if len(words) > 1 else []:
        key, sep, value = item.partition("=")
        if not sep:
            raise MarkdownError(f"{where}: marker attribute {item!r} is not key=value")
        attrs[key] = value
    return Marker(words[0], attrs)


def _known() -> str:
    return ", ".join(sorted(KNOWN_MARKERS))


def read_document(path: Path, text: str | None = None) -> Document:
    source = path.read_text(encoding="utf-8") if text is None else text
    lines = source.splitlines()
    blocks: list[Block] = []
    inline: list[InlineCode] = []
    links: list[Link] = []
    anchors: set[str] = set()
    pending: list[Marker] = []
    index = 0
    while index < len(lines):
        line = lines[index]
        comment = _COMMENT.match(line)
        if comment is not None:
            marker = parse_marker(comment.group("body"), f"{path}:{index + 1}")
            if marker is not None:
                pending.append(marker)
            index += 1
            continue
        opening = _FENCE.match(line)
        if opening is None:
            if line.strip() and pending:
                raise MarkdownError(
                    f"{path}:{index + 1}: marker(s) {[m.name for m in pending]} must stand on "
                    "the line right above a fenced block"
                )
            inline.extend(
                InlineCode(path, index + 1, m.group("code")) for m in _INLINE.finditer(line)
            )
            prose = _INLINE.sub("", line)
            links.extend(Link(path, index + 1, m.group("target")) for m in _LINK.finditer(prose))
            heading = _HEADING.match(line)
            if heading is not None:
                anchors.add(anchor(heading.group("title")))
            index += 1
            continue
        indent = len(opening.group("indent"))
        fence = opening.group("fence")
        info = opening.group("info").strip()
        language = info.split()[0].lower() if info else ""
        body: list[str] = []
        open_line = index + 1
        index += 1
        while index < len(lines):
            closing = lines[index].strip()
            if closing.startswith(fence[0] * len(fence)) and not closing.strip(fence[0]):
                break
            raw = lines[index]
            body.append(raw[indent:] if raw[:indent].strip() == "" else raw.lstrip())
            index += 1
        else:
            raise MarkdownError(f"{path}:{open_line}: the fence opened here is never closed")
        text_body = "\n".join(body) + ("\n" if body else "")
        blocks.append(Block(path, open_line, language, text_body, tuple(pending)))
        pending = []
        index += 1
    if pending:
        raise MarkdownError(f"{path}: marker(s) at the end of the file belong to no block")
    return Document(path, tuple(blocks), tuple(inline), tuple(links), frozenset(anchors))
