"""Headless Firefox (firefox-esr over WebDriver BiDi) and aiortc in a network namespace.

The capture script builds the namespace, runs Firefox under strace inside it and captures:
Firefox offers a data channel and aiortc answers; aiortc offers and Firefox answers; in both
the channel opens and a message goes each way. What Firefox sends today must negotiate as
the committed firefox-* fixtures say, Firefox must not have sent a single packet anywhere
but loopback and the namespace's own addresses, and the namespace must be gone afterwards.
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


def test_firefox_and_aiortc_interoperate_offline_and_fixtures_still_match(
    tmp_path: Path,
) -> None:
    require_root()
    require_tool("ip")
    require_tool("strace")
    firefox = require_tool("firefox-esr")
    command = [sys.executable, str(SCRIPT), "--out", str(tmp_path), "--browsers", "firefox"]
    process = subprocess.Popen(
        [*command, "--firefox", firefox, "--trace-egress"],
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
        ("firefox", "open"),
        ("aiortc", "open"),
    ]
    for run in result["interop"]:
        offered = f"({run['offerer']} offered)"
        assert run["to_aiortc"] == f"hello from firefox {offered}"
        assert run["to_browser"] == f"hello from aiortc {offered}"

    # Not one packet outside; UDP connects that only pick a route are allowed and listed.
    assert result["egress"]["packets"] == []

    namespaces = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    assert f"ifmesh-sdp-{process.pid}-" not in namespaces

    committed = {
        name
        for name in sdp_fixture_names(malformed=False)
        if name.startswith("firefox-") and sdp_fixture(name).meta.origin.method == "captured"
    }
    assert set(result["fixtures"]) == committed
    for name in sorted(committed):
        fresh = yaml.safe_load((tmp_path / f"{name}.yaml").read_text())
        expect = sdp_fixture(name).meta.expect
        assert expect is not None
        assert stable(fresh["expect"]) == stable(expect), name
        assert fresh["origin"]["implementation"].startswith("Firefox/")
    offer = (tmp_path / "firefox-datachannel-offer.sdp").read_text()
    assert " 10.77.0.1 " in offer, "Firefox gathered a candidate inside the namespace"
    assert ".local " not in offer, "host addresses are not hidden behind mDNS names"
