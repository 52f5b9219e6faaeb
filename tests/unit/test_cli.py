"""`ifmesh schema`, `ifmesh validate` and the client commands' failures, run in-process through the
real argument parser."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from ifmesh.node.cli import main as cli
from ifmesh.node.control.endpoint import ControlEndpoint, publish, write_token
from ifmesh.node.protocol import fixtures
from ifmesh.node.runtime.statedir import StateDirLock

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


# --- the client commands: which node, and what they say when there is none to talk to ------


@pytest.fixture
def no_ifmesh_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("IFMESH_SESSION", "IFMESH_STATE_DIR", "IFMESH_CONTROL_TIMEOUT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg"))
    return tmp_path


def test_board_in_a_state_dir_does_not_take_its_name_for_a_session(
    no_ifmesh_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state = no_ifmesh_env / "state"
    state.mkdir()
    code, _, err = run(capsys, "board", "--state-dir", str(state))
    assert code == 3
    assert err == (
        f"ifmesh: node_not_running: no node is running in {state}; start one with "
        f"`ifmesh node --session SESSION --state-dir {state} --remote URL`\n"
    )
    assert "--session state" not in err


@pytest.mark.parametrize("command", ["board", "status", "next", "peers", "watch"])
def test_client_commands_read_ifmesh_state_dir_and_session(
    no_ifmesh_env: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    command: str,
) -> None:
    monkeypatch.setenv("IFMESH_STATE_DIR", str(no_ifmesh_env / "lab"))
    code, out, _ = run(capsys, command, "--json")
    assert code == 3
    assert json.loads(out)["error"]["message"].startswith(
        f"no node is running in IFMESH_STATE_DIR={no_ifmesh_env / 'lab'}: no such directory;"
    )
    monkeypatch.delenv("IFMESH_STATE_DIR")
    monkeypatch.setenv("IFMESH_SESSION", "session-7-lab")
    code, out, _ = run(capsys, command, "--json")
    assert json.loads(out)["error"]["message"].startswith(
        "no node is running for session-7-lab (looked in "
        f"{no_ifmesh_env / 'xdg' / 'ifmesh' / 'session-7-lab'});"
    )
    code, out, _ = run(capsys, command, "--json", "--session", "session-8-ops")  # flag wins
    assert "no node is running for session-8-ops" in json.loads(out)["error"]["message"]


@contextlib.contextmanager
def _stuck_node(directory: Path, session: str) -> Iterator[None]:
    """A 'node' (this process holding its lock) on 127.0.0.1 that takes requests and never
    answers; its thread ends when the client hangs up."""
    listener = socket.create_server(("127.0.0.1", 0))

    def hold() -> None:
        with listener, listener.accept()[0] as connection:
            while connection.recv(65536):
                pass

    holder = threading.Thread(target=hold, daemon=True)
    holder.start()
    url = f"http://127.0.0.1:{listener.getsockname()[1]}"
    with StateDirLock(directory):
        publish(directory, ControlEndpoint(session, 4242, url, write_token(directory)))
        yield
    holder.join(10)


def test_a_node_that_never_answers_is_exit_3_with_what_to_do(
    no_ifmesh_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    state = no_ifmesh_env / "stuck"
    with _stuck_node(state, "session-9-stuck"):
        monkeypatch.setenv("IFMESH_CONTROL_TIMEOUT", "0.2")
        code, _, err = run(capsys, "status", "--state-dir", str(state))
    assert code == 3
    assert err.startswith("ifmesh: node_timeout: node session-9-stuck (pid 4242, http://127.0.0.1:")
    assert err.endswith(
        ") took status but gave no answer within 0.2 s; it may be stuck: `kill -USR1 4242` "
        "prints where its tasks wait to its log. If it is only slow, give it longer with "
        "IFMESH_CONTROL_TIMEOUT=SECONDS\n"
    )


def test_a_bad_answer_margin_is_a_usage_error(
    no_ifmesh_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("IFMESH_CONTROL_TIMEOUT", "-1")
    lock = StateDirLock(no_ifmesh_env / "state")
    with lock:
        publish(
            no_ifmesh_env / "state",
            ControlEndpoint("session-7-lab", 1, "http://127.0.0.1:1", no_ifmesh_env / "token"),
        )
        code, out, _ = run(capsys, "board", "--json", "--state-dir", str(no_ifmesh_env / "state"))
    assert code == 2
    assert json.loads(out) == {
        "error": {
            "code": "config_error",
            "message": "IFMESH_CONTROL_TIMEOUT='-1' is not a number of seconds above 0",
        }
    }
