"""Writes fixtures/ifmessages/: every message type from every provider session, edge and
negative cases. Deterministic (fixed ids and times), so re-running it changes nothing unless
this script changed. Run: .venv/bin/python scripts/make_ifmessage_fixtures.py

The provider sessions and what each says come from scripts/ifmessage_sessions.py; messages in
the origin's shape (generic ``message`` files, ``edge/origin-*``, ``invalid/origin-*``) from
scripts/origin_ifmessages.py (both imported from this directory, which is on sys.path when the
script runs).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import origin_ifmessages as origin
import yaml
from ifmessage_sessions import PROVIDERS, Provider, at, message_id, payloads

from ifmesh.node.protocol import codec, messages
from ifmesh.node.protocol.messages import (
    MAX_ENCODED_BYTES,
    Blocker,
    BlockerResolved,
    HelpOffer,
    HelpRequest,
    Payload,
    SwarmRegister,
    TaskBroadcast,
)

ROOT = Path(__file__).resolve().parent.parent / "fixtures" / "ifmessages"
# Each type's minute offset within a provider's hour: the types of the first fixtures in sorted
# order, then later types in the order they were added, so adding a type moves no timestamp.
FIRST_TYPES = (
    "blocker", "blocker.resolved", "breaker.reset", "claim.lost", "help.escalate", "help.offer",
    "help.request", "lease.renew", "swarm.register", "task.broadcast", "task.claim",
    "task.complete", "task.confirmed", "task.fail", "task.progress", "task.release", "task.steal",
)  # fmt: skip
LATER_TYPES = (
    "task.ask_release", "task.keep", "task.queue", "task.unqueue", "swarm.leave",
    "paths.reserve", "paths.release",
)  # fmt: skip
KNOWN = FIRST_TYPES + LATER_TYPES
CLOCK_ORDER = KNOWN + tuple(sorted(messages.EVENT_TYPES - set(KNOWN)))  # new ones: append above


def provider_message(p: Provider, index: int, message_type: str) -> messages.Envelope:
    payload, fields = payloads(p, index)[message_type]
    source = fields.pop("source", p.session)
    return messages.make_message(
        payload,
        id=message_id(p.key, message_type),
        source=source,
        timestamp=at(index + 1 + CLOCK_ORDER.index(message_type) / 10),
        sender=messages.agent_uri(source),
        incarnation=p.incarnation if source == p.session else "3f8a6b21",
        **fields,
    )


def pretty(document: Any) -> str:
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def write(path: Path, text: str | bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")


def as_document(message: messages.Envelope) -> Any:
    return json.loads(codec.encode(message))


def provider_fixtures() -> None:
    for index, provider in enumerate(PROVIDERS):
        p = provider
        document = origin.provider_message(p.key, p.session, p.helper, p.task, index * 60)
        write(ROOT / p.key / f"{messages.GENERIC_TYPE}.json", origin.dumps(document))
        for message_type in sorted(messages.EVENT_TYPES):
            message = provider_message(provider, index * 60, message_type)
            document = as_document(message)
            if provider.key == "ndi" and message_type == "task.claim":
                document["payload"]["timestamp"] = at(0).timestamp()
            write(ROOT / provider.key / f"{message_type}.json", pretty(document))


def edge_fixtures() -> dict[str, Any]:
    base = PROVIDERS[1]
    edge: dict[str, Any] = {}
    unicode = messages.make_message(
        Blocker(
            swarm_id="session-2-webrtc", task_id="P0.5.2", blocked_on=["P0.2.6"],
            required_capabilities=["docs:technical-writing", "i18n:日本語"],
            description="Bloqué 🚧 — 文档等待集成测试; العربية; emoji ZWJ 👩‍💻; combining é",
            urgency="medium", detected_at=at(5),
        ),
        id="edge-unicode-✓", source="session-2-webrtc", timestamp=at(5),
    )  # fmt: skip
    edge["unicode"] = pretty(as_document(unicode))
    edge["v1-minimal"] = pretty(
        {
            "id": "v1-0001", "timestamp": "2025-11-12T14:00:00Z", "level": "info",
            "source": "session-4-sip", "destination": "*", "type": "task.release",
            "payload": {"task_id": "P0.4.3", "epoch": 0},
        }
    )  # fmt: skip
    edge["offset-timestamp"] = pretty(
        {
            "id": "tz-0001", "timestamp": "2025-11-12T19:30:00+05:30", "level": "info",
            "source": "session-3-h323", "destination": "session-2-webrtc",
            "type": "task.progress",
            "payload": {"task_id": "P0.3.6", "epoch": 1, "percent": 25, "milestone": "RAS up"},
        }
    )  # fmt: skip
    for name, ttl in (("ttl-min", 1), ("ttl-max", messages.MAX_TTL_SECONDS)):
        message = provider_message(base, 0, "lease.renew").model_copy(update={"ttl": ttl})
        edge[name] = pretty(as_document(messages.ENVELOPES["lease.renew"].model_validate(
            message.model_dump())))  # fmt: skip
    many = messages.make_message(
        SwarmRegister(
            swarm_id="session-5-cli",
            capabilities=[f"skill:capability-{n:04d}" for n in range(1024)],
            cost_per_hour=2.2, reputation_score=1.0, budget=500.0, model="haiku",
        ),
        id="edge-many-capabilities", source="session-5-cli", timestamp=at(1),
    )  # fmt: skip
    edge["many-capabilities"] = pretty(as_document(many))
    edge["at-size-limit"] = sized_message(MAX_ENCODED_BYTES)
    edge["conversation"] = conversation()
    return edge | origin.edge_documents()


def sized_message(size: int) -> bytes:
    """A canonical task.broadcast whose encoding is exactly ``size`` bytes."""

    def build(padding: int) -> messages.Envelope:
        return messages.make_message(
            TaskBroadcast(
                task_id="P0.2.6", task_type="integration", priority="low",
                metadata={"sdp_capture": "v=0 " + "a" * padding}, assigned_at=at(0),
            ),
            id=f"edge-size-{size}", source="session-2-webrtc", timestamp=at(0),
        )  # fmt: skip

    overhead = len(codec.encode(build(0)))
    message = build(size - overhead)
    document = message.model_dump(exclude_none=True)
    import orjson

    data = orjson.dumps(document, option=orjson.OPT_SORT_KEYS | orjson.OPT_UTC_Z)
    assert len(data) == size, (len(data), size)
    return data


def conversation() -> str:
    """An H.323 session blocked on MCU configuration asks for help; two sessions answer."""
    h323, webrtc, cli = PROVIDERS[2], PROVIDERS[1], PROVIDERS[4]
    thread = "help-P0.3.6-mcu"
    request_id = message_id("thread", "request")
    steps: list[tuple[str, Payload, str]] = [
        ("request", Blocker(
            swarm_id=h323.session, task_id="P0.3.6", blocked_on=[], blocker_type="capability",
            required_capabilities=["protocol:h323", "docs:technical-writing"],
            description=h323.blocker, urgency="high", detected_at=at(10)), "inform"),
        ("request", HelpRequest(
            blocked_swarm_id=h323.session, task_id="P0.3.6",
            required_capabilities=["protocol:h323", "docs:technical-writing"],
            description="Need MCU cascade configuration examples", urgency="high",
            max_helpers=2, deadline=at(40)), "cfp"),
        ("offer-webrtc", HelpOffer(
            request_id=request_id, task_id="P0.3.6", helper_swarm_id=webrtc.session,
            capabilities=["docs:technical-writing"], estimated_cost=1.2,
            message="I can write the MCU configuration examples (F2.4)"), "propose"),
        ("offer-cli", HelpOffer(
            request_id=request_id, task_id="P0.3.6", helper_swarm_id=cli.session,
            capabilities=["docs:technical-writing"], estimated_cost=2.2,
            message="Available after P0.5.4"), "propose"),
        ("resolved", BlockerResolved(
            swarm_id=h323.session, task_id="P0.3.6",
            resolution="session-2-webrtc documented the cascade; H.245 TCS accepted"), "inform"),
    ]  # fmt: skip
    lines = []
    for number, (step, payload, performative) in enumerate(steps, 1):
        source = {"offer-webrtc": webrtc.session, "offer-cli": cli.session}.get(step, h323.session)
        message = messages.make_message(
            payload,
            id=request_id if payload.message_type == "help.request" else message_id(thread, step),
            source=source,
            sender=messages.agent_uri(source),
            receiver=None if source == h323.session else messages.agent_uri(h323.session),
            timestamp=at(10 + number),
            conversation_id=thread,
            sequence_num=number,
            performative=performative,
            lamport=40 + number,
        )
        lines.append(codec.encode(message).decode())
    return "\n".join(lines) + "\n"


# Negative cases: (file stem, mutation of a valid document, expected code, field path, why).
def invalid_fixtures() -> None:
    webrtc = PROVIDERS[1]

    def valid(message_type: str) -> Any:
        return as_document(provider_message(webrtc, 0, message_type))

    cases: list[tuple[str, Any, str, str, str]] = []

    def case(stem: str, code: str, path: str, why: str, message_type: str = "task.claim",
             **edit: Any) -> None:  # fmt: skip
        document = valid(message_type)
        for dotted, value in edit.items():
            target = document
            *parents, leaf = dotted.split("__")
            for key in parents:
                target = target[key]
            if value is DELETE:
                del target[leaf]
            else:
                target[leaf] = value
        cases.append((stem, document, code, path, why))

    case("unknown-type", "unknown_type", "type", "type names no payload", type="task.clam")
    case("missing-source", "missing_field", "source", "v1.0 requires source", source=DELETE)
    case("missing-payload-field", "missing_field", "payload.task_id", "claim without a task",
         payload__task_id=DELETE)  # fmt: skip
    case("epoch-as-string", "invalid_field", "payload.epoch", "epoch is an integer",
         payload__epoch="0")  # fmt: skip
    case("negative-epoch", "invalid_field", "payload.epoch", "epochs start at 0",
         payload__epoch=-1)  # fmt: skip
    case("naive-timestamp", "naive_timestamp", "timestamp", "no zone: ambiguous across hosts",
         timestamp="2025-11-12T14:00:00")  # fmt: skip
    case("naive-payload-timestamp", "naive_timestamp", "payload.timestamp", "zone required",
         payload__timestamp="2025-11-12T14:00:00")  # fmt: skip
    case("garbled-timestamp", "invalid_field", "timestamp", "not RFC 3339",
         timestamp="yesterday at noon")  # fmt: skip
    case(
        "percent-not-milestone",
        "invalid_milestone",
        "payload.percent",
        "progress is reported at 25/50/75/100 only",
        "task.progress",
        payload__percent=33,
    )
    case("tests-pass-as-string", "invalid_field", "payload.tests_pass", "a boolean, not 'yes'",
         "task.complete", payload__tests_pass="yes")  # fmt: skip
    case("empty-capability", "empty_capability", "payload.required_capabilities.1",
         "an empty capability matches nothing", "help.request",
         payload__required_capabilities=["protocol:h323", ""])  # fmt: skip
    case("capability-without-category", "invalid_capability",
         "payload.capabilities.0", "capabilities are category:name", "swarm.register",
         payload__capabilities=["technical-writing"])  # fmt: skip
    case("unknown-field", "unknown_field", "payload.priority", "claims carry no priority",
         payload__priority="high")  # fmt: skip
    case("sender-mismatch", "sender_mismatch", "sender", "sender must name the source session",
         sender="if://agent/session-9-mallory")  # fmt: skip
    case("bad-sender-uri", "invalid_field", "sender", "sender is an if://agent/ URI",
         sender="agent:session-2-webrtc")  # fmt: skip
    case("ttl-zero", "invalid_field", "ttl", "ttl is at least 1 second", ttl=0)
    case("ttl-over-limit", "invalid_field", "ttl", "ttl is at most one day", ttl=86_401)
    case("bad-session-id", "invalid_field", "source", "session ids are lower-case slugs",
         source="Session 2 WebRTC", sender=DELETE)  # fmt: skip
    case("bad-level", "invalid_field", "level",
         "level is debug|info|warning|error|critical (or the origin's 0-5)",
         level="loud")  # fmt: skip
    case("bad-urgency", "invalid_field", "payload.urgency", "urgency is low..critical",
         "blocker", payload__urgency="asap")  # fmt: skip
    case("max-helpers-zero", "invalid_field", "payload.max_helpers", "at least one helper",
         "help.request", payload__max_helpers=0)  # fmt: skip
    case("reputation-over-one", "invalid_field", "payload.reputation_score",
         "reputation is 0..1", "swarm.register", payload__reputation_score=1.5)  # fmt: skip
    cases.append(("not-an-object", [1, 2, 3], "invalid_field", "", "an IFMessage is an object"))
    cases += origin.invalid_documents()

    directory = ROOT / "invalid"
    manifest: dict[str, Any] = {}
    for stem, document, code, path, why in cases:
        as_sent = stem.startswith("origin-")  # the origin's key order, as its code sets them
        write(directory / f"{stem}.json", origin.dumps(document) if as_sent else pretty(document))
        manifest[f"{stem}.json"] = {"code": code, "path": path, "why": why}
    write(directory / "too-large.json", sized_message(MAX_ENCODED_BYTES + 1))
    manifest["too-large.json"] = {
        "code": "too_large", "path": "", "why": "one byte over the 1 MiB bound"
    }  # fmt: skip
    header = "# Negative cases: file → the error `ifmesh validate` must report (code, field).\n"
    write(directory / "manifest.yaml", header + yaml.safe_dump(manifest, sort_keys=True))


DELETE = object()


def main() -> None:
    provider_fixtures()
    for name, content in edge_fixtures().items():
        suffix = (
            "" if name.startswith("origin-") else ".jsonl" if name == "conversation" else ".json"
        )
        write(ROOT / "edge" / f"{name}{suffix}", content)
    invalid_fixtures()
    print(f"wrote fixtures under {ROOT}")


if __name__ == "__main__":
    main()
