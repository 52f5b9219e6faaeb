"""`ifmesh agent-hook PreToolUse` when it cannot check: no node, unreadable input, a tool that
edits nothing. Open by default (exit 0 with a warning), closed when the room's policy said so
(remembered in the state directory) or IFMESH_GUARD says so; IFMESH_GUARD=off skips it. Exit
2 is the only refusal. (With a node: tests/integration/e2e/test_agent_hooks.py.)"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from ifmesh.node.cli import pretooluse


def edit(path: str = "/repo/src/db/models.py", tool: str = "Edit") -> bytes:
    return json.dumps({
        "session_id": "8c35adc1", "transcript_path": "/tmp/t.jsonl", "cwd": "/repo",
        "permission_mode": "default", "hook_event_name": "PreToolUse", "tool_name": tool,
        "tool_input": {"file_path": path, "old_string": "a", "new_string": "b"},
        "tool_use_id": "toolu_01",
    }).encode()  # fmt: skip


@pytest.fixture
def nodeless(tmp_path: Path) -> dict[str, str]:
    """An environment naming a state directory where no node runs."""
    state = tmp_path / "state"
    state.mkdir()
    return {"IFMESH_STATE_DIR": str(state), "XDG_STATE_HOME": str(tmp_path)}


def run(stdin: bytes, environ: dict[str, str]) -> tuple[int, str]:
    err = io.StringIO()
    return pretooluse.run(stdin, environ, err), err.getvalue()


def test_without_a_node_the_edit_goes_through_with_a_warning(nodeless: dict[str, str]) -> None:
    code, said = run(edit(), nodeless)
    assert code == 0
    assert said.startswith("ifmesh: warning: /repo/src/db/models.py was not checked")
    assert "no node is running" in said


def test_a_closed_guard_refuses_what_it_cannot_check(nodeless: dict[str, str]) -> None:
    code, said = run(edit(), nodeless | {"IFMESH_GUARD": "closed"})
    assert code == 2 and said.startswith("ifmesh: refused: the path guard could not check")
    # The room's policy, as the node said it last, is remembered beside the node.
    pretooluse.remember_guard(Path(nodeless["IFMESH_STATE_DIR"]), "closed")
    assert run(edit(), nodeless)[0] == 2
    assert run(b"{not json", nodeless)[0] == 2
    assert run(edit(), nodeless | {"IFMESH_GUARD": "open"})[0] == 0  # a person's override
    pretooluse.remember_guard(Path(nodeless["IFMESH_STATE_DIR"]), "open")
    assert run(edit(), nodeless)[0] == 0


@pytest.mark.parametrize(
    "stdin", [b"", b"{not json", b"[]", json.dumps({"tool_name": "Write"}).encode(),
              json.dumps({"tool_name": "Edit", "tool_input": {"file_path": ""}}).encode()],
)  # fmt: skip
def test_unreadable_input_is_a_warning_never_a_refusal(
    stdin: bytes, nodeless: dict[str, str]
) -> None:
    code, said = run(stdin, nodeless)
    assert code == 0 and said.startswith("ifmesh: warning:")


def test_a_tool_that_edits_nothing_is_not_checked(nodeless: dict[str, str]) -> None:
    bash = json.dumps({"tool_name": "Bash", "tool_input": {"command": "ls"}}).encode()
    assert run(bash, nodeless | {"IFMESH_GUARD": "closed"}) == (0, "")


def test_guard_off_skips_everything(nodeless: dict[str, str]) -> None:
    assert run(b"garbage", nodeless | {"IFMESH_GUARD": "off"}) == (0, "")


def test_every_edit_tool_names_its_file() -> None:
    for tool in ("Edit", "Write", "MultiEdit"):
        assert pretooluse.edited_path(json.loads(edit("/r/a.py", tool))) == ("/r/a.py", "/repo")
    notebook = {"tool_name": "NotebookEdit", "tool_input": {"notebook_path": "/r/n.ipynb"}}
    assert pretooluse.edited_path(notebook) == ("/r/n.ipynb", str(Path.cwd()))
