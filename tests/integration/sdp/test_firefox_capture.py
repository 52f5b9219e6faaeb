"""Headless Firefox (firefox-esr over WebDriver BiDi) and aiortc in a network namespace.

The capture script builds the namespace, runs Firefox under strace inside it and captures:
Firefox offers a data channel and aiortc answers; aiortc offers and Firefox answers; in both
the channel opens and a message goes each way. What Firefox sends today must negotiate as
the committed firefox-* fixtures say, Firefox must not have sent a single packet anywhere
but loopback and the namespace's own addresses, and the namespace must be gone afterwards.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ifmesh.node.sdp.fixtures import sdp_fixture, sdp_fixture_names
from tests.conftest import require_tool
from tests.integration.sdp.conftest import capture_with, fresh_fixtures, require_root

pytestmark = pytest.mark.integration


def test_firefox_and_aiortc_interoperate_offline_and_fixtures_still_match(
    tmp_path: Path,
) -> None:
    require_root()
    require_tool("ip")
    require_tool("strace")
    result = capture_with("firefox", require_tool("firefox-esr"), tmp_path, "--trace-egress")

    # Not one packet outside; UDP connects that only pick a route are allowed and listed.
    assert result["egress"]["packets"] == []

    committed = {
        name
        for name in sdp_fixture_names(malformed=False)
        if name.startswith("firefox-") and sdp_fixture(name).meta.origin.method == "captured"
    }
    fresh = fresh_fixtures(result, tmp_path, committed)
    implementations = {name: meta["origin"]["implementation"] for name, meta in fresh.items()}
    assert {n: i for n, i in implementations.items() if not i.startswith("Firefox/")} == {}
    offer = (tmp_path / "firefox-datachannel-offer.sdp").read_text()
    assert " 10.77.0.1 " in offer, "Firefox gathered a candidate inside the namespace"
    assert ".local " not in offer, "host addresses are not hidden behind mDNS names"
