"""One network namespace and one Chromium for every dashboard test (starting them costs
seconds); each test module starts the room it needs inside that namespace. The signaling
tests' fixtures serve the tests of the server's side (roles on the roster, the page served)."""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import pytest_asyncio
from playwright.async_api import Browser, async_playwright

from ifmesh.node.sdp.capture.netns import Namespace, network_namespace
from tests.conftest import require_tool
from tests.integration.dashboard.room import launch
from tests.integration.sdp.conftest import require_root

# The signaling tests' servers and clients, for the server's side of the dashboard.
from tests.integration.signaling.conftest import (  # noqa: F401
    connect,
    redis_prefix,
    redis_url,
    start_server,
)


@pytest.fixture(scope="package")
def directory() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="ifmesh-dashboard-") as path:
        yield Path(path)


@pytest.fixture(scope="package")
def namespace() -> Iterator[Namespace]:
    require_root()
    require_tool("ip")
    require_tool("chromium")
    with network_namespace("ifmesh-dash") as ns:
        yield ns


@pytest_asyncio.fixture(scope="package", loop_scope="package")
async def browser(directory: Path, namespace: Namespace) -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        browser = await launch(playwright, namespace, directory)
        yield browser
        await browser.close()
