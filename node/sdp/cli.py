"""`ifmesh sdp …`: argparse wiring for the SDP tools (the node's CLI calls ``register``).

aiortc is imported only when ``replay`` runs, so ``ifmesh --help`` stays fast.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from ifmesh.node.errors import SdpError

EXIT_OK, EXIT_INVALID, EXIT_UNREADABLE = 0, 1, 2


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``sdp`` (with ``replay``) to the ``ifmesh`` sub-commands."""
    sdp = commands.add_parser("sdp", help="SDP tools: replay an SDP into a real aiortc peer")
    actions = sdp.add_subparsers(dest="sdp_command", required=True, metavar="ACTION")
    replay = actions.add_parser(
        "replay",
        help="negotiate an SDP with aiortc and report the result",
        description="Feed FILE into a real aiortc RTCPeerConnection: an offer is set as the "
        "remote description and answered; an answer is set after aiortc offered the same "
        "media sections. Reports media sections and directions, codecs chosen, BUNDLE, "
        "rtcp-mux, DTLS role and fingerprint hashes, ICE ufrag and candidates, SCTP port and "
        "max-message-size. Nothing is contacted: no STUN, and candidates are parsed and "
        "reported but never handed to aiortc. Exit 0 negotiated, 1 refused (with the reason "
        "and line), 2 unreadable.",
    )
    replay.add_argument("file", metavar="FILE", help="an SDP file ('-' for standard input)")
    replay.add_argument("--json", action="store_true", help="one JSON object on stdout")
    replay.add_argument(
        "--type",
        choices=("offer", "answer"),
        help="what FILE is (default: answer when its a=setup is active/passive, else offer)",
    )
    replay.add_argument(
        "--trickle",
        metavar="JSONL",
        help="trickled candidates, one {candidate, sdpMid, sdpMLineIndex} object per line",
    )
    replay.set_defaults(handler=run_replay)


def run_replay(args: argparse.Namespace) -> int:
    from ifmesh.node.mesh.sdp_replay import replay
    from ifmesh.node.sdp.trickle import BadTrickle, parse_trickle

    try:
        text = sys.stdin.read() if args.file == "-" else Path(args.file).read_text("utf-8")
        trickle_text = Path(args.trickle).read_text("utf-8") if args.trickle else None
    except (OSError, UnicodeDecodeError) as exc:
        return _fail(args, EXIT_UNREADABLE, {"code": "unreadable", "message": str(exc)})
    trickle = None
    if trickle_text is not None:
        try:
            trickle = parse_trickle(trickle_text)
        except SdpError as exc:
            return _refused(args, exc, args.trickle)
    try:
        report = asyncio.run(replay(text, source=args.file, sdp_type=args.type, trickle=trickle))
    except SdpError as exc:
        return _refused(args, exc, args.trickle if isinstance(exc, BadTrickle) else args.file)
    if args.json:
        print(json.dumps({"ok": True, **report.model_dump(), "summary": report.summary()}))
    else:
        print(report.text())
    return EXIT_OK


def _refused(args: argparse.Namespace, exc: SdpError, where: str) -> int:
    # SdpError puts "line N: " in front of its message; the line is reported on its own.
    message = str(exc).removeprefix(f"line {exc.line}: ")
    failed = {"code": exc.code, "message": message, "line": exc.line, "file": where}
    return _fail(args, EXIT_INVALID, failed)


def _fail(args: argparse.Namespace, code: int, error: dict[str, Any]) -> int:
    if args.json:
        print(json.dumps({"ok": False, "file": args.file, **error}))
    else:
        line = f":{error['line']}" if error.get("line") is not None else ""
        print(f"{error.get('file', args.file)}{line}: {error['code']}: {error['message']}",
              file=sys.stderr)  # fmt: skip
    return code


def main(argv: list[str] | None = None) -> int:
    """``python -m ifmesh.node.sdp.cli replay FILE``: the same command without the rest of
    ifmesh."""
    parser = argparse.ArgumentParser(prog="ifmesh sdp")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    register(commands)
    args = parser.parse_args(["sdp", *(sys.argv[1:] if argv is None else argv)])
    code: int = args.handler(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
