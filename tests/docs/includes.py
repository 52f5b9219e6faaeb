"""Refreshes ``<!-- include path=… -->`` blocks from the files they name.

``.venv/bin/python -m tests.docs.includes`` rewrites, in every doc under docs/, the body of each
fenced block under an include marker with the current content of its file. The doc tests fail
whenever a block and its file differ, so an example policy is written once, in
examples/policies/, and the guide shows exactly that file.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from tests.docs.corpus import REPO, doc_paths, relative

_INCLUDE = re.compile(r'^\s*<!--\s*include\s+path="?(?P<path>[^"\s]+)"?.*-->\s*$')
_FENCE = re.compile(r"^(?P<indent>\s*)(?P<fence>`{3,}|~{3,})")


def refresh(text: str, root: Path = REPO) -> str:
    lines = text.splitlines(keepends=True)
    out: list[str] = []
    index = 0
    while index < len(lines):
        line = lines[index]
        out.append(line)
        index += 1
        match = _INCLUDE.match(line)
        if match is None or index >= len(lines):
            continue
        opening = _FENCE.match(lines[index])
        if opening is None:
            continue
        out.append(lines[index])
        fence = opening.group("fence")
        index += 1
        while index < len(lines) and not lines[index].strip().startswith(fence):
            index += 1  # the old body, dropped
        body = (root / match.group("path")).read_text(encoding="utf-8")
        indent = opening.group("indent")
        out.extend(
            indent + body_line if body_line.strip() else body_line
            for body_line in body.splitlines(keepends=True)
        )
    return "".join(out)


def main() -> int:
    for path in doc_paths():
        text = path.read_text(encoding="utf-8")
        updated = refresh(text)
        if updated != text:
            path.write_text(updated, encoding="utf-8")
            print(f"refreshed {relative(path)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
