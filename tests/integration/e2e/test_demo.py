"""`make demo` runs `ifmesh up`: it must run to completion unattended, without a terminal."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.conftest import require_tool

REPO = Path(__file__).resolve().parents[3]


@pytest.mark.integration
@pytest.mark.timeout(400)
def test_make_demo_runs_the_scenario_to_completion() -> None:
    require_tool("git")
    require_tool("make")
    # Without a terminal, as in CI: `ifmesh up` prints its steps instead of redrawing.
    result = subprocess.run(
        ["make", "-s", "demo"], cwd=REPO, capture_output=True, text=True, timeout=380,
        check=False, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    out = result.stdout
    assert "was woken" in out and "completed P0.5.2" in out
    assert "complete: P0.5.2" in out  # the coordination branch's git log is printed
    figures = json.loads(out.strip().splitlines()[-1])["figures"]
    assert figures["claim_confirmed_in_git_ms"] > 0
    assert figures["events_measured"] >= 4
