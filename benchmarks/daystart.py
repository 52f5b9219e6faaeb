"""A node starting on a Phase-0 day of history (issue 22, long sessions): how long until it
answers, and how much memory it keeps.

One real `ifmesh node` process (LocalRoom: a bare git remote in a temp dir, a signaling process,
127.0.0.1 only) starts on a coordination branch that holds ``--sessions`` logs of ``--events``
signed events each (benchmarks/longlog.py's ``Author`` and ``pregrown_files``: a working day's
mix of claims, confirmations, progress, renewals and completions, laid out in segments as the
bridge writes them). Two starts, one after the other:

* a new session: the branch holds the other sessions' logs only (one fewer than ``--sessions``),
  every event read, verified and folded;
* a restarted session: the node's own session is one of the day's, with its key in its state
  directory and a fresh clone, so its own log is read from git too;
* that session stopped and started again (``started_again``), its state directory kept: its
  clone, and the sealed segments it verified on the first start, which it does not check again
  (node/gitsync/verified_segments.py).

Figures per start: seconds until the control API answers, seconds until the board holds every
event (``ifmesh status``'s fold count), and the node's RSS and peak RSS (VmHWM) a few seconds
after. No check: the issue sets no target here; docs/scaling.md ("A start-up read that
streams") reads them beside the soak.

Run: .venv/bin/python benchmarks/daystart.py [--events 20000] [--sessions 8]
(last stdout line: the JSON result)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks import longlog  # noqa: E402
from benchmarks._figures import progress, work_directory  # noqa: E402
from benchmarks._pregrown import day_files, place_key  # noqa: E402
from ifmesh.node.cli.room import LocalRoom  # noqa: E402
from ifmesh.node.identity.keys import SessionKey  # noqa: E402

NODE = "session-2-webrtc"  # the session of LocalRoom's one node
SETTLE = 5.0  # seconds after the last event is folded before RSS is read
START_TIMEOUT = 600.0


def memory(pid: int) -> dict[str, float]:
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            fields[name] = round(int(value.split()[0]) / 1024, 1)
    return {"rss_mb": fields["VmRSS"], "peak_rss_mb": fields["VmHWM"]}


async def start(
    root: Path, files: dict[str, bytes], total: int, key: SessionKey | None, *, again: bool = False
) -> dict[str, Any]:
    """A node's first start on ``files``; with ``again``, also its second: stopped, then
    started in the same state directory (a session's restart during the day)."""
    room = LocalRoom(root, sessions=1, files=files, start_timeout=START_TIMEOUT)
    if key is not None:  # the node resumes that session: its key, before it starts
        place_key(room.state_root, NODE, key)
    began = time.monotonic()
    async with room:
        first = await started(room, total, began)
        if not again:
            return first
        await room.stop_node(NODE)
        progress("daystart: the same session stopped and started again, its state kept")
        began = time.monotonic()
        room.start_node(NODE)
        await room.wait_control(NODE, timeout=START_TIMEOUT)
        return {**first, "started_again": await started(room, total, began)}


async def started(room: LocalRoom, total: int, began: float) -> dict[str, Any]:
    answered = time.monotonic() - began
    process = room.members[NODE].process
    assert process is not None
    async with room.client(NODE) as client:
        # The board is whole when the control API answers (the start-up read comes first);
        # this only confirms it.
        deadline = time.monotonic() + START_TIMEOUT
        while (await client.query("status"))["fold"]["events"] < total:
            if time.monotonic() > deadline:
                raise TimeoutError(f"the node did not fold {total} events in time")
            await asyncio.sleep(0.2)
        folded = time.monotonic() - began
        await asyncio.sleep(SETTLE)
        return {"control_api_s": round(answered, 1), "all_folded_s": round(folded, 1),
                **memory(process.pid)}  # fmt: skip


async def measure(events: int, sessions: int, keep: Path | None) -> dict[str, Any]:
    others = [s for s in longlog.SESSIONS if s != NODE]
    day = [NODE, *others][:sessions]
    began = time.perf_counter()
    files, keys = day_files(events, day)
    progress(
        f"daystart: {sessions} x {events} signed events in {time.perf_counter() - began:.1f} s"
    )
    figures: dict[str, Any] = {"sessions": sessions, "events_per_session": events}
    with work_directory(keep, "daystart") as root:
        # A new session: the day's logs are all others' (the node's own session is not among them).
        newcomer = {path: data for path, data in files.items() if NODE not in path}
        newcomer_total = events * (sessions - 1)
        progress(f"daystart: a new session on {newcomer_total} events")
        figures["new_session"] = await start(root / "new", newcomer, newcomer_total, None)
        progress(f"daystart: a restarted session on {events * sessions} events")
        figures["restarted_session"] = await start(root / "restarted", files, events * sessions,
                                                   keys[NODE], again=True)  # fmt: skip
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description="a node starting on a day's logs (issue 22)")
    parser.add_argument("--events", type=int, default=20_000, help="events per session's log")
    parser.add_argument("--sessions", type=int, default=8, help="sessions with a log")
    parser.add_argument("--keep", type=Path, help="keep the rooms here")
    arguments = parser.parse_args()
    figures = asyncio.run(measure(arguments.events, arguments.sessions, arguments.keep))
    print(json.dumps({"benchmark": "daystart", "figures": figures, "checks": []}))


if __name__ == "__main__":
    main()
