"""examples/deploy/: alert rules, Prometheus config, Grafana dashboard, systemd units, container.

Every metric a dashboard query or an alert names must be one a real signaling server exports;
the rules pass ``promtool check rules`` and their unit tests ``promtool test rules``; every
``ifmesh`` command line in the units and the container recipe parses with the real CLI.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.conftest import require_tool
from tests.docs import commands, promql
from tests.docs.procedures import VENV_BIN

DEPLOY = Path(__file__).resolve().parents[2] / "examples" / "deploy"
DASHBOARD = DEPLOY / "grafana" / "ifmesh-signaling.json"
RULES = DEPLOY / "prometheus" / "ifmesh-alerts.yml"
PROMETHEUS_OWN = {"up"}  # series Prometheus itself makes for every target


def _dashboard_exprs() -> list[str]:
    document = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    return [t["expr"] for p in document["panels"] for t in p.get("targets", [])]


def _rule_exprs() -> list[str]:
    document = yaml.safe_load(RULES.read_text(encoding="utf-8"))
    return [r["expr"] for g in document["groups"] for r in g["rules"]]


def test_promql_reader_finds_metric_names() -> None:
    expr = (
        'histogram_quantile(0.99, sum by (le, instance) (rate(x_seconds_bucket{code=~"a|b"}[5m])))'
        " > 0.05 and on(instance) up == 0"
    )
    assert promql.metric_names(expr) == {"x_seconds_bucket", "up"}


@pytest.mark.integration
def test_every_dashboard_query_names_an_exported_metric(signaling_metrics: str) -> None:
    exported = promql.exported(signaling_metrics) | PROMETHEUS_OWN
    exprs = _dashboard_exprs()
    assert len(exprs) >= 10
    for expr in exprs:
        names = promql.metric_names(expr)
        assert names, f"no metric in {expr!r}"
        assert names <= exported, f"{expr!r} names {sorted(names - exported)}: not exported"


@pytest.mark.integration
def test_every_alert_names_an_exported_metric(signaling_metrics: str) -> None:
    exported = promql.exported(signaling_metrics) | PROMETHEUS_OWN
    for expr in _rule_exprs():
        names = promql.metric_names(expr)
        assert names and names <= exported, f"{expr!r}: {sorted(names - exported)} not exported"


@pytest.mark.integration
def test_every_exported_metric_is_on_the_dashboard(signaling_metrics: str) -> None:
    used = set().union(*(promql.metric_names(e) for e in _dashboard_exprs()))
    for family, kind in promql.families(signaling_metrics).items():
        names = {family} if kind != "histogram" else {f"{family}_bucket", f"{family}_sum"}
        assert used & names, f"{family} has no panel in {DASHBOARD.name}"


@pytest.mark.integration
def test_alert_rules_pass_promtool_check_and_their_unit_tests() -> None:
    promtool = require_tool("promtool")
    for args in (
        ["check", "rules", RULES.name],
        ["test", "rules", "ifmesh-alerts.test.yml"],
        ["check", "config", "prometheus.yml"],
    ):
        result = subprocess.run(
            [promtool, *args],
            cwd=RULES.parent,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert result.returncode == 0, f"promtool {' '.join(args)}:\n{result.stdout}{result.stderr}"


def _environment(unit: str) -> dict[str, str]:
    values = dict(re.findall(r"^Environment=(\w+)=(.*)$", unit, re.M))
    env_file = DEPLOY / "systemd" / "signaling.env"
    values |= dict(re.findall(r"^(\w+)=(.*)$", env_file.read_text(encoding="utf-8"), re.M))
    values.setdefault("IFMESH_SIGNALING_ARGS", "--redis redis://127.0.0.1:6379/0")
    return values


@pytest.mark.parametrize("name", ["ifmesh-signaling@.service", "ifmesh-node@.service"])
def test_systemd_exec_start_parses(name: str) -> None:
    unit = (DEPLOY / "systemd" / name).read_text(encoding="utf-8")
    line = re.search(r"^ExecStart=(.*)$", unit, re.M)
    assert line is not None
    text = line.group(1).replace("%i", "8765" if "signaling" in name else "session-2-webrtc")
    text = text.replace("%h", "/home/agent")
    for key, value in _environment(unit).items():
        text = text.replace("${" + key + "}", value).replace("$" + key, value)
    found = list(commands.find_commands(text))
    assert len(found) == 1, text
    verdict = commands.check(found[0])
    assert verdict.error is None, f"{name}: {text}: {verdict.error}"


@pytest.mark.parametrize("name", ["ifmesh-signaling@.service", "ifmesh-node@.service"])
def test_systemd_unit_verifies(name: str, tmp_path: Path) -> None:
    analyze = require_tool("systemd-analyze")
    unit = (DEPLOY / "systemd" / name).read_text(encoding="utf-8")
    # Checked as a system unit, with this checkout's ifmesh and an account that exists here.
    unit = unit.replace("/opt/ifmesh/.venv/bin/ifmesh", str(VENV_BIN / "ifmesh"))
    unit = re.sub(r"^(User|Group)=ifmesh$", r"\1=root", unit, flags=re.M)
    target = tmp_path / name.replace("@.", "@8765.")
    target.write_text(unit, encoding="utf-8")
    result = subprocess.run(
        [analyze, "verify", str(target)], capture_output=True, text=True, timeout=60, check=False
    )
    output = result.stdout + result.stderr
    relevant = [line for line in output.splitlines() if target.name in line or "Unknown" in line]
    assert result.returncode == 0 and not relevant, output


def _container_commands() -> list[list[str]]:
    recipe = (DEPLOY / "container" / "Containerfile").read_text(encoding="utf-8")
    entry = json.loads(re.search(r"^ENTRYPOINT (.*)$", recipe, re.M).group(1))  # type: ignore[union-attr]
    default = json.loads(re.search(r"^CMD (.*)$", recipe, re.M).group(1))  # type: ignore[union-attr]
    compose = yaml.safe_load((DEPLOY / "container" / "compose.yaml").read_text(encoding="utf-8"))
    found = [entry + default]
    found += [entry + s["command"] for s in compose["services"].values() if "build" in s]
    return found


def test_container_commands_parse() -> None:
    argvs = _container_commands()
    assert len(argvs) == 3
    for argv in argvs:
        assert argv[0] == "ifmesh"
        verdict = commands.check(commands.CommandLine(tuple(argv[1:]), " ".join(argv)))
        assert verdict.error is None, f"{argv}: {verdict.error}"


def test_container_recipe_copies_what_the_package_needs() -> None:
    recipe = (DEPLOY / "container" / "Containerfile").read_text(encoding="utf-8")
    root = DEPLOY.parents[1]
    for source in re.findall(r"^COPY (\S+)", recipe, re.M):
        assert (root / source).exists(), f"COPY {source}: not in the repository"
    assert re.search(r"apt-get install .*\bgit\b", recipe), "the bridge drives the real git"
