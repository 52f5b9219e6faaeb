"""A browser that never announces its control URL: the driver's own error, with the
browser's last stderr lines, and nothing left behind (process ended, profile removed).

The "browser" is a real process (Python) standing in for one that crashes at start or
hangs; neither needs a network or an installed browser.
"""

from __future__ import annotations

import sys

import pytest

from ifmesh.node.sdp.capture.browser import BrowserError
from ifmesh.node.sdp.capture.chromium import Chromium, ChromiumError
from ifmesh.node.sdp.capture.firefox import Firefox, FirefoxError

pytestmark = pytest.mark.integration

# Stands in front of the browser's command line: Python runs this and ignores the rest.
HANGS = [
    sys.executable,
    "-c",
    "import sys, time; print('still warming up', file=sys.stderr, flush=True); time.sleep(60)",
]


async def test_a_browser_that_exits_at_start_is_explained_by_its_stderr() -> None:
    # Python refuses the browser's first flag and exits, printing why.
    browser = Firefox(sys.executable)
    with pytest.raises(FirefoxError, match="Firefox exited before WebDriver BiDi") as raised:
        await browser.__aenter__()
    assert "--headless" in str(raised.value), "the browser's own complaint is in the error"
    assert not browser.profile.exists()


async def test_a_browser_that_never_announces_its_url_is_stopped_and_explained() -> None:
    browser = Chromium("chromium", exec_prefix=HANGS, start_timeout=1.0)
    with pytest.raises(ChromiumError, match="no DevTools URL within") as raised:
        await browser.__aenter__()
    assert "still warming up" in str(raised.value)
    assert isinstance(raised.value, BrowserError)
    assert not browser.profile.exists()
    assert browser._process is not None and browser._process.returncode is not None
