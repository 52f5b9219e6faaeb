"""The installed `ifmesh` console script, run as a real process, as a user would."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
IFMESH = Path(sys.executable).with_name("ifmesh")


def ifmesh(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(IFMESH), *argv], cwd=REPO, capture_output=True, text=True, timeout=60, check=False
    )


def test_console_script_validates_fixtures() -> None:
    ok = ifmesh("validate", "fixtures/ifmessages")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    bad = ifmesh("validate", "fixtures/ifmessages/invalid")
    assert bad.returncode == 1
    assert "UNEXPECTED" not in bad.stdout


def test_console_script_schema_matches_committed_file() -> None:
    result = ifmesh("schema")
    assert result.returncode == 0
    assert result.stdout == (REPO / "fixtures/schema/ifmessage.schema.json").read_text()


def test_help_lists_commands() -> None:
    result = ifmesh("--help")
    assert result.returncode == 0
    for command in ("schema", "validate", "demo"):
        assert command in result.stdout
