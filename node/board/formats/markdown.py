"""The few pieces of Markdown a task board is made of: table rows, their cells, headings.

Only what the board reader needs, written for boards as they grow by hand: a BOM, CRLF, tabs,
trailing spaces, escaped pipes, and cells dressed in bold, code spans or links.
"""

from __future__ import annotations

import itertools
import re

_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_DRESS = re.compile(r"(\*\*|__|~~|`+)")
_TAG = re.compile(r"<[^>]{1,40}>")
_HEADING = re.compile(r"^(#{1,6})[ \t]+(.*?)[ \t#]*$")
_SEPARATOR_CELL = re.compile(r"^:?-{1,}:?$")
_DRESSED = re.compile(r"[\[<*_~`\\]")  # what _LINK, _TAG, _DRESS and an escaped pipe start with
_PIPE = re.compile(r"(?<!\\)\|")  # a cell border: a pipe not escaped
SPACE = " \t\ufeff\r\n"  # what surrounds a line's content, a byte-order mark included


def text_lines(text: str) -> list[str]:
    """The text's lines with their endings, split at ``\\n`` only, as editors and git count
    them: ``str.splitlines`` also splits at form feeds, NEL and the Unicode separators, which
    would put a problem on the wrong line and cut a row in two."""
    parts = text.split("\n")
    out = [part + "\n" for part in parts[:-1]]
    if parts[-1]:
        out.append(parts[-1])
    return out


def split_cells(line: str) -> list[tuple[int, int]]:
    """Spans of the cells between unescaped pipes of a table row ``| a | b |``.

    A row without its closing pipe (``| a | b``) still has its last cell."""
    end = len(line.rstrip(SPACE))
    pipes = [match.start() for match in _PIPE.finditer(line, 0, end)]
    if pipes and pipes[-1] < end - 1:
        pipes.append(end)
    return [(a + 1, b) for a, b in itertools.pairwise(pipes)]


def cell_texts(line: str) -> list[str]:
    return [line[a:b].strip(SPACE) for a, b in split_cells(line)]


def is_table_row(line: str) -> bool:
    return line.strip(SPACE).startswith("|")


def is_separator(cells: list[str]) -> bool:
    return bool(cells) and all(_SEPARATOR_CELL.match(c.replace(" ", "")) for c in cells)


def plain(text: str) -> str:
    """A cell's words without their dress: ``**[P0.1.1](#p011)**`` → ``P0.1.1``."""
    if _DRESSED.search(text) is None:  # most cells: none of the patterns below can match
        return " ".join(text.split())
    text = _LINK.sub(r"\1", text)
    text = _TAG.sub(" ", text)
    text = _DRESS.sub("", text)
    text = text.replace("\\|", "|")
    return " ".join(text.split()).strip("*_ ")


def heading(line: str) -> tuple[int, str] | None:
    """``## IF.governor Tasks`` → ``(2, "IF.governor Tasks")``; None for any other line."""
    match = _HEADING.match(line.strip(SPACE))
    if match is None:
        return None
    return len(match.group(1)), plain(match.group(2))
