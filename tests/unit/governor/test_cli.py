"""`ifmesh governor check FILE`: offline validation, effective policy, hash, exit codes."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from ifmesh.node.governor import cli
from ifmesh.node.governor.policy import DEFAULT_POLICY
from ifmesh.node.governor.policy_file import load_policy

ROOT = Path(__file__).resolve().parents[3]


def run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="ifmesh")
    cli.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    code: int = args.handler(args)
    return code


def test_valid_policy_prints_effective_policy_with_defaults_and_hash(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text("resource_policy:\n  max_cost_per_task: 7\n")
    assert run(["governor", "check", str(path)]) == 0
    out = capsys.readouterr().out
    assert f"# policy_hash: {load_policy(path).hash}" in out
    effective = yaml.safe_load(out)  # the comment lines are YAML comments
    assert effective["resource_policy"]["max_cost_per_task"] == 7.0
    assert effective["resource_policy"]["max_helpers_per_blocker"] == 2  # a default, shown
    assert effective["resource_policy"]["circuit_breaker_reset_timeout"] == 300.0


def test_invalid_policy_exits_1_naming_key_path_and_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text("resource_policy:\n  task_types:\n    docs:\n      max_cost_per_task: lots\n")
    assert run(["governor", "check", str(path)]) == 1
    out = capsys.readouterr().out
    assert out.startswith(f"{path}:4: resource_policy.task_types.docs.max_cost_per_task: ")
    assert run(["governor", "check", "--json", str(path)]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["valid"] is False and report["code"] == "invalid_policy"
    assert report["errors"][0]["key_path"] == "resource_policy.task_types.docs.max_cost_per_task"
    assert report["errors"][0]["line"] == 4


def test_unreadable_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["governor", "check", str(tmp_path / "absent.yaml")]) == 2
    assert "cannot read" in capsys.readouterr().err


def test_every_example_checks_valid(capsys: pytest.CaptureFixture[str]) -> None:
    for path in sorted((ROOT / "examples" / "policies").glob("*.yaml")):
        assert run(["governor", "check", "--json", str(path)]) == 0
        report = json.loads(capsys.readouterr().out)
        assert report["valid"] is True
        assert report["policy_hash"] == load_policy(path).hash != DEFAULT_POLICY.hash


def test_check_runs_as_a_process() -> None:
    path = ROOT / "examples" / "policies" / "production.yaml"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "ifmesh.node.governor.cli",
            "governor",
            "check",
            "--json",
            str(path),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["policy_hash"] == load_policy(path).hash
