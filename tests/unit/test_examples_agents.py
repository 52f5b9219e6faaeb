"""examples/agents/claude-code/ as shipped: `.claude/settings.json` wires each hook event to
an executable one-line script that runs `ifmesh agent-hook` for that very event (PreToolUse
only on the edit tools), and `.mcp.json` runs the MCP server. Both command lines parse."""

from __future__ import annotations

import json
import os
import shlex
from pathlib import Path

from ifmesh.node.cli.main import build_parser

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "agents" / "claude-code"


def test_settings_wire_each_event_to_its_one_line_script() -> None:
    settings = json.loads((EXAMPLE / ".claude" / "settings.json").read_text(encoding="utf-8"))
    hooks = settings["hooks"]
    assert set(hooks) == {"SessionStart", "PreToolUse", "Stop", "SessionEnd"}
    assert [group.get("matcher") for group in hooks["PreToolUse"]] == ["Edit|Write|MultiEdit"]
    for event, groups in hooks.items():
        [group] = groups
        [hook] = group["hooks"]
        assert hook["type"] == "command" and hook["timeout"] > 0
        script = EXAMPLE / hook["command"].replace('"$CLAUDE_PROJECT_DIR"/', "")
        assert os.access(script, os.X_OK), f"{script} is not executable"
        shebang, line = script.read_text(encoding="utf-8").splitlines()
        assert shebang == "#!/bin/sh"
        argv = shlex.split(line)
        assert argv[:2] == ["exec", "ifmesh"]
        args = build_parser(argv[2:]).parse_args(argv[2:])
        assert (args.command, args.event) == ("agent-hook", event)


def test_the_mcp_configuration_runs_ifmesh_mcp() -> None:
    config = json.loads((EXAMPLE / ".mcp.json").read_text(encoding="utf-8"))
    server = config["mcpServers"]["ifmesh"]
    assert (server["command"], server["args"][0]) == ("ifmesh", "mcp")
