"""The bridge inside an asyncio node: git work off the event loop, outputs back on it."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ifmesh.node.gitsync.bridge import GitSync
from ifmesh.node.gitsync.outputs import Outputs
from ifmesh.node.gitsync.runner import AsyncGitSync
from ifmesh.node.protocol.messages import TaskClaim
from tests.conftest import require_tool
from tests.integration.gitsync.support import Stamper, config, log_text, make_remote

pytestmark = pytest.mark.integration


async def test_async_bridge_confirms_a_claim_and_flushes_on_close(tmp_path: Path) -> None:
    require_tool("git")
    remote = make_remote(tmp_path)
    received: list[Outputs] = []
    verdict = asyncio.Event()

    def on_outputs(outputs: Outputs) -> None:
        received.append(outputs)
        if outputs.verdicts:
            verdict.set()

    bridge = AsyncGitSync(GitSync(config(tmp_path, "session-a", remote)), on_outputs)
    resume = await bridge.start()
    assert resume.seq == 0
    stamp = Stamper("session-a")
    claim = stamp(
        TaskClaim(task_id="P0.1.4", epoch=0, swarm_id="session-a", timestamp=datetime.now(UTC))
    )
    bridge.submit(claim)
    bridge.write_confirm_record("P0.1.4", 0)
    await asyncio.wait_for(verdict.wait(), timeout=20)
    (found,) = [v for o in received for v in o.verdicts]
    assert found.confirmed and found.task == "P0.1.4"

    # Submitted just before shutdown: close() pushes it before returning.
    late = stamp(
        TaskClaim(task_id="F2.1", epoch=0, swarm_id="session-a", timestamp=datetime.now(UTC))
    )
    bridge.submit(late)
    assert await bridge.close(timeout=20) == 0
    assert late.id in log_text(remote, "session-a")
