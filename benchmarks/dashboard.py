"""The dashboard's lag (issue 21 §4): a claim's time from the control-API call until the page in
a real browser has drawn it, against the time until the last aiortc node folded it.

The room is the browser tests' (tests/integration/dashboard/room.py): a signaling server with a
secret, three `ifmesh node` processes and Debian's Chromium (driven by Playwright), all inside
a network namespace this script creates, the nodes advertising its veth address (Chromium
gathers no loopback candidates). The page joins as an observer, so it never counts for a claim's
decision: every claim is decided on the mesh among the three nodes. The board holds only
AVAILABLE tasks without dependencies (benchmarks/claims.py's), and every claim takes a fresh
one, made by the three nodes in turn, each in a room at rest (the last claim confirmed by git on
every node, no commit waiting: agents claim minutes apart; ``git_settling`` says how long that
took). Both figures are read for the same claim, so they are measured side by side under the
same load, and both start at one instant: ``time.monotonic()`` in this process right before the
``claim`` call.

* **Last node fold**: each node stamps the events on its event stream with
  ``folded_monotonic``, its ``CLOCK_MONOTONIC`` when its board took the event
  (docs/control-api.md); the latest of the three (the claimer's own fold included) minus the
  start. A network namespace has its own network stack but not its own clock, so the nodes'
  stamps and ours are on one clock.
* **Page render**: a MutationObserver on the page's board table, installed by this script (the
  page needs no hook), notes ``performance.now()`` when the task's row first shows CLAIMED with
  the claimer as owner: its callback runs in the microtask right after the page's render wrote
  the row, so this is the DOM the person sees at the next frame (``page_frame``, unchecked, is
  the start of that frame: a requestAnimationFrame callback; headless Chromium draws at 60 Hz).
  The browser's clock is related to ours by bracketing: ``performance.now()`` read through
  Playwright between two ``time.monotonic()`` reads, CALIBRATION times before the claims and
  again after; the tighter of the two brackets gives the offset, give or take half its width
  (``clock_alignment``: that half-width before and after, and how far the offset moved between
  them; each well under a millisecond here, against figures of several; a page ``min_ms``
  below zero would betray a wrong offset).

Target (issue 21): page render p50 <= 2 x last node fold p50 (check ``page render p50 vs last
node fold``). Needs root (the namespace), iproute2 and /usr/bin/chromium (scripts/test-tools.sh).
Run: .venv/bin/python benchmarks/dashboard.py [--claims 120] [--keep DIR]
(last stdout line: the JSON result; progress on stderr)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from playwright.async_api import Page, async_playwright, expect  # noqa: E402
from playwright.async_api import TimeoutError as PageTimeout  # noqa: E402

from benchmarks._figures import progress, work_directory  # noqa: E402
from benchmarks.claims import BOARD_TASKS, Claims, claim_board, percentile, summary  # noqa: E402
from ifmesh.node.errors import IfmeshError  # noqa: E402
from ifmesh.node.sdp.capture.netns import network_namespace  # noqa: E402
from tests.integration.dashboard.room import (  # noqa: E402
    SECRET,
    NamespaceRoom,
    launch,
    open_dashboard,
)
from tests.integration.faults.observe import Streams  # noqa: E402

CLAIMS = 120  # the issue asks for >= 100; each waits for a room at rest (seconds, at worst)
SESSIONS = ("session-2-webrtc", "session-3-h323", "session-5-cli")  # LocalRoom's first three
CALIBRATION = 40  # bracketed reads of the browser's clock, before and after the claims
CLAIM_TIMEOUT = 60.0
CALL_TIMEOUT = 90.0
SEEN = 15.0  # seconds a page or a node may take to show a claim (it takes milliseconds)
MESH_UP = 90.0
PAGE_UP = 60.0

# Notes, per task, when its board row first shows CLAIMED with an owner: `dom` when the
# page's render wrote it, `frame` at the start of the next animation frame.
OBSERVE = """() => {
    const rendered = (window.__benchRendered = new Map());
    const note = (tr, now) => {
        if (!tr || tr.tagName !== "TR" || rendered.has(tr.dataset.key)) return;
        const status = tr.querySelector("td.status"), owner = tr.querySelector("td.owner");
        if (!status || status.textContent !== "CLAIMED" || !owner || !owner.textContent) return;
        const seen = {dom: now, owner: owner.textContent, frame: null};
        rendered.set(tr.dataset.key, seen);
        requestAnimationFrame(() => { seen.frame = performance.now(); });
    };
    new MutationObserver((records) => {
        const now = performance.now();
        for (const record of records) {
            note(record.target.closest && record.target.closest("tr"), now);
            for (const node of record.addedNodes) note(node, now);
        }
    }).observe(document.querySelector("#board tbody"), {childList: true, subtree: true});
}"""


@dataclass(frozen=True)
class Alignment:
    """``time.monotonic()`` = ``offset_s`` + ``performance.now()`` / 1000, within
    ``uncertainty_ms`` (half the tightest bracket)."""

    offset_s: float
    uncertainty_ms: float

    def monotonic(self, performance_ms: float) -> float:
        return self.offset_s + performance_ms / 1000


async def calibrate(page: Page) -> Alignment:
    best: tuple[float, float] | None = None  # (width, offset)
    for _ in range(CALIBRATION):
        before = time.monotonic()
        now_ms = float(await page.evaluate("performance.now()"))
        after = time.monotonic()
        width = after - before
        if best is None or width < best[0]:
            best = (width, (before + after) / 2 - now_ms / 1000)
    assert best is not None
    return Alignment(best[1], best[0] * 1000 / 2)


async def page_up(page: Page) -> None:
    """Until the page's channel to every node is up and caught up (docs/dashboard.md)."""
    for session in SESSIONS:
        row = page.locator(f'#peers tr[data-key="{session}"]')
        await expect(row.locator("td.state")).to_have_text("up", timeout=PAGE_UP * 1000)
        await expect(row.locator("td.caught")).to_have_text("yes", timeout=PAGE_UP * 1000)


async def rendered(page: Page, task: str) -> dict[str, Any]:
    """The page's notes for ``task`` (performance.now() ms), once its frame began."""
    await page.wait_for_function(
        "(task) => window.__benchRendered.get(task)?.frame != null", arg=task, timeout=SEEN * 1000
    )
    seen: dict[str, Any] = await page.evaluate("(task) => window.__benchRendered.get(task)", task)
    return seen


async def folded(streams: Streams, task: str) -> dict[str, float]:
    """Each node's ``folded_monotonic`` for the claim of ``task``. The decided claim's answer
    came after every peer acked, which it does after folding; the stream lines may still be
    on their way to this process, and the stream has no event to wait on from here."""

    def stamps() -> dict[str, float]:
        found: dict[str, float] = {}
        for session, lines in streams.lines.items():
            for _, line in lines:
                event = line.get("event") if line.get("type") == "event" else None
                if event and event["type"] == "task.claim" and event["payload"]["task_id"] == task:
                    found[session] = float(line["folded_monotonic"])
        return found

    deadline = time.monotonic() + SEEN
    while len(found := stamps()) < len(SESSIONS) and time.monotonic() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.01)
    return found


@dataclass
class Samples:
    page_dom_ms: list[float]
    page_frame_ms: list[float]
    last_fold_ms: list[float]
    answer_ms: list[float]
    rest_ms: list[float]
    decided_by: dict[str, int]
    failures: dict[str, int]


async def measure(
    page: Page, claims: Claims, streams: Streams, count: int
) -> tuple[Samples, list[dict[str, Any]]]:
    """``count`` claims; returns the node-side samples and the page's raw notes, converted
    to this process's clock once both calibrations are known."""
    samples = Samples([], [], [], [], [], {}, {})
    notes: list[dict[str, Any]] = []
    for n in range(count):
        actor = SESSIONS[n % len(SESSIONS)]
        samples.rest_ms.append(await claims.at_rest() * 1000)
        task = claims.task()
        claims.last_task = task
        start = time.monotonic()
        try:
            result = await claims.clients[actor].call(
                "claim", {"task": task, "timeout": CLAIM_TIMEOUT}, timeout=CALL_TIMEOUT
            )
        except IfmeshError as exc:
            samples.failures[exc.code] = samples.failures.get(exc.code, 0) + 1
            progress(f"  claim of {task} by {actor} failed: {exc.code}: {exc}")
            continue
        samples.answer_ms.append((time.monotonic() - start) * 1000)
        by = str(result.get("decided_by"))
        samples.decided_by[by] = samples.decided_by.get(by, 0) + 1
        try:
            seen = await rendered(page, task)
        except PageTimeout:
            samples.failures["not_rendered"] = samples.failures.get("not_rendered", 0) + 1
            progress(f"  the page never drew {task}")
            continue
        if seen["owner"] != actor:
            samples.failures["wrong_owner"] = samples.failures.get("wrong_owner", 0) + 1
            continue
        stamps = await folded(streams, task)
        if len(stamps) < len(SESSIONS):
            samples.failures["not_folded"] = samples.failures.get("not_folded", 0) + 1
            progress(f"  {task} folded only on {sorted(stamps)}")
            continue
        samples.last_fold_ms.append((max(stamps.values()) - start) * 1000)
        notes.append({"start": start, **seen})
        if (n + 1) % 20 == 0:
            progress(f"  {n + 1}/{count} claims")
    return samples, notes


def ratio(numerator: list[float], denominator: list[float], q: float | None = None) -> float:
    if q is None:
        return round(statistics.median(numerator) / statistics.median(denominator), 2)
    return round(percentile(numerator, q) / percentile(denominator, q), 2)


async def run(count: int, directory: Path) -> dict[str, Any]:
    (directory / "secret").write_bytes(SECRET)
    began = time.monotonic()
    with network_namespace("ifmesh-dashbench") as namespace:
        room = NamespaceRoom(
            directory / "room", sessions=len(SESSIONS), namespace=namespace,
            secret_file=directory / "secret", board=claim_board(directory),
            # Only the nodes' sessions are active: one active without a node sends every
            # claim to git (docs/claims.md), and this measures claims decided on the mesh.
            status_sessions=list(SESSIONS),
        )  # fmt: skip
        async with room, async_playwright() as playwright, contextlib.AsyncExitStack() as stack:
            progress("room: three nodes and a signaling server in a network namespace")
            await room.wait_mesh(MESH_UP)
            browser = await launch(playwright, namespace, directory)
            stack.push_async_callback(browser.close)
            page = await open_dashboard(browser, room, "dashboard", "observer")
            await page_up(page)
            await page.evaluate(OBSERVE)
            streams = Streams(room)
            await streams.start(SESSIONS)
            stack.push_async_callback(streams.stop)
            clients = {s: await stack.enter_async_context(room.client(s)) for s in SESSIONS}
            setup_s = time.monotonic() - began
            progress(f"page up after {setup_s:.1f} s; {count} claims, each in a room at rest")
            before = await calibrate(page)
            samples, notes = await measure(page, Claims(room, clients), streams, count)
            after = await calibrate(page)
    return figures(samples, notes, before, after, setup_s, time.monotonic() - began)


def figures(
    samples: Samples,
    notes: list[dict[str, Any]],
    before: Alignment,
    after: Alignment,
    setup_s: float,
    total_s: float,
) -> dict[str, Any]:
    # The tighter bracket is the better estimate; the other one bounds the drift.
    clock = min(before, after, key=lambda a: a.uncertainty_ms)
    dom = [(clock.monotonic(n["dom"]) - n["start"]) * 1000 for n in notes]
    frame = [(clock.monotonic(n["frame"]) - n["start"]) * 1000 for n in notes]
    fold = samples.last_fold_ms

    def spread(values: list[float]) -> dict[str, float]:
        # min_ms: a page figure below zero would say the clocks were not aligned.
        return summary(values) | ({"min_ms": round(min(values), 2)} if values else {})

    result: dict[str, Any] = {
        "claims": len(samples.answer_ms) + sum(samples.failures.values()),
        "measured": len(notes),
        "page_render": spread(dom),
        "last_node_fold": spread(fold),
        "page_render_p50_over_last_fold_p50": ratio(dom, fold) if notes else None,
        "page_render_p99_over_last_fold_p99": ratio(dom, fold, 0.99) if notes else None,
        "page_frame": spread(frame),
        "decided_claim_answer": summary(samples.answer_ms),
        "decided_by": samples.decided_by,
        "git_settling": summary(samples.rest_ms),
        "failures": samples.failures,
        "clock_alignment": {
            "uncertainty_before_ms": round(before.uncertainty_ms, 3),
            "uncertainty_after_ms": round(after.uncertainty_ms, 3),
            "offset_drift_ms": round((after.offset_s - before.offset_s) * 1000, 3),
        },
        "setup_s": round(setup_s, 1),
        "total_s": round(total_s, 1),
    }
    return result


def checks(figures: dict[str, Any]) -> list[dict[str, Any]]:
    value = figures["page_render_p50_over_last_fold_p50"]
    met = value is not None and figures["measured"] >= 100 and value <= 2
    return [{"name": "page render p50 vs last node fold", "value": value, "unit": "ratio",
             "op": "<=", "target": 2, "met": bool(met)}]  # fmt: skip


async def main() -> None:
    parser = argparse.ArgumentParser(description="the dashboard's lag behind the nodes (issue 21)")
    parser.add_argument("--claims", type=int, default=CLAIMS, help=f"default {CLAIMS}")
    parser.add_argument("--keep", type=Path, help="keep the room's files and logs here")
    arguments = parser.parse_args()
    if not 1 <= arguments.claims <= BOARD_TASKS:
        parser.error(f"--claims takes 1 to {BOARD_TASKS} (the board's fresh tasks)")
    with work_directory(arguments.keep, "dashbench") as directory:
        result = await run(arguments.claims, directory)
    progress(json.dumps(result))
    print(json.dumps({"benchmark": "dashboard", "figures": result, "checks": checks(result)}))


if __name__ == "__main__":
    asyncio.run(main())
