"""`resource_policy.guard` and `agent_session_end`: what the path guard does when it cannot
check, and what an agent's session end does with its tasks (docs/agents.md)."""

from __future__ import annotations

import pytest

from ifmesh.node.governor.errors import InvalidPolicyFile
from ifmesh.node.governor.policy import DEFAULT_POLICY
from ifmesh.node.governor.policy_file import parse_policy


def test_the_defaults_are_open_and_keep_and_both_are_part_of_the_hash() -> None:
    assert (DEFAULT_POLICY.guard, DEFAULT_POLICY.agent_session_end) == ("open", "keep")
    section = DEFAULT_POLICY.effective()["resource_policy"]
    assert (section["guard"], section["agent_session_end"]) == ("open", "keep")
    same = parse_policy("resource_policy:\n  guard: open\n  agent_session_end: keep\n")
    assert same.hash == DEFAULT_POLICY.hash
    closed = parse_policy("resource_policy:\n  guard: closed\n")
    release = parse_policy("resource_policy:\n  agent_session_end: release\n")
    assert closed.guard == "closed" and closed.hash != DEFAULT_POLICY.hash
    assert release.agent_session_end == "release" and release.hash != DEFAULT_POLICY.hash


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("resource_policy:\n  guard: shut\n", "resource_policy.guard"),
        ("resource_policy:\n  agent_session_end: drop\n", "resource_policy.agent_session_end"),
    ],
)
def test_an_unknown_mode_is_refused_with_its_line(text: str, key: str) -> None:
    with pytest.raises(InvalidPolicyFile) as caught:
        parse_policy(text)
    assert (caught.value.key_path, caught.value.line) == (key, 2)
