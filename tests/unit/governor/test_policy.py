"""Policy YAML: defaults, overrides, the canonical hash, and errors with key path and line."""

from __future__ import annotations

import pytest

from ifmesh.node import errors
from ifmesh.node.governor.errors import InvalidPolicyFile
from ifmesh.node.governor.policy import DEFAULT_POLICY
from ifmesh.node.governor.policy_file import load_policy, parse_policy


def test_empty_section_gets_every_default() -> None:
    policy = parse_policy("resource_policy: {}\n")
    assert policy == DEFAULT_POLICY
    assert policy.hash == DEFAULT_POLICY.hash
    base = policy.base
    assert base.max_helpers_per_blocker == 2  # the gang-up limit
    assert base.min_capability_match == 0.7
    assert policy.budget_period == 86400.0
    assert policy.budget_warning_ratio == 0.8


def test_task_type_overrides_resolve_against_the_base() -> None:
    policy = parse_policy(
        """
resource_policy:
  max_cost_per_task: 8
  circuit_breaker_reset_timeout: 10m
  task_types:
    docs:
      max_cost_per_task: 3.5
      escalation_deadline: 1h
"""
    )
    docs = policy.limits("docs")
    assert docs.max_cost_per_task == 3.5
    assert docs.escalation_deadline == 3600.0
    assert docs.circuit_breaker_reset_timeout == 600.0  # inherited
    assert policy.limits("protocol").max_cost_per_task == 8.0  # unknown type: the base
    assert policy.limits(None) is policy.base


def test_hash_is_canonical_over_the_effective_policy() -> None:
    spelled_out = parse_policy(
        "resource_policy:\n  budget_period: daily\n  circuit_breaker_reset_timeout: 300\n"
    )
    terse = parse_policy("# comment\nresource_policy:\n  circuit_breaker_reset_timeout: 5m\n")
    assert spelled_out.hash == terse.hash == DEFAULT_POLICY.hash
    assert DEFAULT_POLICY.hash.startswith("sha256:") and len(DEFAULT_POLICY.hash) == 71
    changed = parse_policy("resource_policy:\n  task_types:\n    docs: {max_swarms_per_task: 1}\n")
    assert changed.hash != DEFAULT_POLICY.hash


def test_budget_period_none_means_one_period() -> None:
    assert parse_policy("resource_policy:\n  budget_period: none\n").budget_period is None
    assert parse_policy("resource_policy:\n  budget_period: 2h\n").budget_period == 7200.0


@pytest.mark.parametrize(
    ("text", "key_path", "line", "words"),
    [
        (
            "resource_policy:\n  max_swarms_per_task: 2\n  max_cost_per_task: -1\n",
            "resource_policy.max_cost_per_task",
            3,
            "greater than or equal to 0",
        ),
        (
            "resource_policy:\n  task_types:\n    docs:\n\n      min_capability_mach: 0.5\n",
            "resource_policy.task_types.docs.min_capability_mach",
            5,
            "unknown key",
        ),
        (
            "resource_policy:\n  circuit_breaker_reset_timeout: soon\n",
            "resource_policy.circuit_breaker_reset_timeout",
            2,
            "not a duration",
        ),
        (
            "resource_policy:\n  max_swarms_per_task: '3'\n",
            "resource_policy.max_swarms_per_task",
            2,
            "valid integer",
        ),
        (
            "resource_policy:\n  min_capability_match: 1.5\n",
            "resource_policy.min_capability_match",
            2,
            "less than or equal to 1",
        ),
        ("resource_polcy:\n  max_cost_per_task: 1\n", "resource_polcy", 1, "unknown key"),
        (
            "resource_policy:\n  max_cost_per_task: 1\n  max_cost_per_task: 2\n",
            "resource_policy.max_cost_per_task",
            3,
            "duplicate key (first given on line 2)",
        ),
        ("resource_policy:\n  task_types: [docs]\n", "resource_policy.task_types", 2, "mapping"),
        ("resource_policy:\n  max_cost_per_task: [1\n", "", 3, "not valid YAML"),
        ("", "", None, "empty file"),
    ],
)
def test_errors_name_key_path_and_line(
    text: str, key_path: str, line: int | None, words: str
) -> None:
    with pytest.raises(InvalidPolicyFile) as caught:
        parse_policy(text, file="policy.yaml")
    error = caught.value
    assert isinstance(error, errors.InvalidPolicy)
    assert error.key_path == key_path
    assert error.line == line
    assert words in str(error)
    if line is not None:
        assert str(error).startswith(f"policy.yaml:{line}: ")


def test_every_problem_is_reported_in_line_order(tmp_path: object) -> None:
    text = "resource_policy:\n  max_cost_per_task: x\n  max_swarms_per_task: 0\n  bogus: 1\n"
    with pytest.raises(InvalidPolicyFile) as caught:
        parse_policy(text)
    assert [(p.key_path.split(".")[-1], p.line) for p in caught.value.problems] == [
        ("max_cost_per_task", 2),
        ("max_swarms_per_task", 3),
        ("bogus", 4),
    ]


def test_load_policy_reads_files_and_refuses_binary(tmp_path: pytest.TempPathFactory) -> None:
    from pathlib import Path

    folder = Path(str(tmp_path))
    good = folder / "policy.yaml"
    good.write_text("resource_policy:\n  max_cost_per_task: 4\n")
    assert load_policy(good).base.max_cost_per_task == 4.0
    binary = folder / "blob.yaml"
    binary.write_bytes(b"\xff\xfe\x00junk")
    with pytest.raises(InvalidPolicyFile, match="not UTF-8"):
        load_policy(binary)
    with pytest.raises(OSError):
        load_policy(folder / "missing.yaml")


def test_takeover_defaults_to_offer_and_is_part_of_the_hash() -> None:
    assert DEFAULT_POLICY.takeover == "offer"
    assert DEFAULT_POLICY.effective()["resource_policy"]["takeover"] == "offer"
    assert parse_policy("resource_policy:\n  takeover: offer\n").hash == DEFAULT_POLICY.hash
    hashes = {DEFAULT_POLICY.hash}
    for setting in ("auto", "never"):
        policy = parse_policy(f"resource_policy:\n  takeover: {setting}\n")
        assert policy.takeover == setting
        hashes.add(policy.hash)
    assert len(hashes) == 3  # nodes that take over differently never share a hash


def test_takeover_names_its_choices_when_misspelled() -> None:
    with pytest.raises(InvalidPolicyFile) as caught:
        parse_policy("resource_policy:\n  max_cost_per_task: 4\n  takeover: steal\n")
    error = caught.value
    assert (error.key_path, error.line) == ("resource_policy.takeover", 3)
    assert "'offer', 'auto' or 'never'" in str(error)
