"""The docs under test, and every static check on one of them, in one place.

:func:`static_problems` is what the doc tests assert empty for each doc, and what the mutation
test runs on a broken copy: command lines parsed by the real CLI, YAML blocks through the real
loaders, Mermaid well-formedness, ``<!-- include -->`` blocks equal to their files, marker use.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.docs import commands, mermaid, yamlcheck
from tests.docs.markdown import SHELL_LANGUAGES, Block, Document, MarkdownError, read_document

REPO = Path(__file__).resolve().parents[2]
DOCS = REPO / "docs"
# Parsed for `ifmesh …` lines too (their owners keep them true; the checks are the same).
EXTRA_COMMAND_DOCS = (
    REPO / "README.md",
    *sorted((REPO / "examples").rglob("*.md")),
    *sorted((REPO / "fixtures").rglob("*.md")),
)


def doc_paths() -> list[Path]:
    return sorted(DOCS.rglob("*.md"))


def relative(path: Path) -> str:
    try:
        return str(path.relative_to(REPO))
    except ValueError:
        return str(path)


STEP = "::ifmesh-docs-step::"


@dataclass(frozen=True)
class Step:
    block: Block
    output: Block | None  # the <!-- output --> block that follows it, if any


@dataclass(frozen=True)
class Procedure:
    """One procedure block, or several sharing an ``id`` (run in order, in one shell)."""

    steps: tuple[Step, ...]

    @property
    def block(self) -> Block:
        return self.steps[0].block

    @property
    def id(self) -> str:
        return f"{relative(self.block.path)}:{self.block.line}"

    @property
    def script(self) -> str:
        """The steps' text, with a line printed between steps so their output can be split."""
        return f"echo '{STEP}'\n".join(step.block.text for step in self.steps)

    @property
    def timeout(self) -> float:
        return sum(
            float(marker.attrs.get("timeout", 30))
            for step in self.steps
            if (marker := step.block.marker("procedure")) is not None
        )

    @property
    def tools(self) -> list[str]:
        return sorted(
            {
                tool
                for step in self.steps
                if (marker := step.block.marker("procedure")) is not None
                for tool in marker.attrs.get("tools", "").split()
            }
        )


def procedures(document: Document) -> list[Procedure]:
    """The document's procedures; blocks marked with the same ``id`` form one procedure."""
    steps: list[Step] = []
    ids: list[str | None] = []
    for block in document.blocks:
        marker = block.marker("procedure")
        if marker is not None:
            steps.append(Step(block, None))
            ids.append(marker.attrs.get("id"))
        elif block.marker("output") is not None:
            if not steps or steps[-1].output is not None:
                raise MarkdownError(f"{block.where}: an output block must follow a procedure")
            steps[-1] = Step(steps[-1].block, block)
    grouped: dict[str, list[Step]] = {}
    found: list[Procedure | list[Step]] = []
    for step, name in zip(steps, ids, strict=True):
        if name is None:
            found.append(Procedure((step,)))
        elif name in grouped:
            grouped[name].append(step)
        else:
            grouped[name] = [step]
            found.append(grouped[name])
    return [item if isinstance(item, Procedure) else Procedure(tuple(item)) for item in found]


def command_lines(document: Document) -> Iterator[tuple[str, commands.CommandLine]]:
    """(where, command line) for every ``ifmesh`` line in ``document``."""
    for block in document.blocks:
        if block.language in SHELL_LANGUAGES and block.marker("output") is None:
            console = block.language == "console"
            for command in commands.find_commands(block.text, console=console):
                yield block.where, command
    for span in document.inline:
        command = commands.inline_command(span.code)
        if command is not None:
            yield f"{span.path}:{span.line}", command


def static_problems(path: Path, text: str | None = None, *, root: Path = REPO) -> list[str]:
    """Everything wrong with the doc at ``path`` (or ``text`` in its place), short of running it."""
    try:
        document = read_document(path, text)
        procedures(document)
    except MarkdownError as exc:
        return [str(exc)]
    found: list[str] = []
    real = commands.registered_paths()
    for where, command in command_lines(document):
        verdict = commands.check(command, real)
        if verdict.error is not None:
            pending = " (checked against issue 10's definition: pending)" if verdict.pending else ""
            found.append(f"{where}: `ifmesh {' '.join(command.argv)}`: {verdict.error}{pending}")
    for block in document.blocks:
        found.extend(_block_problems(block, root))
    found.extend(_link_problems(document))
    return found


def _link_problems(document: Document) -> list[str]:
    """Relative links must name an existing file, and an anchor a heading in it."""
    found: list[str] = []
    for link in document.links:
        if "://" in link.target or link.target.startswith("mailto:"):
            continue
        file_part, _, fragment = link.target.partition("#")
        target = (link.path.parent / file_part).resolve() if file_part else link.path
        where = f"{link.path}:{link.line}"
        if not target.exists():
            found.append(f"{where}: link to {link.target}: no such file")
            continue
        if fragment and target.suffix == ".md":
            anchors = document.anchors if target == link.path else read_document(target).anchors
            if fragment not in anchors:
                found.append(f"{where}: link to {link.target}: no heading with that anchor")
    return found


def _block_problems(block: Block, root: Path) -> list[str]:
    found: list[str] = []
    include = block.marker("include")
    if include is not None:
        target = root / include.attrs.get("path", "")
        if not target.is_file():
            found.append(f"{block.where}: include names {target}, which does not exist")
        elif target.read_text(encoding="utf-8") != block.text:
            found.append(
                f"{block.where}: differs from {relative(target)}; refresh it with "
                "`.venv/bin/python -m tests.docs.includes`"
            )
    if block.language in ("yaml", "yml"):
        try:
            yamlcheck.validate(block)
        except yamlcheck.YamlBlockError as exc:
            found.append(str(exc))
    if block.language == "mermaid":
        found.extend(
            f"{block.where}: mermaid {problem}" for problem in mermaid.problems(block.text)
        )
    if block.marker("procedure") is not None and block.language not in ("sh", "bash"):
        found.append(f"{block.where}: a procedure must be a sh or bash block")
    return found
