"""Support for the SDP integration tests: root and stable-summary helpers, and one run of the
capture script with the checks every browser's capture must pass."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from ifmesh.node.sdp.fixtures import sdp_fixture
from tests.conftest import IN_CI

SCRIPT = Path(__file__).resolve().parents[3] / "scripts" / "capture_sdp.py"

# Keys of a replay summary that do not change from one capture to the next on the same
# software: ufrags, ports and addresses do, so they are left out.
STABLE_KEYS = (
    "type",
    "media",
    "codecs",
    "bundle",
    "bundle_transport_shared",
    "rtcp_mux",
    "dtls_setup",
    "dtls_role",
    "fingerprint_algorithms",
    "ice_lite",
    "sctp_port",
    "max_message_size",
    "end_of_candidates",
)


def require_root() -> None:
    """Network namespaces need root: fails under CI (which runs as root), skips elsewhere."""
    if os.geteuid() != 0:
        message = "creating a network namespace needs root"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)


def stable(summary: dict[str, object]) -> dict[str, object]:
    return {key: summary.get(key) for key in STABLE_KEYS}


def capture_with(browser: str, path: str, out: Path, *options: str) -> dict[str, Any]:
    """Run the capture script for one browser; its JSON summary, once the run has shown what
    every capture must: exit 0, the channel open with one message each way whichever side
    offered, and the namespace gone afterwards."""
    command = [sys.executable, str(SCRIPT), "--out", str(out), "--browsers", browser]
    process = subprocess.Popen(
        [*command, f"--{browser}", path, *options],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        stdout, stderr = process.communicate(timeout=100)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, stderr[-3000:]
    result: dict[str, Any] = json.loads(stdout.strip().splitlines()[-1])

    assert [(r["offerer"], r["channel_state"]) for r in result["interop"]] == [
        (browser, "open"),
        ("aiortc", "open"),
    ]
    for run in result["interop"]:
        offered = f"({run['offerer']} offered)"
        assert run["to_aiortc"] == f"hello from {browser} {offered}"
        assert run["to_browser"] == f"hello from aiortc {offered}"

    namespaces = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    assert f"ifmesh-sdp-{process.pid}-" not in namespaces
    return result


def fresh_fixtures(result: dict[str, Any], out: Path, committed: set[str]) -> dict[str, Any]:
    """The capture wrote exactly the ``committed`` fixtures and each negotiates as its
    committed twin says; the fresh ones' metadata by name."""
    assert set(result["fixtures"]) == committed
    fresh = {}
    for name in sorted(committed):
        meta = yaml.safe_load((out / f"{name}.yaml").read_text())
        assert meta["origin"]["method"] == "captured"
        expect = sdp_fixture(name).meta.expect
        assert expect is not None
        assert stable(meta["expect"]) == stable(expect), name
        fresh[name] = meta
    return fresh
