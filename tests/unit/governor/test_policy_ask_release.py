"""`resource_policy.ask_release_grace`: how long a holder has to answer an ask-release."""

from __future__ import annotations

import pytest

from ifmesh.node.governor.errors import InvalidPolicyFile
from ifmesh.node.governor.policy import DEFAULT_POLICY
from ifmesh.node.governor.policy_file import parse_policy


def test_the_grace_defaults_to_ten_minutes_and_is_part_of_the_hash() -> None:
    assert DEFAULT_POLICY.ask_release_grace == 600.0
    assert DEFAULT_POLICY.effective()["resource_policy"]["ask_release_grace"] == 600.0
    assert parse_policy("resource_policy:\n  ask_release_grace: 10m\n").hash == DEFAULT_POLICY.hash
    short = parse_policy("resource_policy:\n  ask_release_grace: 90s\n")
    assert short.ask_release_grace == 90.0 and short.hash != DEFAULT_POLICY.hash


def test_a_grace_that_is_no_duration_is_refused_with_its_line() -> None:
    with pytest.raises(InvalidPolicyFile) as caught:
        parse_policy("resource_policy:\n  ask_release_grace: soon\n")
    assert (caught.value.key_path, caught.value.line) == ("resource_policy.ask_release_grace", 2)
