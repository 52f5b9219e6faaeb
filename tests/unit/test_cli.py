"""`ifmesh schema` and `ifmesh validate`, run in-process through the real argument parser."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ifmesh.node.cli import main as cli
from ifmesh.node.protocol import fixtures

REPO = Path(__file__).resolve().parents[2]
SCHEMA_FILE = REPO / "fixtures" / "schema" / "ifmessage.schema.json"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_schema_command_prints_the_committed_schema(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "schema")
    assert code == 0
    assert out == SCHEMA_FILE.read_text(encoding="utf-8"), (
        "the models changed: run `ifmesh schema > fixtures/schema/ifmessage.schema.json`"
    )


def test_schema_names_every_message_type(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run(capsys, "schema")
    from ifmesh.node.protocol.messages import ENVELOPES

    assert set(json.loads(out)["discriminator"]["mapping"]) == set(ENVELOPES)


def test_validate_shipped_fixtures_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "validate", str(fixtures.messages_dir()))
    assert code == 0, out
    assert "invalid/" not in out  # negative cases only when named directly
    assert out.count("\nok") + out.startswith("ok") == len(fixtures.fixture_names())
    assert "0 invalid" in err


def test_validate_negative_cases_exits_1_and_names_expected_errors(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = run(capsys, "validate", str(fixtures.messages_dir() / "invalid"))
    assert code == 1
    lines = out.splitlines()
    assert len(lines) == len(fixtures.invalid_cases())
    assert all("as expected]" in line for line in lines), out
    assert any("invalid_milestone at payload.percent" in line for line in lines)


def test_validate_json_output(capsys: pytest.CaptureFixture[str]) -> None:
    target = fixtures.messages_dir() / "invalid" / "percent-not-milestone.json"
    code, out, _ = run(capsys, "validate", "--json", str(target))
    assert code == 1
    result = json.loads(out)
    assert result["code"] == "invalid_milestone"
    assert result["field"] == "payload.percent"
    assert result["as_expected"] is True


@pytest.mark.parametrize(
    ("content", "expected_code"),
    [("", "empty"), ("{not json", "malformed_json"), ("\xff", None)],
)
def test_validate_unreadable_input_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str, expected_code: str | None
) -> None:
    target = tmp_path / "message.json"
    if expected_code is None:
        target.write_bytes(b"\xff\xfe")
        expected_code = "unreadable"
    else:
        target.write_text(content)
    code, out, _ = run(capsys, "validate", str(target))
    assert code == 2
    assert expected_code in out


def test_validate_nothing_found_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "validate", str(tmp_path))
    assert code == 2
    assert "nothing to validate" in err
    code, out, _ = run(capsys, "validate", str(tmp_path / "missing.json"))
    assert code == 2
    assert "no such file" in out


def test_validate_jsonl_reports_the_failing_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = fixtures.fixture_path("cli/task.claim").read_text()
    bad = json.loads(good)
    bad["payload"]["epoch"] = -3
    target = tmp_path / "log.jsonl"
    target.write_text(json.dumps(json.loads(good)) + "\n\n" + json.dumps(bad) + "\n")
    code, out, _ = run(capsys, "validate", str(target))
    assert code == 1
    assert f"{target}:3: invalid_field at payload.epoch" in out


def test_unknown_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        cli.main(["frobnicate"])
    assert caught.value.code == 2
