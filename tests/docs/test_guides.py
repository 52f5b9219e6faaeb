"""The guides cover what the code has: every policy option, node setting, server option, metric.

Each table row is looked up by the option's name in the first column; a new option in the code
without a row here fails, and so does a documented default that is not the code's.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path
from typing import Any

import pytest

from ifmesh.node.cli.main import build_parser
from ifmesh.node.governor.policy import LimitsOverride, ResourcePolicy
from ifmesh.node.runtime.config import NodeConfig
from tests.docs import promql
from tests.docs.corpus import REPO
from tests.docs.markdown import read_document

GOVERNOR = REPO / "docs" / "components" / "IF.GOVERNOR.md"
RUNBOOK = REPO / "docs" / "PHASE-0-PRODUCTION-RUNBOOK.md"


def rows(path: Path) -> dict[str, list[str]]:
    """First-column code name → the row's cells, for every table row in ``path``."""
    found: dict[str, list[str]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        match = re.fullmatch(r"`([^`]+)`", cells[0]) if line.startswith("|") else None
        if match is not None:
            found.setdefault(match.group(1), cells)
    return found


def rendered(value: Any) -> set[str]:
    """The ways a default may be written in a doc."""
    if isinstance(value, bool):
        return {str(value).lower()}
    if isinstance(value, float):
        return {f"{value:g}", repr(value)}
    return {str(value)}


def code_spans(cell: str) -> list[str]:
    return re.findall(r"`([^`]+)`", cell)


# --- IF.GOVERNOR.md --------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(ResourcePolicy.model_fields))
def test_every_policy_option_is_documented_with_its_default(name: str) -> None:
    table = rows(GOVERNOR)
    assert name in table, f"resource_policy.{name} has no row in {GOVERNOR.name}"
    _, kind, default, per_type, effect = table[name]
    assert kind and effect, f"{name}: type and effect must be filled in"
    field_default = ResourcePolicy.model_fields[name].get_default(call_default_factory=True)
    if name == "task_types":
        assert code_spans(default) == ["{}"]
        return
    assert set(code_spans(default)[:1]) & rendered(field_default), (
        f"{name}: the doc says {default!r}, the code's default is {field_default!r}"
    )
    expected = "yes" if name in LimitsOverride.model_fields else "no"
    assert per_type == expected, f"{name}: 'Per task type' must say {expected}"


def test_every_example_policy_is_included_in_the_guide() -> None:
    document = read_document(GOVERNOR)
    included = {
        marker.attrs["path"]
        for block in document.blocks
        if (marker := block.marker("include")) is not None
    }
    examples = {
        str(path.relative_to(REPO)) for path in (REPO / "examples" / "policies").glob("*.yaml")
    }
    assert examples <= included, f"not in the guide: {sorted(examples - included)}"


def test_governor_guide_has_every_acceptance_section() -> None:
    headings = [line for line in GOVERNOR.read_text().splitlines() if line.startswith("## ")]
    for wanted in (
        "Architecture",
        "Capability registry",
        "Policy configuration",
        "Budget management",
        "Circuit breakers",
        "Example policies",
        "Troubleshooting",
    ):
        assert any(wanted in heading for heading in headings), wanted


# --- PHASE-0-PRODUCTION-RUNBOOK.md ------------------------------------------------------------


@pytest.mark.parametrize("name", list(NodeConfig.model_fields))
def test_every_node_setting_is_documented(name: str) -> None:
    table = rows(RUNBOOK)
    assert name in table, f"node setting {name} has no row in {RUNBOOK.name}"
    cells = table[name]
    assert f"`--{name.replace('_', '-')}`" in cells[1]
    assert f"`IFMESH_{name.upper()}`" in cells[2]
    default = NodeConfig.model_fields[name].default
    if isinstance(default, str | float) and not isinstance(default, bool) and default:
        assert set(code_spans(cells[3])[:1]) & rendered(default), (
            f"{name}: the doc says {cells[3]!r}, the code's default is {default!r}"
        )


def _signaling_options() -> list[argparse.Action]:
    parser = build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    server = commands.choices["signaling"]
    return [a for a in server._actions if a.option_strings and a.dest != "help"]


@pytest.mark.parametrize("option", _signaling_options(), ids=lambda a: a.option_strings[0])
def test_every_signaling_option_is_documented(option: argparse.Action) -> None:
    flag = option.option_strings[0]
    table = rows(RUNBOOK)
    assert flag in table, f"`ifmesh signaling {flag}` has no row in {RUNBOOK.name}"
    default = option.default
    if default not in (None, False):
        assert set(code_spans(table[flag][1])[:1]) & rendered(default), (
            f"{flag}: the doc says {table[flag][1]!r}, the code's default is {default!r}"
        )


@pytest.mark.integration
def test_every_signaling_metric_is_documented(signaling_metrics: str) -> None:
    table = rows(RUNBOOK)
    for family, kind in promql.families(signaling_metrics).items():
        assert family in table, f"metric {family} has no row in {RUNBOOK.name}"
        assert table[family][1] == kind, f"{family} is a {kind}"


def test_runbook_maps_the_phase0_components_and_covers_all_three() -> None:
    text = RUNBOOK.read_text(encoding="utf-8")
    for task in ("P0.1.5", "P0.2.6", "P0.3.6"):
        assert task in text
    for component in ("Signaling server", "Mesh node", "Git-sync bridge"):
        assert f"**{component}**" in text, component
    headings = [line for line in text.splitlines() if line.startswith("## ")]
    for wanted in (
        "Deployment",
        "Monitoring",
        "Incident response",
        "Backup and restore",
        "Performance tuning",
        "Security checklist",
    ):
        assert f"## {wanted}" in headings, wanted


def _playbooks() -> dict[str, str]:
    text = RUNBOOK.read_text(encoding="utf-8")
    parts = re.split(r"^### (Playbook: .+)$", text, flags=re.M)
    return {parts[i]: parts[i + 1].split("\n## ")[0] for i in range(1, len(parts), 2)}


def test_every_playbook_has_detection_diagnosis_mitigation_escalation() -> None:
    playbooks = _playbooks()
    for topic in (
        "signaling server down",
        "split mesh",
        "git remote unreachable",
        "stuck claim or dead session",
        "budget exhausted",
        "circuit breaker open",
    ):
        assert f"Playbook: {topic}" in playbooks, topic
    for name, body in playbooks.items():
        for part in ("Detection", "Diagnosis", "Mitigation", "Escalation"):
            assert f"**{part}:**" in body, f"{name}: no {part}"


def test_alert_runbook_links_point_at_runbook_sections() -> None:
    anchors = read_document(RUNBOOK).anchors
    rules = (REPO / "examples" / "deploy" / "prometheus" / "ifmesh-alerts.yml").read_text()
    links = re.findall(r"PHASE-0-PRODUCTION-RUNBOOK\.md#([\w-]+)", rules)
    assert links
    for link in links:
        assert link in anchors, f"alert runbook link #{link} matches no heading"


def test_every_benchmark_a_doc_quotes_exists() -> None:
    quoted = set()
    for path in (REPO / "docs").rglob("*.md"):
        quoted |= set(re.findall(r"benchmarks/(\w+)\.py", path.read_text(encoding="utf-8")))
    assert quoted
    for name in quoted:
        assert (REPO / "benchmarks" / f"{name}.py").is_file(), f"benchmarks/{name}.py"


def test_every_control_command_and_query_is_documented() -> None:
    handlers = pytest.importorskip(
        "ifmesh.node.control.handlers",
        reason="pending: the node runtime's control handlers (issue 10)",
    )
    doc = REPO / "docs" / "control-api.md"
    if not doc.is_file():
        pytest.skip("pending: docs/control-api.md (issue 10)")
    text = doc.read_text(encoding="utf-8")
    routes = handlers.Handlers(None)
    for name in [*routes.commands(), *routes.queries()]:
        assert f"/v1/{name}" in text, f"/v1/{name} is not in docs/control-api.md"
