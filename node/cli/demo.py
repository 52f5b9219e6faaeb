"""`ifmesh demo` (until the node runtime lands): a tour of what ifmesh speaks.

Decodes every shipped IFMessage fixture through the real codec, prints one line per message
per provider session, then shows each negative case being refused with its typed error.
"""

from __future__ import annotations

import sys
from typing import TextIO

from ifmesh.node import errors
from ifmesh.node.protocol import codec, fixtures
from ifmesh.node.protocol.messages import Envelope


def summary(message: Envelope) -> str:
    """One human line for a message: what it says, not how it is encoded."""
    payload = message.payload.model_dump(exclude_none=True)
    task = payload.get("task_id") or ",".join(payload.get("task_ids", []))
    details = []
    for key in ("epoch", "percent", "milestone", "winner", "previous_owner", "reason"):
        if key in payload and payload[key] not in ("", None):
            details.append(f"{key}={payload[key]}")
    if "required_capabilities" in payload:
        details.append("needs=" + ",".join(payload["required_capabilities"]))
    text = f"{message.type:<16} {message.source:<20} {task:<8} {' '.join(details)}"
    return text.rstrip()


def run_fixture_tour(out: TextIO = sys.stdout) -> int:
    failures = 0
    for provider in fixtures.PROVIDERS:
        names = fixtures.fixture_names(provider)
        print(f"\n== {provider}: {len(names)} messages", file=out)
        for name in names:
            try:
                message = fixtures.load_fixture(name)
            except errors.ProtocolError as exc:
                failures += 1
                print(f"  INVALID {name}: {exc.code}: {exc}", file=out)
                continue
            print(f"  {summary(message)}", file=out)
    thread = fixtures.load_thread("edge/conversation")
    print(f"\n== a help conversation ({thread[0].conversation_id})", file=out)
    for message in thread:
        print(f"  #{message.sequence_num} {message.performative:<8} {summary(message)}", file=out)
    cases = fixtures.invalid_cases()
    print(f"\n== {len(cases)} malformed messages, each refused with a typed error", file=out)
    for case in cases:
        try:
            codec.validate(case.document)
        except errors.ProtocolError as exc:
            verdict = "ok" if (exc.code, exc.path) == (case.code, case.path) else "UNEXPECTED"
            print(f"  {verdict:<3} {case.name:<38} {exc.code:<18} {exc.path}", file=out)
            failures += verdict != "ok"
        else:
            failures += 1
            print(f"  UNEXPECTED {case.name}: accepted", file=out)
    verdict = f"FAILURES: {failures}" if failures else "all fixtures behave as documented"
    print(f"\n{verdict}", file=out)
    return 0 if not failures else 1
