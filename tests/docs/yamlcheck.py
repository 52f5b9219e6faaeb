"""Every ``yaml`` block in a doc, validated by the loader that reads such a file for real.

The kind comes from a ``<!-- yaml kind=… -->`` marker, else from the content:

==============  ==========================================  ===================================
kind            recognised by                               validated by
==============  ==========================================  ===================================
policy          a top-level ``resource_policy`` key         node.governor.parse_policy
alert-rules     a top-level ``groups`` key                  ``promtool check rules``
node-config     every key is a node setting (node.config)   node.config.load (file only)
status          every key is a STATUS key (board formats)   node.board.formats.status
task-overlay    task ids mapping to overlay fields          node.board.formats.overlay
plain           only by marker                              yaml.safe_load (well-formed only)
==============  ==========================================  ===================================

A block whose keys fit both node-config and status (``session`` and ``branch`` only) needs a
marker; a block that fits nothing fails, so no YAML in the docs goes unchecked by accident.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import yaml

from ifmesh.node.board.formats.overlay import parse_overlay
from ifmesh.node.board.formats.status import KEY_ORDER, parse_status
from ifmesh.node.errors import IfmeshError
from ifmesh.node.governor import parse_policy
from ifmesh.node.runtime.config import NodeConfig, load
from tests.docs.markdown import Block

KINDS = ("policy", "alert-rules", "node-config", "status", "task-overlay", "plain")
_OVERLAY_KEYS = frozenset(
    {"task_type", "required_capabilities", "model", "estimate_hours", "title"}
)
_NODE_KEYS = frozenset(NodeConfig.model_fields)
_STATUS_KEYS = frozenset(KEY_ORDER)


class YamlBlockError(Exception):
    pass


def kind_of(block: Block) -> str:
    marker = block.marker("yaml")
    if marker is not None:
        kind = marker.attrs.get("kind", "")
        if kind not in KINDS:
            raise YamlBlockError(f"{block.where}: yaml kind {kind!r} is not one of {KINDS}")
        return kind
    try:
        data = yaml.safe_load(block.text)
    except yaml.YAMLError as exc:
        raise YamlBlockError(f"{block.where}: not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise YamlBlockError(f"{block.where}: a YAML block of unknown kind: mark it {KINDS}")
    keys = {str(key).replace("-", "_") for key in data}
    if "resource_policy" in keys:
        return "policy"
    if "groups" in keys:
        return "alert-rules"
    if all(isinstance(v, dict) and set(map(str, v)) <= _OVERLAY_KEYS for v in data.values()):
        return "task-overlay"
    node, status = keys <= _NODE_KEYS, keys <= _STATUS_KEYS
    if node and not status:
        return "node-config"
    if status and not node:
        return "status"
    raise YamlBlockError(
        f"{block.where}: cannot tell which file this YAML is (keys {sorted(keys)}); "
        f'mark it <!-- yaml kind="…" --> with one of {KINDS}'
    )


def validate(block: Block, kind: str | None = None) -> str:
    """Validates ``block`` by its kind's real loader; returns the kind. Raises YamlBlockError."""
    kind = kind or kind_of(block)
    try:
        if kind == "policy":
            parse_policy(block.text, file=block.where)
        elif kind == "status":
            parse_status(block.text, path=block.where)
        elif kind == "task-overlay":
            parse_overlay(block.text, path=block.where)
        elif kind == "node-config":
            _node_config(block.text)
        elif kind == "alert-rules":
            check_rules_text(block.text)
        else:
            yaml.safe_load(block.text)
    except IfmeshError as exc:
        raise YamlBlockError(f"{block.where}: {kind}: {exc}") from None
    except yaml.YAMLError as exc:
        raise YamlBlockError(f"{block.where}: not valid YAML: {exc}") from None
    return kind


def _node_config(text: str) -> None:
    from ifmesh.node.mesh.ice import check_host_addresses  # imports aiortc: only when needed

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "node.yaml"
        path.write_text(text, encoding="utf-8")
        config = load({}, config_file=path, environ={})
    # The node checks these when its mesh starts; a doc should not need a start to find out.
    check_host_addresses(config.host_addresses)


def check_rules_text(text: str) -> None:
    """``promtool check rules`` on ``text``; the caller ensures promtool is installed."""
    promtool = shutil.which("promtool")
    if promtool is None:
        raise YamlBlockError("promtool is not installed (Debian package prometheus)")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "rules.yml"
        path.write_text(text, encoding="utf-8")
        result = subprocess.run(
            [promtool, "check", "rules", str(path)],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    if result.returncode != 0:
        raise YamlBlockError(f"promtool check rules: {result.stdout}{result.stderr}".strip())
