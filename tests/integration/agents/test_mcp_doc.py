"""docs/agents.md, "MCP server", against the server: every tool and resource it serves has its
row, naming the control API call it makes; no row names one it does not serve; the `.mcp.json`
examples are JSON and their command lines parse. (No sockets: the doc and the code only.)"""

from __future__ import annotations

import json
import re
from pathlib import Path

from ifmesh.node.agents.mcp_resources import RESOURCES
from ifmesh.node.agents.mcp_tools import SPECS
from ifmesh.node.cli.main import build_parser

DOC = Path(__file__).resolve().parents[3] / "docs" / "agents.md"
ROW = re.compile(r"^\| `([^`]+)` \| `?([^|`]*)`? \|", re.M)
RESOURCE_ROW = re.compile(r"^\| `(ifmesh://[^`]+)` \|", re.M)


def _section() -> str:
    text = DOC.read_text(encoding="utf-8")
    start = text.index("\n## MCP server\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else len(text)]


def test_every_tool_has_its_row_with_the_call_it_makes() -> None:
    rows = {name: call for name, call in ROW.findall(_section()) if not name.startswith("ifmesh:")}
    served = {
        spec.name: f"{'GET' if spec.kind == 'query' else 'POST'} /v1/{spec.route}" for spec in SPECS
    }
    assert rows == served


def test_every_resource_has_its_row() -> None:
    rows = set(RESOURCE_ROW.findall(_section()))
    assert rows == {str(resource.uri) for resource in RESOURCES}


def test_the_configuration_examples_run_ifmesh_mcp() -> None:
    blocks = re.findall(r"```json\n(.*?)```", _section(), re.S)
    assert blocks
    for block in blocks:
        server = json.loads(block)["mcpServers"]["ifmesh"]
        assert server["command"] == "ifmesh"
        args = build_parser(server["args"]).parse_args(server["args"])
        assert args.command == "mcp" and args.start
