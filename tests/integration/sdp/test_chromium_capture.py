"""Headless Chromium and aiortc in a network namespace the capture script creates.

Chromium offers a data channel and aiortc answers; aiortc offers and Chromium answers; in
both, the channel opens and a message goes each way. Every SDP captured on the way must
negotiate as the committed fixture of the same name says (drift from what the browser
sends today fails here), and the namespace must be gone afterwards.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from node.sdp.fixtures import sdp_fixture, sdp_fixture_names
from tests.conftest import require_tool
from tests.integration.sdp.conftest import require_root, stable

pytestmark = pytest.mark.integration

SCRIPT = Path(__file__).resolve().parents[3] / "scripts" / "capture_sdp.py"


def test_chromium_and_aiortc_interoperate_and_fixtures_still_match(tmp_path: Path) -> None:
    require_root()
    require_tool("ip")
    chromium = require_tool("chromium")
    process = subprocess.Popen(
        [
            *(sys.executable, str(SCRIPT), "--out", str(tmp_path), "--browsers", "chromium"),
            *("--chromium", chromium),
        ],
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
    result = json.loads(stdout.strip().splitlines()[-1])

    assert [(r["offerer"], r["channel_state"]) for r in result["interop"]] == [
        ("chromium", "open"),
        ("aiortc", "open"),
    ]
    for run in result["interop"]:
        offered = f"({run['offerer']} offered)"
        assert run["to_aiortc"] == f"hello from chromium {offered}"
        assert run["to_browser"] == f"hello from aiortc {offered}"

    namespaces = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    assert f"ifmesh-sdp-{process.pid}-" not in namespaces

    committed = {
        name
        for name in sdp_fixture_names(malformed=False)
        if sdp_fixture(name).meta.origin.method == "captured" and not name.startswith("firefox-")
    }
    assert set(result["fixtures"]) == committed
    for name in sorted(committed):
        fresh = yaml.safe_load((tmp_path / f"{name}.yaml").read_text())
        assert fresh["origin"]["method"] == "captured"
        expect = sdp_fixture(name).meta.expect
        assert expect is not None
        assert stable(fresh["expect"]) == stable(expect), name
    offer = (tmp_path / "chromium-datachannel-offer.sdp").read_text()
    assert " 10.77.0.1 " in offer, "Chromium gathered a candidate inside the namespace"
