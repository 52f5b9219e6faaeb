"""How a node stops: within 5 s of a SIGTERM (issue 22), whether it runs or is still starting.

A running node says leave, closes the mesh and pushes (node.runtime.node: Node._shutdown); a
node still starting (a start-up read of a day's history takes tens of seconds) has its start
cancelled first, and emits nothing, since it has not yet resumed its own seq. The process's
backstop (node.cli.node: EXIT_SECONDS) ends whatever is left.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Coroutine
from typing import Any

# The mesh's bye and drain get MESH_STOP_SECONDS (a peer dead unnoticed never acks), the final
# push the rest of STOP_SECONDS; the interpreter's exit the last second.
STOP_SECONDS, MESH_STOP_SECONDS = 3.5, 2.0


async def unless_stopped(work: Coroutine[Any, Any, None], stop: asyncio.Event) -> bool:
    """Runs ``work`` to its end (True), or until ``stop`` is set first: then cancels it and
    waits for it to unwind (False). Errors in ``work`` are raised."""
    working = asyncio.ensure_future(work)
    stopping = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait((working, stopping), return_when=asyncio.FIRST_COMPLETED)
    except asyncio.CancelledError:
        working.cancel()
        raise
    finally:
        stopping.cancel()
    if working.done():
        working.result()
        return True
    working.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await working
    return False
