"""Every doc under docs/: command lines parse, YAML loads, diagrams are well-formed, includes match.

These run the checks of :mod:`tests.docs.corpus` on the docs as committed; ``test_mutation``
shows the same checks failing on broken copies.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import require_tool
from tests.docs import commands, corpus, yamlcheck
from tests.docs.markdown import read_document

DOCS = corpus.doc_paths()
REQUIRED = (
    "docs/README.md",
    "docs/components/IF.GOVERNOR.md",
    "docs/PHASE-0-PRODUCTION-RUNBOOK.md",
    "docs/IF-IMPROVEMENTS-V1.1.md",
    "docs/providers/README.md",
    "docs/providers/ndi.md",
    "docs/providers/h323.md",
    "docs/providers/sip.md",
    "docs/providers/cli.md",
)


def _needs_promtool(path: Path) -> bool:
    for block in read_document(path).blocks:
        if block.language in ("yaml", "yml"):
            try:
                if yamlcheck.kind_of(block) == "alert-rules":
                    return True
            except yamlcheck.YamlBlockError:
                return False  # static_problems reports it
    return False


@pytest.mark.parametrize("path", DOCS, ids=[corpus.relative(p) for p in DOCS])
def test_doc_has_no_static_problem(path: Path) -> None:
    if _needs_promtool(path):
        require_tool("promtool")
    problems = corpus.static_problems(path)
    assert not problems, "\n".join(problems)


def test_readme_command_lines_parse() -> None:
    for path in corpus.EXTRA_COMMAND_DOCS:
        document = read_document(path)
        real = commands.registered_paths()
        bad = [
            f"{where}: ifmesh {' '.join(c.argv)}: {v.error}"
            for where, c in corpus.command_lines(document)
            if (v := commands.check(c, real)).error is not None
        ]
        assert not bad, "\n".join(bad)


@pytest.mark.parametrize("name", REQUIRED)
def test_required_doc_exists(name: str) -> None:
    assert (corpus.REPO / name).is_file(), f"{name} is missing"


@pytest.mark.parametrize(
    "name", ["docs/components/IF.GOVERNOR.md", "docs/PHASE-0-PRODUCTION-RUNBOOK.md"]
)
def test_operator_guides_have_procedures_the_tests_run(name: str) -> None:
    document = read_document(corpus.REPO / name)
    assert len(corpus.procedures(document)) >= 5, f"{name}: procedures are what keep it true"


@pytest.mark.parametrize("name", ["ndi", "h323", "sip", "cli"])
def test_every_provider_guide_has_a_scenario_the_tests_run(name: str) -> None:
    document = read_document(corpus.DOCS / "providers" / f"{name}.md")
    scenarios = [p for p in corpus.procedures(document) if "ifmesh node" in p.script]
    assert scenarios, f"providers/{name}.md: its scenario must start real nodes"


def test_every_doc_command_line_is_seen() -> None:
    """The harness finds command lines at all (a broken extractor would pass every doc)."""
    seen = [
        command
        for path in DOCS
        for _, command in corpus.command_lines(read_document(path))
        if not command.reference
    ]
    paths = {command.path[:1] for command in seen}
    assert {("signaling",), ("governor",), ("token",), ("node",), ("claim",)} <= paths
