"""Headless Chromium and aiortc in a network namespace the capture script creates.

Chromium offers a data channel and aiortc answers; aiortc offers and Chromium answers; in
both, the channel opens and a message goes each way. Every SDP captured on the way must
negotiate as the committed fixture of the same name says (drift from what the browser
sends today fails here), and the namespace must be gone afterwards.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ifmesh.node.sdp.fixtures import sdp_fixture, sdp_fixture_names
from tests.conftest import require_tool
from tests.integration.sdp.conftest import capture_with, fresh_fixtures, require_root

pytestmark = pytest.mark.integration


def test_chromium_and_aiortc_interoperate_and_fixtures_still_match(tmp_path: Path) -> None:
    require_root()
    require_tool("ip")
    result = capture_with("chromium", require_tool("chromium"), tmp_path)

    committed = {
        name
        for name in sdp_fixture_names(malformed=False)
        if sdp_fixture(name).meta.origin.method == "captured" and not name.startswith("firefox-")
    }
    fresh_fixtures(result, tmp_path, committed)
    offer = (tmp_path / "chromium-datachannel-offer.sdp").read_text()
    assert " 10.77.0.1 " in offer, "Chromium gathered a candidate inside the namespace"
