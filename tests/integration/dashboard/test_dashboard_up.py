"""`ifmesh up --dashboard` on one machine: the URL it prints, opened in a browser on that
machine, shows the demo room live.

"One machine" is the test's network namespace: `ifmesh up` runs inside it as a person runs it
on a laptop, its signaling server on loopback, and Chromium inside it too, as a desktop browser
is: its host addresses hidden behind mDNS names, which the nodes cannot resolve. The
namespace's addresses (10.77.0.1 and .2) play the laptop's own interfaces: the nodes must
advertise them, since Chromium gathers no loopback candidates, and learn the browser's address
from its connectivity checks (docs/dashboard.md, "The network path").
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import sys
import warnings
from asyncio.subprocess import PIPE, STDOUT, Process
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from playwright.async_api import Browser, async_playwright, expect

from ifmesh.node.sdp.capture.netns import Namespace
from tests.integration.dashboard.room import launch

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="package")]

_URL = re.compile(r"dashboard \(open it in a browser on this machine\): (\S+)")
_OPERATOR_URL = re.compile(r"or as an operator, .*: (\S+)")


@pytest_asyncio.fixture(loop_scope="package")
async def demo(directory: Path, namespace: Namespace) -> AsyncIterator[Process]:
    command = [sys.executable, "-m", "ifmesh", "up", "--dashboard", "--sessions", "2",
               "--no-live", "--dir", str(directory / "up")]  # fmt: skip
    # Its own process group, with the room's processes: if `ifmesh up` does not stop them in
    # time, they are killed with it rather than left running through the rest of the suite
    # (once, a CI run went on with two orphaned nodes and its signaling server).
    process = await asyncio.create_subprocess_exec(
        *namespace.exec_prefix, *command, stdout=PIPE, stderr=STDOUT, start_new_session=True
    )
    yield process
    with contextlib.suppress(ProcessLookupError):
        process.send_signal(signal.SIGINT)  # Ctrl-C: the room's processes are stopped
    try:
        await asyncio.wait_for(process.wait(), 60)
        stopped = True
    except TimeoutError:
        stopped = False
    try:  # first clean up, then say so: under the suite's filter a warning raises
        os.killpg(process.pid, signal.SIGKILL)
        left = True
    except ProcessLookupError:  # none left: the group is gone
        left = False
    await process.wait()
    if not stopped:
        warnings.warn("`ifmesh up` did not stop within 60 s of Ctrl-C", stacklevel=1)
    elif left:
        warnings.warn("`ifmesh up` left processes of its room running", stacklevel=1)


async def _printed_url(process: Process) -> str:
    assert process.stdout is not None
    lines: list[str] = []
    while True:
        line = (await asyncio.wait_for(process.stdout.readline(), 120)).decode()
        assert line, "ifmesh up ended before printing the URL:\n" + "".join(lines)
        lines.append(line)
        match = _URL.search(line)
        if match:
            # The operator's link, next, carries the demo operator key the nodes pin.
            operator = _OPERATOR_URL.search((await process.stdout.readline()).decode())
            assert operator is not None and "&opkey=" in operator.group(1), lines
            return match.group(1)


@pytest_asyncio.fixture(loop_scope="package")
async def desktop(directory: Path, namespace: Namespace) -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        browser = await launch(playwright, namespace, directory, mdns=True)
        yield browser
        await browser.close()


async def test_the_printed_url_shows_the_demo_room(demo: Process, desktop: Browser) -> None:
    url = await _printed_url(demo)
    assert url.startswith("http://127.0.0.1:") and "#room=demo&session=dashboard" in url
    page = await desktop.new_page()
    await page.goto(url)
    for session in ("session-2-webrtc", "session-3-h323"):
        state = page.locator(f'#peers tr[data-key="{session}"] td.state')
        await expect(state).to_have_text("up", timeout=30_000)
    # The scenario starts once the page joined; its first step is a claim race on F2.1.
    owner = page.locator('#board tr[data-key="F2.1"] td.owner')
    await expect(owner).to_have_text(re.compile("session-"), timeout=30_000)
    await page.close()
