#!/usr/bin/env python3
"""Capture SDP fixtures from real implementations (aiortc, headless Chromium and Firefox).

    sudo .venv/bin/python scripts/capture_sdp.py [--out fixtures/sdp] [--browsers chromium,firefox]
        [--trace-egress]

As root it creates a network namespace (a veth pair with both ends inside: 10.77.0.1/24,
10.77.0.2/24, fd77::1/64, fd77::2/64; lo up; a default route), runs itself inside it with
``ip netns exec``, and deletes the namespace afterwards, so no packet leaves it. Inside:

1. Chromium offers a data channel, aiortc answers, Chromium accepts; the channel opens and
   one message goes each way.  → chromium-datachannel-offer, aiortc-datachannel-answer,
   chromium-trickle-offer (+ .trickle.jsonl: the onicecandidate events)
2. The same with aiortc offering.  → aiortc-datachannel-offer, chromium-datachannel-answer
3. Chromium offers audio + video + data, aiortc answers (codec negotiation).
   → chromium-av-offer, aiortc-av-answer
4. aiortc offers audio + video, Chromium answers.  → aiortc-av-offer, chromium-av-answer
5. Chromium with mDNS host names.  → chromium-mdns-offer

Firefox (firefox-esr over WebDriver BiDi, a fresh profile that fetches nothing) does 1-4
too, with aiortc as the other side; its own SDP is kept: firefox-datachannel-offer,
firefox-trickle-offer, firefox-datachannel-answer, firefox-av-offer, firefox-av-answer.
``--trace-egress`` runs Firefox under strace and reports every attempt to reach an address
outside loopback and the namespace (``egress`` in the summary; none is expected).

Each fixture is written as NAME.sdp (byte for byte) and NAME.yaml (origin, what it
exercises, and the negotiation result the replay tool reports for it). The last line on
stdout is a JSON summary (interop results, fixtures written).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ifmesh.node.mesh.sdp_replay import CapturePeer, replay  # noqa: E402
from ifmesh.node.sdp.capture.browser import Browser  # noqa: E402
from ifmesh.node.sdp.capture.catalog import FIXTURES  # noqa: E402
from ifmesh.node.sdp.capture.chromium import Chromium  # noqa: E402
from ifmesh.node.sdp.capture.egress import STRACE_ARGS, outside_attempts  # noqa: E402
from ifmesh.node.sdp.capture.firefox import Firefox  # noqa: E402
from ifmesh.node.sdp.capture.netns import ADDRESSES, network_namespace  # noqa: E402
from ifmesh.node.sdp.capture.page_peer import PagePeer  # noqa: E402
from ifmesh.node.sdp.trickle import parse_trickle  # noqa: E402

TIMEOUT = 20.0
NS_NOTE = (
    "inside a network namespace created by the script (veth pair "
    + ", ".join(f"{dev} {v4} {v6}" for dev, v4, v6 in ADDRESSES)
    + "; lo up; default route via 10.77.0.2; deleted afterwards)"
)
CHROMIUM_HOW = (
    "headless Chromium driven over the DevTools protocol (scripts/capture_sdp.py, "
    "node/sdp/capture/), RTCPeerConnection({iceServers: []}), flags: FLAGS, " + NS_NOTE
)
FIREFOX_HOW = (
    "headless firefox-esr driven over WebDriver BiDi (scripts/capture_sdp.py, "
    "node/sdp/capture/firefox.py), flags: FLAGS, a fresh profile whose user.js "
    "(node/sdp/capture/firefox_prefs.py) turns off every background fetch and host-address "
    "obfuscation, RTCPeerConnection({iceServers: []}), " + NS_NOTE
)
AIORTC_HOW = (
    "aiortc RTCPeerConnection(RTCConfiguration(iceServers=[])) via "
    "ifmesh.node.mesh.sdp_replay.CapturePeer, scripts/capture_sdp.py, " + NS_NOTE
)


class Capture:
    def __init__(self, out: Path, browser: Browser, how: str, *, aiortc: bool = True) -> None:
        self.out = out
        self.browser = browser
        self.how = how.replace("FLAGS", " ".join(browser.flags))
        # False: aiortc's side is not written (it is captured once, against Chromium).
        self.aiortc = aiortc
        self.written: list[str] = []
        self.when = datetime.datetime.now(datetime.UTC).date().isoformat()

    async def save(self, name: str, sdp: str, sdp_type: str, *, trickle: Any = None) -> None:
        if name.startswith("aiortc") and not self.aiortc:
            return
        description, exercises = FIXTURES[name]
        by_browser = not name.startswith("aiortc")
        (self.out / f"{name}.sdp").write_bytes(sdp.encode())
        trickle_name = None
        if trickle is not None:
            trickle_name = f"{name}.trickle.jsonl"
            lines = "".join(json.dumps(item) + "\n" for item in trickle)
            (self.out / trickle_name).write_text(lines)
        parsed = parse_trickle((self.out / trickle_name).read_text()) if trickle_name else None
        result = await replay(sdp, source=name, sdp_type=sdp_type, trickle=parsed)  # type: ignore[arg-type]
        meta = {
            "description": description,
            "exercises": exercises,
            "type": sdp_type,
            "origin": {
                "method": "captured",
                "implementation": self.browser.version if by_browser else _aiortc_version(),
                "how": self.how if by_browser else AIORTC_HOW,
                "captured_at": self.when,
            },
            **({"trickle": trickle_name} if trickle_name else {}),
            "expect": result.summary(),
        }
        (self.out / f"{name}.yaml").write_text(yaml.safe_dump(meta, sort_keys=False, width=100))
        self.written.append(name)


def _aiortc_version() -> str:
    import aiortc

    return f"aiortc {aiortc.__version__}"


async def interop(page: PagePeer, aio: CapturePeer, browser: str, offerer: str) -> dict[str, Any]:
    """Both sides wait for the open channel, then one message goes each way."""
    state = await page.wait_open(TIMEOUT)
    await aio.wait_open(TIMEOUT)
    await page.send(f"hello from {browser} ({offerer} offered)")
    to_aiortc = await aio.receive(TIMEOUT)
    aio.send(f"hello from aiortc ({offerer} offered)")
    to_browser = await page.receive(TIMEOUT)
    return {
        "browser": browser,
        "offerer": offerer,
        "channel_state": state,
        "to_aiortc": to_aiortc,
        "to_browser": to_browser,
    }


async def exchanges(cap: Capture, browser: str) -> list[dict[str, Any]]:
    """The four exchanges between the browser and aiortc (1-4 in the module docstring)."""
    results: list[dict[str, Any]] = []
    page = PagePeer(cap.browser)

    # 1. The browser offers a data channel; aiortc answers.
    await page.start()
    offered = await page.offer()
    aio = CapturePeer()
    answer = await aio.answer(offered.complete)
    await page.accept(answer)
    results.append(await interop(page, aio, browser, browser))
    await aio.close()
    await page.close()
    await cap.save(f"{browser}-datachannel-offer", offered.complete, "offer")
    await cap.save(f"{browser}-trickle-offer", offered.initial, "offer", trickle=offered.trickle)
    await cap.save("aiortc-datachannel-answer", answer, "answer")

    # 2. aiortc offers a data channel; the browser answers.
    aio = CapturePeer()
    offer = await aio.offer()
    await page.start()
    answered = await page.answer(offer)
    await aio.accept(answered.complete)
    results.append(await interop(page, aio, browser, "aiortc"))
    await aio.close()
    await page.close()
    await cap.save("aiortc-datachannel-offer", offer, "offer")
    await cap.save(f"{browser}-datachannel-answer", answered.complete, "answer")

    # 3. The browser offers audio + video + data; aiortc answers (codec negotiation).
    await page.start(("audio", "video"))
    offered = await page.offer()
    aio = CapturePeer(datachannel=True)
    answer = await aio.answer(offered.complete)
    await page.accept(answer)
    await aio.close()
    await page.close()
    await cap.save(f"{browser}-av-offer", offered.complete, "offer")
    await cap.save("aiortc-av-answer", answer, "answer")

    # 4. aiortc offers audio + video; the browser answers.
    aio = CapturePeer(kinds=("audio", "video"), datachannel=False)
    offer = await aio.offer()
    await page.start(datachannel=False)
    answered = await page.answer(offer)
    await aio.accept(answered.complete)
    await aio.close()
    await page.close()
    await cap.save("aiortc-av-offer", offer, "offer")
    await cap.save(f"{browser}-av-answer", answered.complete, "answer")
    return results


async def capture_chromium(out: Path, chromium_path: str) -> dict[str, Any]:
    async with Chromium(chromium_path) as browser:
        cap = Capture(out, browser, CHROMIUM_HOW)
        results = await exchanges(cap, "chromium")
        version = browser.version

    # 5. Chromium as on the web: host addresses hidden behind mDNS names.
    async with Chromium(chromium_path, mdns=True) as browser:
        page = PagePeer(browser)
        await page.start()
        offered = await page.offer()
        await page.close()
        await Capture(out, browser, CHROMIUM_HOW).save(
            "chromium-mdns-offer", offered.complete, "offer"
        )
        cap.written.append("chromium-mdns-offer")
    return {"chromium": version, "interop": results, "fixtures": cap.written}


async def capture_firefox(out: Path, firefox_path: str, trace: Path | None) -> dict[str, Any]:
    """Firefox against aiortc in both directions; only Firefox's own SDP becomes a fixture
    (aiortc's side is already captured against Chromium)."""
    prefix = ["strace", *STRACE_ARGS, "-o", str(trace)] if trace else None
    async with Firefox(firefox_path, exec_prefix=prefix) as browser:
        cap = Capture(out, browser, FIREFOX_HOW, aiortc=False)
        results = await exchanges(cap, "firefox")
        version = browser.version
    summary: dict[str, Any] = {"firefox": version, "interop": results, "fixtures": cap.written}
    if trace is not None:
        with trace.open(errors="replace") as lines:
            attempts = outside_attempts(lines)
        summary["egress"] = {
            "packets": [a.line for a in attempts if a.sends_packet],
            "route_probes": sorted({a.destination for a in attempts if not a.sends_packet}),
        }
    return summary


async def capture(
    out: Path, browsers: list[str], paths: dict[str, str], trace: Path | None
) -> dict[str, Any]:
    summary: dict[str, Any] = {"aiortc": _aiortc_version(), "interop": [], "fixtures": []}
    for name in browsers:
        if name == "chromium":
            part = await capture_chromium(out, paths["chromium"])
        else:
            part = await capture_firefox(out, paths["firefox"], trace)
        summary["interop"] += part.pop("interop")
        summary["fixtures"] += part.pop("fixtures")
        summary.update(part)
    summary["out"] = str(out)
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "fixtures" / "sdp")
    parser.add_argument("--chromium", default=shutil.which("chromium") or "chromium")
    parser.add_argument("--firefox", default=shutil.which("firefox-esr") or "firefox-esr")
    parser.add_argument(
        "--browsers", default="chromium,firefox", help="comma-separated: chromium, firefox"
    )
    parser.add_argument(
        "--trace-egress",
        action="store_true",
        help="run Firefox under strace and report attempts to reach outside the namespace",
    )
    parser.add_argument("--inside", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s %(message)s")
    browsers = [b for b in args.browsers.split(",") if b]
    unknown = set(browsers) - {"chromium", "firefox"}
    if unknown:
        parser.error(f"unknown browser(s): {', '.join(sorted(unknown))}")
    if args.inside:
        args.out.mkdir(parents=True, exist_ok=True)
        paths = {"chromium": args.chromium, "firefox": args.firefox}
        with tempfile.TemporaryDirectory(prefix="ifmesh-egress-") as scratch:
            trace = Path(scratch, "firefox.strace") if args.trace_egress else None
            summary = asyncio.run(capture(args.out.resolve(), browsers, paths, trace))
        print(json.dumps(summary))
        return 0
    if os.geteuid() != 0:
        print("capture_sdp: needs root to create a network namespace", file=sys.stderr)
        return 2
    with network_namespace() as ns:
        command = [
            *ns.exec_prefix,
            sys.executable,
            str(Path(__file__).resolve()),
            "--inside",
            "--out",
            str(args.out.resolve()),
            "--chromium",
            args.chromium,
            "--firefox",
            args.firefox,
            "--browsers",
            ",".join(browsers),
            *(["--trace-egress"] if args.trace_egress else []),
        ]
        return subprocess.run(command, check=False).returncode


if __name__ == "__main__":
    sys.exit(main())
