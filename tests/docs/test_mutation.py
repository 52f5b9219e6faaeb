"""Breaking a documented command, option, policy or procedure breaks the build.

Each test copies a real doc, breaks one thing in the copy, and shows that the same checks the
doc tests run on the real doc (``corpus.static_problems``, the procedure runner) fail on it,
naming the line.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.docs import corpus
from tests.docs.markdown import read_document
from tests.docs.procedures import missing_output, run_procedure

GOVERNOR = corpus.DOCS / "components" / "IF.GOVERNOR.md"
RUNBOOK = corpus.DOCS / "PHASE-0-PRODUCTION-RUNBOOK.md"


def mutate(source: Path, tmp_path: Path, old: str, new: str) -> Path:
    text = source.read_text(encoding="utf-8")
    assert old in text, f"the mutation target {old!r} is no longer in {source.name}"
    copy = tmp_path / source.name
    copy.write_text(text.replace(old, new, 1), encoding="utf-8")
    return copy


def problems_of(copy: Path) -> list[str]:
    """The checks on the broken text as if it stood in place of the real doc (so that its
    relative links and includes resolve as the real doc's do)."""
    source = GOVERNOR if copy.name == GOVERNOR.name else RUNBOOK
    return corpus.static_problems(source, copy.read_text(encoding="utf-8"))


@pytest.mark.parametrize("source", [GOVERNOR, RUNBOOK], ids=["governor", "runbook"])
def test_the_real_docs_have_no_problem(source: Path) -> None:
    assert corpus.static_problems(source) == []


def test_a_renamed_command_fails(tmp_path: Path) -> None:
    copy = mutate(
        GOVERNOR, tmp_path, "ifmesh governor check typo.yaml", "ifmesh governor chek typo.yaml"
    )
    found = problems_of(copy)
    assert len(found) == 1 and "invalid choice: 'chek'" in found[0], found


def test_a_misspelled_option_fails(tmp_path: Path) -> None:
    copy = mutate(
        RUNBOOK, tmp_path, "--secret-file signaling.secret \\", "--secret-flie signaling.secret \\"
    )
    found = problems_of(copy)
    assert any("unrecognized arguments" in p or "ambiguous option" in p for p in found), found


def test_an_option_missing_its_value_fails(tmp_path: Path) -> None:
    copy = mutate(RUNBOOK, tmp_path, "--ttl 7d \\", "--ttl \\")
    assert any("argument --ttl: expected one argument" in p for p in problems_of(copy))


def test_an_unknown_inline_command_fails(tmp_path: Path) -> None:
    copy = mutate(
        GOVERNOR, tmp_path, "`ifmesh governor budget` prints", "`ifmesh governor budgets` prints"
    )
    assert any("invalid choice: 'budgets'" in p for p in problems_of(copy))


def test_a_misspelled_policy_key_fails_the_loader_and_the_include(tmp_path: Path) -> None:
    copy = mutate(GOVERNOR, tmp_path, "  max_cost_per_task: 15\n", "  max_cost_per_tsk: 15\n")
    found = problems_of(copy)
    assert any("resource_policy.max_cost_per_tsk: unknown key" in p for p in found), found
    assert any("differs from examples/policies/production.yaml" in p for p in found), found


def test_a_broken_node_config_fails(tmp_path: Path) -> None:
    copy = mutate(RUNBOOK, tmp_path, "host_addresses: [10.0.0.23]", "host_addresses: [h323.local]")
    found = problems_of(copy)
    assert any("node-config" in p and "h323.local" in p for p in found), found


def test_a_broken_diagram_fails(tmp_path: Path) -> None:
    copy = mutate(
        GOVERNOR,
        tmp_path,
        '        help["help routing"]\n    end\n',
        '        help["help routing"]\n',
    )
    assert any("never closed" in p for p in problems_of(copy))


def test_an_unknown_marker_fails(tmp_path: Path) -> None:
    copy = mutate(GOVERNOR, tmp_path, "<!-- procedure -->", "<!-- procdure timeout=5 -->")
    assert any("unknown marker 'procdure'" in p for p in problems_of(copy))


def _procedure_at(copy: Path, contains: str) -> corpus.Procedure:
    found = [p for p in corpus.procedures(read_document(copy)) if contains in p.script]
    assert len(found) == 1
    return found[0]


@pytest.mark.integration
def test_a_broken_procedure_fails_when_run(tmp_path: Path) -> None:
    copy = mutate(GOVERNOR, tmp_path, "  max_cost_per_task: 12\n", "  max_cost_per_task: -12\n")
    procedure = _procedure_at(copy, "max_cost_per_task: -12")
    work = tmp_path / "work"
    work.mkdir()
    outcome = run_procedure(procedure.script, work, procedure.timeout)
    assert outcome.returncode == 1, outcome.describe()
    assert "greater than or equal to 0" in outcome.stdout


@pytest.mark.integration
def test_a_procedure_whose_output_changed_fails(tmp_path: Path) -> None:
    copy = mutate(
        GOVERNOR,
        tmp_path,
        "typo.yaml:4: resource_policy.budget_warning_ratio",
        "typo.yaml:5: resource_policy.budget_warning_ratio",
    )
    procedure = _procedure_at(copy, "typo.yaml")
    work = tmp_path / "work"
    work.mkdir()
    outcome = run_procedure(procedure.script, work, procedure.timeout)
    assert outcome.returncode == 0, outcome.describe()  # the procedure itself still works...
    step = procedure.steps[0]
    assert step.output is not None
    assert missing_output(step.output.text, outcome.stdout) is not None  # ...its output does not


def test_a_link_to_a_missing_section_fails(tmp_path: Path) -> None:
    copy = mutate(
        RUNBOOK,
        tmp_path,
        "(components/IF.GOVERNOR.md#budget-management)",
        "(components/IF.GOVERNOR.md#budgets)",
    )
    found = problems_of(copy)
    assert any("#budgets: no heading with that anchor" in p for p in found), found
