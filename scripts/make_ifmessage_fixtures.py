"""Writes fixtures/ifmessages/: every message type from every provider session, edge and
negative cases. Deterministic (fixed ids and times), so re-running it changes nothing unless
this script changed. Run: .venv/bin/python scripts/make_ifmessage_fixtures.py
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from ifmesh.node.protocol import codec, messages
from ifmesh.node.protocol.messages import (
    MAX_ENCODED_BYTES,
    Blocker,
    BlockerResolved,
    BreakerReset,
    ClaimLost,
    HelpEscalate,
    HelpOffer,
    HelpRequest,
    LeaseRenew,
    Payload,
    SwarmRegister,
    TaskBroadcast,
    TaskClaim,
    TaskComplete,
    TaskConfirmed,
    TaskFail,
    TaskProgress,
    TaskRelease,
    TaskSteal,
)

ROOT = Path(__file__).resolve().parent.parent / "fixtures" / "ifmessages"
NAMESPACE = uuid.UUID("6f1d3c2e-6a55-4c1e-9a0b-1f2e3d4c5b6a")
T0 = datetime(2025, 11, 12, 14, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Provider:
    key: str
    session: str
    task: str
    task_title: str
    task_type: str
    deliverable: str
    depends_on: str
    capabilities: tuple[str, ...]
    blocker: str
    need: tuple[str, ...]
    helper: str
    milestone: str
    failure: str
    cost_per_hour: float
    model: str
    incarnation: str


PROVIDERS = (
    Provider(
        "ndi", "session-1-ndi", "P0.1.5", "NDI source discovery integration", "integration",
        "src/ndi/discovery.py", "P0.1.3",
        ("protocol:ndi", "media:video-routing", "test:integration", "lang:python"),
        "NDI SDK discovery server unreachable from the CI runner; mDNS announcements time out",
        ("protocol:ndi", "infra:multicast"), "session-4-sip",
        "50% - Discovery server fallback implemented", "NDI receiver dropped frames at 1080p60",
        4.5, "sonnet", "7c1e5a90",
    ),
    Provider(
        "webrtc", "session-2-webrtc", "P0.5.2", "IF.governor documentation", "documentation",
        "docs/components/IF.GOVERNOR.md", "P0.2.6",
        ("docs:technical-writing", "protocol:webrtc", "test:fixtures", "docs:runbooks"),
        "Waiting for IF.governor integration tests (P0.2.6) before documenting the admission path",
        ("test:integration", "governor:policy"), "session-5-cli",
        "50% - Policy configuration complete", "Mermaid diagrams fail to render in the docs build",
        1.2, "haiku", "0b9d44e2",
    ),
    Provider(
        "h323", "session-3-h323", "P0.3.6", "H.323 MCU conference bridge", "integration",
        "src/h323/mcu_bridge.py", "P0.3.4",
        ("protocol:h323", "media:mcu", "protocol:h245", "lang:python"),
        "MCU configuration for cascaded conferences is undocumented; H.245 capability exchange "
        "rejects the bridge's terminal capability set",
        ("protocol:h323", "docs:technical-writing"), "session-2-webrtc",
        "75% - Gatekeeper registration and RAS flows passing", "H.245 master/slave determination "
        "loops when both ends propose the same random number",
        3.8, "sonnet", "e41f0c37",
    ),
    Provider(
        "sip", "session-4-sip", "P0.4.3", "SIP trunk registration and INVITE flow", "integration",
        "src/sip/trunk.py", "P0.4.1",
        ("protocol:sip", "protocol:sdp", "test:sipp", "lang:python"),
        "SIPp scenario for re-INVITE with hold needs SDP fixtures with a=sendonly",
        ("protocol:sdp", "test:fixtures"), "session-2-webrtc",
        "25% - REGISTER with digest auth working", "487 Request Terminated on every CANCEL race",
        3.0, "sonnet", "5a2b7d18",
    ),
    Provider(
        "cli", "session-5-cli", "P0.5.4", "ifmesh CLI for agent sessions", "tooling",
        "src/cli/main.py", "P0.5.1",
        ("lang:python", "tooling:cli", "test:integration", "governor:policy"),
        "Exit-code contract for `claim --confirmed` depends on the git-sync confirmation design",
        ("git:sync", "docs:technical-writing"), "session-3-h323",
        "100% - All commands documented with --json output", "argparse rejects repeated --need",
        2.2, "haiku", "92c6e0aa",
    ),
)  # fmt: skip


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def message_id(*parts: str) -> str:
    return str(uuid.uuid5(NAMESPACE, "/".join(parts)))


def payloads(p: Provider, index: int) -> dict[str, tuple[Payload, dict[str, Any]]]:
    """Each message type for provider ``p``, with envelope fields beyond the defaults."""
    request_id = message_id(p.key, "help.request")
    claim_ts: Any = at(index)
    if p.key == "ndi":
        # The original IFMessage mocks stamped payloads with time.time(): keep one such case.
        claim_ts = at(index).timestamp()
    inform = {"performative": "inform"}
    return {
        "task.claim": (
            TaskClaim(
                task_id=p.task, epoch=0, swarm_id=p.session, task_type=p.task_type,
                metadata={"title": p.task_title, "estimate_hours": 2, "model": p.model},
                timestamp=claim_ts, policy_hash="sha256:4be1c9f0a7d2e3b8",
            ),
            {"performative": "propose", "lamport": 12, "seq": 3},
        ),
        "task.broadcast": (
            TaskBroadcast(
                task_id=p.task, task_type=p.task_type, priority="high",
                metadata={"title": p.task_title, "dependencies": [p.depends_on],
                          "deliverable": p.deliverable},
                assigned_at=at(index - 30),
            ),
            {"performative": "cfp", "lamport": 2, "seq": 1},
        ),
        "task.progress": (
            TaskProgress(task_id=p.task, epoch=0, percent=int(p.milestone.split("%")[0]),
                         milestone=p.milestone.split(" - ", 1)[1]),
            inform | {"lamport": 20, "seq": 5},
        ),
        "task.complete": (
            TaskComplete(task_id=p.task, epoch=0, deliverable=p.deliverable, tests_pass=True,
                         actual_hours=1.5),
            inform | {"lamport": 31, "seq": 8},
        ),
        "task.fail": (
            TaskFail(task_id=p.task, epoch=0, reason=p.failure),
            {"performative": "failure", "level": "error", "lamport": 25, "seq": 6},
        ),
        "task.release": (
            TaskRelease(task_id=p.task, epoch=0), inform | {"lamport": 26, "seq": 7}
        ),
        "task.steal": (
            TaskSteal(task_id=p.depends_on, epoch=2, previous_owner=p.helper),
            {"performative": "request", "level": "warning", "lamport": 40, "seq": 9},
        ),
        "task.confirmed": (
            TaskConfirmed(task_id=p.task, epoch=0, winner=p.session),
            {"performative": "confirm", "lamport": 13, "seq": 4},
        ),
        "claim.lost": (
            ClaimLost(task_id=p.depends_on, epoch=1, winner=p.helper),
            {"performative": "disconfirm", "lamport": 14, "seq": 4},
        ),
        "lease.renew": (
            LeaseRenew(task_ids=[p.task]), inform | {"lamport": 22, "seq": 6, "ttl": 60}
        ),
        "blocker": (
            Blocker(
                swarm_id=p.session, task_id=p.task, blocked_on=[p.depends_on],
                blocker_type="dependency", required_capabilities=list(p.need),
                description=p.blocker, urgency="high", detected_at=at(index + 5),
            ),
            {"performative": "inform", "level": "warning", "lamport": 16, "seq": 5},
        ),
        "blocker.resolved": (
            BlockerResolved(swarm_id=p.session, task_id=p.task,
                            resolution=f"{p.depends_on} completed; resuming"),
            inform | {"lamport": 30, "seq": 7},
        ),
        "help.request": (
            HelpRequest(
                blocked_swarm_id=p.session, task_id=p.task, required_capabilities=list(p.need),
                description=p.blocker, urgency="high", max_helpers=3, max_cost_per_helper=10.0,
                deadline=at(index + 35),
            ),
            {"performative": "cfp", "level": "warning", "lamport": 17, "seq": 6,
             "conversation_id": f"help-{p.task}"},
        ),
        "help.offer": (
            HelpOffer(
                request_id=request_id, task_id=p.task, helper_swarm_id=p.helper,
                capabilities=list(p.need), estimated_cost=2.4,
                message=f"{p.helper} can pair on {p.task} for the next 40 minutes",
            ),
            {"performative": "propose", "lamport": 18, "seq": 2,
             "conversation_id": f"help-{p.task}", "source": p.helper},
        ),
        "help.escalate": (
            HelpEscalate(request_id=request_id, task_id=p.task, blocked_swarm_id=p.session,
                         reason="no eligible helper accepted before the deadline"),
            {"performative": "request", "level": "error", "lamport": 33, "seq": 8,
             "conversation_id": f"help-{p.task}"},
        ),
        "swarm.register": (
            SwarmRegister(swarm_id=p.session, capabilities=list(p.capabilities),
                          cost_per_hour=p.cost_per_hour, reputation_score=0.82, budget=40.0,
                          model=p.model),
            inform | {"lamport": 1, "seq": 0},
        ),
        "breaker.reset": (
            BreakerReset(swarm_id=p.session, task_type=p.task_type,
                         reason="operator reset after fixing the failing CI runner"),
            {"performative": "inform", "level": "warning", "lamport": 45, "seq": 1,
             "source": "session-0-operator"},
        ),
    }  # fmt: skip


def provider_message(p: Provider, index: int, message_type: str) -> messages.Envelope:
    payload, fields = payloads(p, index)[message_type]
    source = fields.pop("source", p.session)
    return messages.make_message(
        payload,
        id=message_id(p.key, message_type),
        source=source,
        timestamp=at(index + 1 + sorted(messages.ENVELOPES).index(message_type) / 10),
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
        for message_type in messages.ENVELOPES:
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
    return edge


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
    case("missing-type", "missing_field", "type", "no type discriminator", type=DELETE)
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
    case("bad-level", "invalid_field", "level", "level is debug|info|warning|error|critical",
         level="loud")  # fmt: skip
    case("bad-urgency", "invalid_field", "payload.urgency", "urgency is low..critical",
         "blocker", payload__urgency="asap")  # fmt: skip
    case("max-helpers-zero", "invalid_field", "payload.max_helpers", "at least one helper",
         "help.request", payload__max_helpers=0)  # fmt: skip
    case("reputation-over-one", "invalid_field", "payload.reputation_score",
         "reputation is 0..1", "swarm.register", payload__reputation_score=1.5)  # fmt: skip
    cases.append(("not-an-object", [1, 2, 3], "invalid_field", "", "an IFMessage is an object"))

    directory = ROOT / "invalid"
    manifest: dict[str, Any] = {}
    for stem, document, code, path, why in cases:
        write(directory / f"{stem}.json", pretty(document))
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
        suffix = ".jsonl" if name == "conversation" else ".json"
        write(ROOT / "edge" / f"{name}{suffix}", content)
    invalid_fixtures()
    print(f"wrote fixtures under {ROOT}")


if __name__ == "__main__":
    main()
