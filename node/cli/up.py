"""`ifmesh up`: a whole room on this machine and a scripted Phase-0 scenario, with the board
on screen and the figures measured on the way (what `make demo` runs).

The scenario is Session 2's flow from the Phase-0 session instructions, with its neighbours:
a claim race on a filler task, P0.5.2 refused while P0.2.6 is open, a blocker, filler work with
milestones, an H.323 session's help request routed by the governor, the unblocked push the
instant P0.2.6 completes, and P0.5.2 claimed, confirmed in git and completed.

With ``--dashboard`` the room can be watched in a browser on this machine (docs/dashboard.md):
the nodes also advertise the machine's own addresses, since a browser gathers no loopback
candidates, the scenario waits for the page, and the room stays up afterwards. The room's
nodes pin a demo operator key (``operator.key`` in the room's directory), which the operator's
link carries, so the operator page's signed actions are taken.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from functools import partial
from pathlib import Path
from typing import Any, TypeAlias

from ifmesh.node.cli import dashboard
from ifmesh.node.cli.boardtext import render_board
from ifmesh.node.cli.dashboard import dashboard_url
from ifmesh.node.cli.room import BRANCH, LocalRoom
from ifmesh.node.cli.signals import stop_signals
from ifmesh.node.errors import IfmeshError

FILLER_MILESTONES = (
    (25, "Design IFMessage schema"),
    (50, "Mocks for NDI, H.323, SIP, CLI"),
    (75, "Error scenarios and edge cases"),
    (100, "Testing and documentation"),
)

Subparsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


def register(commands: Subparsers) -> None:
    parser = commands.add_parser(
        "up",
        help="run a whole room here (git remote + signaling + nodes) and a scripted scenario",
        description="Start a bare git remote seeded with the example Phase-0 board, a signaling"
        " server and N nodes as separate processes on 127.0.0.1, run the Session-2 scenario,"
        " show the board, the coordination branch's git log and the measured figures.",
    )
    parser.add_argument("--sessions", type=int, default=3, help="nodes to start (2-5)")
    parser.add_argument("--dir", type=Path, help="keep the room here (default: a temp dir)")
    parser.add_argument("--no-live", action="store_true", help="print steps, no screen redraws")
    parser.add_argument(
        "--dashboard",
        action="store_true",
        help="watch it in a browser: the nodes advertise this machine's own addresses (a"
        " browser gathers no loopback candidates), the URL is printed, the scenario waits for"
        " the page, and the room stays up afterwards until Ctrl-C",
    )
    parser.set_defaults(handler=run_up)
    dashboard.register(commands)  # `ifmesh dashboard`: the same page for any room


def run_up(args: argparse.Namespace) -> int:
    if not 2 <= args.sessions <= 5:
        print("ifmesh up: --sessions is 2 to 5", file=sys.stderr)
        return 2
    live = sys.stdout.isatty() and not args.no_live and not args.dashboard
    addresses: tuple[str, ...] = ()
    if args.dashboard:
        from ifmesh.node.mesh import ice  # aiortc's import: only when asked for

        addresses = ice.machine_addresses()
        if not addresses:
            print(NO_ADDRESS, file=sys.stderr)
            return 1
    try:
        if args.dir is not None:
            return asyncio.run(stopped_by_signals(Demo(args.dir, args.sessions, live, addresses)))
        with tempfile.TemporaryDirectory(prefix="ifmesh-up-") as directory:
            demo = Demo(Path(directory), args.sessions, live, addresses)
            return asyncio.run(stopped_by_signals(demo))
    except KeyboardInterrupt:
        print("\nstopped", file=sys.stderr)
        return 130
    except IfmeshError as exc:
        print(f"ifmesh up: {exc.code}: {exc}", file=sys.stderr)
        return 1


async def stopped_by_signals(demo: Demo) -> int:
    """``demo.run()``, stopped by SIGTERM or SIGHUP (cli/signals.py) as by Ctrl-C: the room's
    nodes and signaling server are stopped before ``up`` exits (128 + the signal). Killed by a
    signal it did not handle, ``up`` left them running, orphans (a supervisor's stop, a closed
    terminal, a test's clean-up)."""
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    assert task is not None
    received: list[int] = []

    def stop(signum: int) -> None:
        received.append(signum)
        task.cancel()

    for signum in stop_signals(signal.SIGTERM):
        loop.add_signal_handler(signum, stop, signum)
    try:
        return await demo.run()
    except asyncio.CancelledError:
        if not received:
            raise
        print(f"\nstopped ({signal.Signals(received[0]).name})", file=sys.stderr)
        return 128 + received[0]


def _seen(task: asyncio.Task[Any]) -> None:
    """Marks a side task's error as seen: stopped mid-scenario (Ctrl-C, SIGTERM), the room
    closes under it and its error is that, not news; asyncio would print it at exit."""
    if not task.cancelled():
        task.exception()


NO_ADDRESS = (
    "ifmesh up --dashboard: this machine has no address but loopback, and a browser gathers no"
    " loopback candidates, so it could not reach the nodes. Bring up an interface (README,"
    ' "The dashboard on one machine", has the recipe with a dummy interface or a TURN relay)'
)
DASHBOARD_WAIT = 120.0  # s the scenario waits for the page to join before it starts anyway


def demo_operator_key(path: Path) -> str:
    """The public key of the room's demo operator key (made at ``path`` unless there)."""
    from ifmesh.node.identity import keys

    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        keys.write_key_file(path, keys.SessionKey.generate())
    return keys.load_key_file(path).public.text


class Demo:
    def __init__(
        self, directory: Path, sessions: int, live: bool, addresses: tuple[str, ...] = ()
    ) -> None:
        # With a dashboard the nodes also advertise this machine's addresses (loopback stays
        # first: the nodes keep pairing with each other over it).
        extra: tuple[str, ...] = ()
        self.operator_key = directory / "operator.key"
        if addresses:
            extra = ("--host-addresses", ",".join(("127.0.0.1", *addresses)))
            extra += ("--operator-keys", demo_operator_key(self.operator_key))
        self.room = LocalRoom(
            directory, sessions=sessions, fetch_interval_seconds=2, extra_args=extra
        )
        self.dashboard = bool(addresses)
        self.live = live
        self.figures: dict[str, Any] = {}
        self.propagation_ms: list[float] = []

    def say(self, text: str) -> None:
        print(f"▶ {text}", flush=True)

    async def call(self, session: str, command: str, body: dict[str, Any]) -> dict[str, Any]:
        async with self.room.client(session) as node:
            return await node.call(command, body, timeout=120)

    async def show_board(self, session: str, title: str) -> None:
        async with self.room.client(session) as node:
            board = await node.query("board")
        if self.live:
            sys.stdout.write("\x1b[2J\x1b[H")
        print(f"\n── board as {session} sees it: {title}")
        print(render_board(board, only_active=True), flush=True)

    async def timed(self, action: Callable[[], Awaitable[Any]]) -> tuple[Any, float]:
        start = time.perf_counter()
        result = await action()
        return result, (time.perf_counter() - start) * 1000

    async def propagated(self, actor: str, task: str, action: Callable[[], Awaitable[Any]]) -> Any:
        """Runs ``action`` (an event about ``task`` from ``actor``) and measures until every
        other node has folded it, from the moment the command was issued."""
        others = [s for s in self.room.members if s != actor]
        seen: dict[str, float] = {}
        ready = asyncio.Event()

        async def watch(session: str, subscribed: asyncio.Event) -> None:
            async with self.room.client(session) as node:
                events = node.events()
                await anext(events)
                subscribed.set()
                async for event in events:
                    body = event.get("event") or {}
                    if (
                        body.get("source") == actor
                        and body.get("payload", {}).get("task_id") == task
                    ):
                        seen[session] = time.perf_counter()
                        if len(seen) == len(others):
                            ready.set()
                        return

        flags = [asyncio.Event() for _ in others]
        watchers = [asyncio.create_task(watch(s, f)) for s, f in zip(others, flags, strict=True)]
        for watcher in watchers:
            watcher.add_done_callback(_seen)
        await asyncio.gather(*(f.wait() for f in flags))
        start = time.perf_counter()
        result = await action()
        try:
            await asyncio.wait_for(ready.wait(), 30)
            self.propagation_ms.append((max(seen.values()) - start) * 1000)
        except TimeoutError:
            self.say("(a node did not see it within 30 s)")
        for watcher in watchers:
            watcher.cancel()
        await asyncio.gather(*watchers, return_exceptions=True)
        return result

    async def run(self) -> int:
        names = ", ".join(self.room_sessions())
        self.say(f"starting a room: bare git remote, signaling server, nodes {names}")
        start = time.perf_counter()
        async with self.room:
            await self.room.wait_mesh(timeout=150)
            self.figures["mesh_formation_s"] = round(time.perf_counter() - start, 2)
            self.say(f"full mesh after {self.figures['mesh_formation_s']} s (processes included)")
            if self.dashboard:
                await self.wait_for_page()
            await self.scenario()
            await self.show_board(self.room_sessions()[0], "end of the scenario")
            if self.dashboard:
                self.say("the room stays up for the dashboard; Ctrl-C stops it")
                await asyncio.Event().wait()
        self.print_git_log()
        self.print_figures()
        return 0

    async def wait_for_page(self) -> None:
        """Prints the dashboard's URL, then waits until the page is up on the first node's
        mesh (or DASHBOARD_WAIT has passed), so the person watching sees the scenario whole."""
        url = dashboard_url(self.room.signaling_url, "demo", "dashboard", "observer")
        opkey, _ = dashboard.link_key(self.operator_key)
        operator = dashboard_url(
            self.room.signaling_url, "demo", "operator", "operator", None, opkey
        )
        self.say(f"dashboard (open it in a browser on this machine): {url}")
        self.say(f"  or as an operator, who may offer help and answer an ask-release: {operator}")
        first = self.room_sessions()[0]

        async def page_up() -> bool:
            async with self.room.client(first) as node:
                status = await node.query("status")
            return not {"dashboard", "operator"}.isdisjoint(status["mesh"]["peers_up"])

        try:
            await self.room._until_async(page_up, DASHBOARD_WAIT, "the dashboard page")
            self.say("the dashboard joined the room; the scenario starts")
        except IfmeshError:
            self.say(f"no dashboard joined within {DASHBOARD_WAIT:g} s; the scenario starts")

    def room_sessions(self) -> list[str]:
        from ifmesh.node.cli.room import SESSIONS

        return [s for s, _ in SESSIONS[: self.room.sessions]]

    async def scenario(self) -> None:
        sessions = self.room_sessions()
        webrtc, h323 = sessions[0], sessions[1]
        delivery = sessions[2] if len(sessions) > 2 else h323

        self.say(f"claim race: {webrtc} and {delivery} claim filler F2.1 at the same moment")
        results = await asyncio.gather(
            self.call(webrtc, "claim", {"task": "F2.1"}),
            self.call(delivery, "claim", {"task": "F2.1"}),
            return_exceptions=True,
        )
        for session, result in zip((webrtc, delivery), results, strict=True):
            if isinstance(result, BaseException):
                verdict = f"lost: {result}"
            else:
                verdict = f"won (decided by {result['decided_by']}): it starts the work"
                if result.get("why_git"):  # the mesh could not decide: say why
                    verdict += f"\n    git decided because {result['why_git']}"
            self.say(f"  {session}: {verdict}")
        await self.show_board(webrtc, "after the race (one winner holds F2.1)")

        self.say(f"{webrtc} tries P0.5.2 (IF.governor docs), which waits for P0.2.6")
        try:
            await self.call(webrtc, "claim", {"task": "P0.5.2", "provisional": True})
        except IfmeshError as exc:
            self.say(f"  refused: {exc}")
        await self.call(webrtc, "block", {"task": "P0.5.2", "on": ["P0.2.6"]})
        self.say(f"{webrtc} is blocked on P0.2.6 and waits (no polling)")
        waiter = asyncio.create_task(
            self.call(webrtc, "wait", {"task": "P0.5.2", "until": "unblocked"})
        )
        waiter.add_done_callback(_seen)

        filler = await self.take_filler(webrtc)
        for percent, milestone in FILLER_MILESTONES:
            body = {"task": filler, "percent": percent, "milestone": milestone}
            await self.propagated(webrtc, filler, partial(self.call, webrtc, "progress", body))
        await self.call(webrtc, "complete", {"task": filler, "tests_pass": True,
                                             "deliverable": "fixtures/ifmessages/"})  # fmt: skip
        self.say(f"{webrtc} completed filler {filler} (milestones 25/50/75/100)")

        self.say(f"{h323} is stuck on MCU configuration and asks for documentation help")
        asked = await self.call(h323, "help", {"task": "P0.3.6", "description":
                                "MCU cascade configuration is undocumented",
                                "need": ["docs:technical-writing"]})  # fmt: skip
        self.say(f"  the governor asked: {', '.join(asked['helpers']) or 'nobody eligible'}")
        if webrtc in asked["helpers"]:
            offer = {"request": asked["request_id"], "message": "I will write the MCU examples"}
            await self.call(webrtc, "offer", offer)
            self.say(f"  {webrtc} offered help")
        await self.show_board(h323, "help routed")

        self.say(f"{delivery} takes P0.2.6 (forced past its open dependencies) and delivers it")
        await self.propagated(delivery, "P0.2.6", lambda: self.call(
            delivery, "claim", {"task": "P0.2.6", "force": True, "provisional": True}))  # fmt: skip
        await self.call(delivery, "progress", {"task": "P0.2.6", "percent": 50})
        completed_at = time.perf_counter()
        await self.call(delivery, "complete", {"task": "P0.2.6", "tests_pass": True})
        await waiter
        self.figures["unblock_push_ms"] = round((time.perf_counter() - completed_at) * 1000, 1)
        self.say(f"{webrtc} was woken {self.figures['unblock_push_ms']} ms after P0.2.6 completed")

        _, confirm_ms = await self.timed(lambda: self.call(
            webrtc, "claim", {"task": "P0.5.2"}))  # fmt: skip
        self.figures["claim_confirmed_in_git_ms"] = round(confirm_ms, 1)
        self.say(f"{webrtc} claimed P0.5.2; confirmed in git after {confirm_ms:.0f} ms")
        for percent in (25, 50, 75):
            await self.call(webrtc, "progress", {"task": "P0.5.2", "percent": percent})
        await self.call(webrtc, "complete", {"task": "P0.5.2", "tests_pass": True,
                        "deliverable": "docs/components/IF.GOVERNOR.md"})  # fmt: skip
        self.say(f"{webrtc} completed P0.5.2")

    async def take_filler(self, session: str) -> str:
        for task in ("F2.1", "F2.2", "F2.3", "F2.4"):
            async with self.room.client(session) as node:
                board = await node.query("board")
            owner = next(t["owner"] for t in board["tasks"] if t["id"] == task)
            if owner == session:
                return task
            if owner is None:
                try:
                    await self.call(session, "claim", {"task": task})
                except IfmeshError:
                    continue  # another session won it: the next filler
                return task
        raise IfmeshError("no filler task left for the demo")

    def print_git_log(self) -> None:
        assert self.room.remote is not None
        log = subprocess.run(
            ["git", "--git-dir", str(self.room.remote), "log", "--format=%h %s", "-n", "25",
             BRANCH], capture_output=True, text=True, check=False,
        ).stdout  # fmt: skip
        print(f"\n── git log of the coordination branch ({BRANCH}), newest first")
        print(log.rstrip())

    def print_figures(self) -> None:
        if self.propagation_ms:
            self.figures["claim_propagation_ms_p50"] = round(
                statistics.median(self.propagation_ms), 1
            )
            self.figures["claim_propagation_ms_max"] = round(max(self.propagation_ms), 1)
            self.figures["events_measured"] = len(self.propagation_ms)
        self.figures["polling_loop_mean_ms"] = 15_000  # the 30 s loop sees a claim after 15 s
        print("\n── figures (this run)")
        for key, value in self.figures.items():
            print(f"  {key:<28} {value}")
        print(json.dumps({"demo": "ifmesh up", "figures": self.figures}))
