"""Checking files of IFMessages (`ifmesh validate`): walk paths, decode, report a line per file.

A ``.json`` file holds one message; a ``.jsonl`` file one message per line. A directory named
``invalid`` holds negative cases: a recursive walk passes over it, and when it is named directly
its ``manifest.yaml`` says which error each file must produce, so the report can say whether
each failure is the expected one.

``verify`` (``ifmesh validate --verify``) is asked about each message that validates: the
signature check against keys pinned on a branch (node.cli.keys); what it returns is the
file's error.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from ifmesh.node import errors
from ifmesh.node.protocol import codec
from ifmesh.node.protocol.messages import Envelope

EXIT_OK = 0
EXIT_INVALID = 1
EXIT_UNREADABLE = 2

NEGATIVE_DIR = "invalid"
MANIFEST = "manifest.yaml"
SUFFIXES = (".json", ".jsonl")

Status = Literal["ok", "invalid", "unreadable"]
Verify = Callable[[Envelope], errors.ProtocolError | None]


@dataclass(frozen=True)
class Expected:
    code: str
    path: str


@dataclass(frozen=True)
class FileResult:
    path: Path
    status: Status
    messages: int = 0
    code: str = ""
    field_path: str = ""
    reason: str = ""
    line_number: int | None = None
    expected: Expected | None = None

    @property
    def as_expected(self) -> bool | None:
        """Whether the error is the one the manifest names (None when it names none)."""
        if self.expected is None:
            return None
        return self.code == self.expected.code and self.field_path == self.expected.path

    def line(self) -> str:
        if self.status == "ok":
            text = f"ok       {self.path} ({self.messages} message{'s' * (self.messages != 1)})"
            if self.expected is not None:
                text += f"  UNEXPECTED: manifest expects {self.expected.code}"
            return text
        where = f":{self.line_number}" if self.line_number is not None else ""
        field_part = f" at {self.field_path}" if self.field_path else ""
        text = f"{self.status:<8} {self.path}{where}: {self.code}{field_part}: {self.reason}"
        if self.expected is not None:
            verdict = "as expected" if self.as_expected else "UNEXPECTED"
            text += f"  [expected {self.expected.code} at {self.expected.path or '-'}: {verdict}]"
        return text

    def as_dict(self) -> dict[str, Any]:
        result: dict[str, Any] = {"path": str(self.path), "status": self.status}
        if self.status == "ok":
            result["messages"] = self.messages
        else:
            result |= {"code": self.code, "field": self.field_path, "reason": self.reason}
            if self.line_number is not None:
                result["line"] = self.line_number
        if self.expected is not None:
            result["expected"] = {"code": self.expected.code, "field": self.expected.path}
            result["as_expected"] = self.as_expected
        return result


@dataclass
class Report:
    results: list[FileResult] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        statuses = {r.status for r in self.results}
        if not self.results or "unreadable" in statuses:
            return EXIT_UNREADABLE
        return EXIT_INVALID if "invalid" in statuses else EXIT_OK

    def summary(self) -> str:
        if not self.results:
            return "nothing to validate: no .json or .jsonl files found"
        counts = {s: sum(r.status == s for r in self.results) for s in ("ok", "invalid")}
        unreadable = len(self.results) - counts["ok"] - counts["invalid"]
        return f"{counts['ok']} valid, {counts['invalid']} invalid, {unreadable} unreadable"


def validate_paths(paths: Sequence[str | Path], verify: Verify | None = None) -> Report:
    report = Report()
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            expectations = load_manifest(path)
            for file in _message_files(path, top=path):
                report.results.append(validate_file(file, expectations.get(file.name), verify))
        elif path.exists():
            expected = load_manifest(path.parent).get(path.name)
            report.results.append(validate_file(path, expected, verify))
        else:
            report.results.append(
                FileResult(path, "unreadable", code="not_found", reason="no such file")
            )
    return report


def validate_file(
    path: Path, expected: Expected | None = None, verify: Verify | None = None
) -> FileResult:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return FileResult(path, "unreadable", code="unreadable", reason=str(exc))
    if not text.strip():
        return FileResult(path, "unreadable", code="empty", reason="file is empty")
    lines: list[tuple[int | None, str]]
    if path.suffix == ".jsonl":
        lines = [(n, line) for n, line in enumerate(text.splitlines(), 1) if line.strip()]
    else:
        lines = [(None, text)]
    for number, chunk in lines:
        try:
            document = json.loads(chunk)
        except json.JSONDecodeError as exc:
            return FileResult(
                path, "unreadable", code="malformed_json", reason=str(exc), line_number=number
            )
        try:
            message = codec.validate(document)
            problem = verify(message) if verify is not None else None
            if problem is not None:
                raise problem
        except errors.ProtocolError as exc:
            return FileResult(
                path,
                "invalid",
                code=exc.code,
                field_path=exc.path,
                reason=exc.reason,
                line_number=number,
                expected=expected,
            )
    return FileResult(path, "ok", messages=len(lines), expected=expected)


def load_manifest(directory: Path) -> dict[str, Expected]:
    """``manifest.yaml`` of a negative-case directory: file name → expected error."""
    manifest = directory / MANIFEST
    if directory.name != NEGATIVE_DIR or not manifest.is_file():
        return {}
    entries = yaml.safe_load(manifest.read_text(encoding="utf-8")) or {}
    return {
        name: Expected(code=str(entry["code"]), path=str(entry.get("path") or ""))
        for name, entry in entries.items()
    }


def _message_files(directory: Path, *, top: Path) -> Iterable[Path]:
    for entry in sorted(directory.iterdir()):
        if entry.is_dir():
            # Negative cases are checked only when their directory is named directly.
            if entry.name == NEGATIVE_DIR and entry != top:
                continue
            yield from _message_files(entry, top=top)
        elif entry.suffix in SUFFIXES:
            yield entry
