"""The harness's own parts: what counts as a command line, a marker, a YAML kind, a diagram."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.docs import commands, corpus, mermaid, yamlcheck
from tests.docs.markdown import MarkdownError, read_document
from tests.docs.procedures import missing_output

SCRIPT = """\
export IFMESH_SESSION=session-2-webrtc   # ifmesh claim in a comment is not a command
# nor is `ifmesh wait` quoted in one
cat > x.yaml <<'END'
ifmesh not-a-command inside a heredoc
END
TOKEN=$(ifmesh token --room phase-0 --session s --secret-file f) ifmesh node \\
  --session s --signaling-token "$TOKEN" > node.log 2>&1 &
timeout 30 sh -c 'until ifmesh status >/dev/null 2>&1; do sleep 0.5; done'
ifmesh board --json | python3 -c 'import sys' && echo ok
for port in "$PORT" "$PORT2"; do ifmesh signaling --port "$port"; done
"""


def test_command_lines_are_found_where_a_shell_would_run_them() -> None:
    found = [c.argv for c in commands.find_commands(SCRIPT)]
    assert found == [
        ("token", "--room", "phase-0", "--session", "s", "--secret-file", "f"),
        ("node", "--session", "s", "--signaling-token", "x"),
        ("status",),
        ("board", "--json"),
        ("signaling", "--port", "8765"),
    ]


def test_console_blocks_read_only_prompted_lines() -> None:
    text = "$ ifmesh claim P0.5.2\nclaimed P0.5.2 epoch 0\n$ ifmesh board --json\n"
    assert [c.argv for c in commands.find_commands(text, console=True)] == [
        ("claim", "P0.5.2"),
        ("board", "--json"),
    ]


def test_inline_mentions_may_leave_arguments_out_but_not_invent_words() -> None:
    ok = commands.inline_command("ifmesh validate")
    assert ok is not None and commands.check(ok).error is None
    elided = commands.inline_command("ifmesh governor …")
    assert elided is not None and commands.check(elided).error is None
    wrong = commands.inline_command("ifmesh validat")
    assert wrong is not None and "invalid choice" in (commands.check(wrong).error or "")
    flag = commands.inline_command("ifmesh validate --jsn")
    assert flag is not None and commands.check(flag).error is not None


def test_pending_commands_are_checked_against_issue_10s_definition() -> None:
    real_without_runtime = {("schema",), ("validate",), ("governor",), ("governor", "check")}
    good = commands.CommandLine(("wait", "P0.5.2", "--until", "unblocked"), "")
    verdict = commands.check(good, real_without_runtime)
    assert verdict.pending and verdict.error is None
    bad = commands.CommandLine(("wait", "P0.5.2", "--until", "done"), "")
    verdict = commands.check(bad, real_without_runtime)
    assert verdict.pending and "invalid choice: 'done'" in (verdict.error or "")
    unknown = commands.CommandLine(("teleport",), "")
    assert not commands.check(unknown, real_without_runtime).pending


def test_markers_must_be_known_and_sit_on_a_fence(tmp_path: Path) -> None:
    doc = tmp_path / "d.md"
    with pytest.raises(MarkdownError, match="unknown marker 'procedur'"):
        read_document(doc, "<!-- procedur timeout=5 -->\n```sh\ntrue\n```\n")
    with pytest.raises(MarkdownError, match="right above a fenced block"):
        read_document(doc, "<!-- procedure -->\nsome text\n```sh\ntrue\n```\n")
    with pytest.raises(MarkdownError, match="never closed"):
        read_document(doc, "```sh\ntrue\n")
    plain = read_document(doc, "<!-- a comment, not a marker -->\n```sh\ntrue\n```\n")
    assert plain.blocks[0].markers == ()


def test_steps_sharing_an_id_form_one_procedure_with_their_outputs(tmp_path: Path) -> None:
    text = (
        '<!-- procedure id="t" -->\n```sh\necho one\n```\n<!-- output -->\n```text\none\n```\n'
        "<!-- procedure -->\n```sh\necho alone\n```\n"
        '<!-- procedure id="t" timeout=5 -->\n```sh\necho two\n```\n'
    )
    found = corpus.procedures(read_document(tmp_path / "d.md", text))
    assert [len(p.steps) for p in found] == [2, 1]
    assert found[0].steps[0].output is not None and found[0].steps[1].output is None
    assert found[0].timeout == 35
    assert found[0].script == f"echo one\necho '{corpus.STEP}'\necho two\n"


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("resource_policy: {}\n", "policy"),
        ("groups: []\n", "alert-rules"),
        ("session: s\nroom: r\n", "node-config"),
        ("session: s\nmilestone: '25% - x'\n", "status"),
        ("P0.5.2: {task_type: docs}\n", "task-overlay"),
    ],
)
def test_yaml_kinds_are_recognised_by_content(tmp_path: Path, text: str, kind: str) -> None:
    block = read_document(tmp_path / "d.md", f"```yaml\n{text}```\n").blocks[0]
    assert yamlcheck.kind_of(block) == kind


def test_ambiguous_yaml_needs_a_marker(tmp_path: Path) -> None:
    block = read_document(tmp_path / "d.md", "```yaml\nsession: s\nbranch: b\n```\n").blocks[0]
    with pytest.raises(yamlcheck.YamlBlockError, match="cannot tell"):
        yamlcheck.kind_of(block)


@pytest.mark.parametrize(
    ("diagram", "problem"),
    [
        ("flowchart LR\n    a --> b\n", None),
        ("flowchart sideways\n    a --> b\n", "line 1"),
        ('flowchart LR\n    a["x" --> b\n', "unclosed"),
        ("flowchart LR\n    subgraph s\n    a --> b\n", "never closed"),
        ("sequenceDiagram\n    participant A\n    A->>B: hi\n", "B is not a declared"),
        ("sequenceDiagram\n    participant A\n    alt x\n    A->>A: y\n", "never closed"),
        ("stateDiagram-v2\n    [*] --> closed\n    closed -> open\n", "not a state statement"),
        ('pie\n    "a" : 1\n', "unknown diagram type"),
    ],
)
def test_mermaid_problems(diagram: str, problem: str | None) -> None:
    found = mermaid.problems(diagram)
    if problem is None:
        assert found == []
    else:
        assert any(problem in p for p in found), found


def test_expected_output_lines_match_in_order_with_wildcards() -> None:
    stdout = "a  b   c\nseq 12, holding P0.5.2\nend\n"
    assert missing_output("a b c\nseq ..., holding ...P0.5.2\n", stdout) is None
    assert missing_output("end\na b c\n", stdout) == "a b c"  # order matters
    assert missing_output("seq 13...\n", stdout) == "seq 13..."
