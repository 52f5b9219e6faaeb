"""IFMessages in the origin's wire shape, for scripts/make_ifmessage_fixtures.py.

The origin is the TypeScript mesh of dannystocker/infrafabric (``if.api/communication/webrtc``):
``{id, timestamp, level: number, source, destination, traceId?, version, payload,
performative?, conversation_id?, sequence_num?, citation_ids?, signature?}``, no ``type``, and
``destination: "broadcast"`` for everyone. Documents are built as the origin builds them: keys
in the order its code sets them, ``Date.toISOString()`` timestamps (always milliseconds), and
``sendIFMessage`` adding ``sequence_num``, ``traceId`` and ``signature`` last.

Signatures are real Ed25519 signatures, made the origin's way: over ``JSON.stringify(canonical,
sortedKeys)`` of its signed fields, where the sorted key list also filters every nested object
(so a payload's own keys are not covered unless they share a signed field's name). Keys are
test keys derived from the session id. Nothing in ifmesh verifies them yet.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import timedelta
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from ifmessage_sessions import NAMESPACE, T0

SIGNED_FIELDS = [
    "id", "timestamp", "level", "source", "destination", "payload", "performative",
    "conversation_id", "sequence_num",
]  # fmt: skip


def iso_ms(minutes: float) -> str:
    """``Date.prototype.toISOString``: UTC, milliseconds always written."""
    moment = T0 + timedelta(milliseconds=round(minutes * 60_000))
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def trace_id(*parts: str) -> str:
    """12 bytes as hex, like the origin's generateTraceId (deterministic here)."""
    return hashlib.sha256("/".join(("trace", *parts)).encode()).hexdigest()[:24]


def citation(*parts: str) -> str:
    return f"if://citation/{uuid.uuid5(NAMESPACE, '/'.join(('citation', *parts)))}"


def _stringify(value: Any, keys: list[str]) -> str:
    """``JSON.stringify(value, keys)`` for JSON values without floats in exponent form: an array
    replacer lists the properties kept in *every* object, in its order."""
    if isinstance(value, dict):
        members = (f"{json.dumps(k)}:{_stringify(value[k], keys)}" for k in keys if k in value)
        return "{" + ",".join(members) + "}"
    if isinstance(value, list):
        return "[" + ",".join(_stringify(item, keys) for item in value) + "]"
    return json.dumps(value, ensure_ascii=False)


def signing_input(document: dict[str, Any], signed_fields: list[str]) -> bytes:
    canonical = {name: document[name] for name in signed_fields if name in document}
    return _stringify(canonical, sorted(canonical)).encode()


def test_key(session: str) -> Ed25519PrivateKey:
    seed = hashlib.sha256(f"ifmesh fixture key/{session}".encode()).digest()
    return Ed25519PrivateKey.from_private_bytes(seed)


def sign(document: dict[str, Any]) -> dict[str, Any]:
    """The origin's ``signature`` object for ``document`` (signed by its source's test key)."""
    key = test_key(document["source"])
    public = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return {
        "algorithm": "ed25519",
        "public_key": public.hex(),
        "signature_bytes": key.sign(signing_input(document, SIGNED_FIELDS)).hex(),
        "signed_fields": list(SIGNED_FIELDS),
    }


def origin_message(
    message_id: str,
    minutes: float,
    source: str,
    payload: dict[str, Any],
    *,
    level: int = 2,
    destination: str = "broadcast",
    version: str = "2.1",
    thread: dict[str, Any] | None = None,
    sent: int | None = None,
    signed: bool = True,
) -> dict[str, Any]:
    """A message as the origin's code makes it; ``sent`` is the sequence number
    ``sendIFMessage`` gives it (None: not sent through it, so no sequence, trace or signature).
    ``thread``: v2.1 fields set by the caller (performative, conversation_id, citation_ids)."""
    document: dict[str, Any] = {
        "id": message_id,
        "timestamp": iso_ms(minutes),
        "level": level,
        "source": source,
        "destination": destination,
        "version": version,
        "payload": payload,
        **(thread or {}),
    }
    if sent is not None:
        document["sequence_num"] = sent
        document["traceId"] = trace_id(source)
        if signed:
            document["signature"] = sign(document)
    return document


def compact(document: Any) -> str:
    """``JSON.stringify(document)``: what the origin sends on its data channel."""
    return json.dumps(document, ensure_ascii=False, separators=(",", ":"))


def dumps(document: Any) -> str:
    """``JSON.stringify(document, null, 2)`` plus a final newline."""
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def provider_message(key: str, session: str, helper: str, task: str, index: int) -> dict[str, Any]:
    """What each provider's origin-side agent says on the mesh, in the origin's shape."""
    mid = str(uuid.uuid5(NAMESPACE, f"{key}/message"))
    at = index + 7.25
    if key == "ndi":  # a v1.0 component: no v2.1 fields, not sent through sendIFMessage
        payload = {"event": "ndi.source.discovered", "source_name": "STUDIO-A (Camera 1)",
                   "address": "10.77.0.21:5961", "via": "discovery-server"}  # fmt: skip
        return origin_message(mid, at, session, payload, level=1, version="1.0")
    if key == "webrtc":  # the origin's own mesh test: a broadcast every peer answers
        payload = {"sendTime": 1523.5, "messageIndex": 0}
        return origin_message(mid, at + 0.25 / 60, session, payload, sent=1)  # at .250 s
    if key == "h323":  # a direct question, in a thread, with its evidence
        payload = {"question": "Which MCU cascade settings let H.245 accept the bridge?",
                   "task_id": task, "attempts": 3}  # fmt: skip
        cited = [citation(key, "h245-tcs-trace"), citation(key, "mcu-docs")]
        thread = {"performative": "query-ref", "conversation_id": f"help-{task}",
                  "citation_ids": cited}  # fmt: skip
        return origin_message(mid, at, session, payload, level=3, destination=helper,
                              thread=thread, sent=4)  # fmt: skip
    if key == "sip":
        payload = {"event": "sip.trunk.registered", "registrar": "sip:trunk.example.net",
                   "expires": 3600, "transport": "tls"}  # fmt: skip
        return origin_message(mid, at, session, payload, thread={"performative": "inform"}, sent=2)
    payload = {"command": f"ifmesh claim {task} --confirmed", "exit_code": 3,
               "error": "confirmation pending: git-sync design not settled",
               "retry": None}  # fmt: skip
    return origin_message(mid, at, session, payload, level=4,
                          thread={"performative": "failure"}, sent=9)  # fmt: skip


def edge_documents() -> dict[str, str]:
    """``edge/origin-*`` fixtures: file name → content."""
    webrtc, h323 = "session-2-webrtc", "session-3-h323"

    def mid(name: str) -> str:
        return f"origin-{name}"

    levels = [
        compact(
            origin_message(
                mid(f"level-{n}"), n, webrtc, {"probe": "level", "n": n}, level=n, sent=n + 1
            )
        )
        for n in range(6)
    ]
    inform = {"performative": "inform"}
    return {
        "origin-levels.jsonl": "\n".join(levels) + "\n",
        "origin-broadcast.json": dumps(origin_message(
            "mesh-msg-0", 1, "mesh-agent-0", {"sendTime": 88.25, "messageIndex": 0})),
        "origin-trace-id.json": dumps(origin_message(
            mid("trace"), 2, webrtc, {"step": "offer-created"}, thread=inform)
            | {"traceId": trace_id("sdp", "offer")}),
        "origin-signature.json": dumps(origin_message(
            mid("signed"), 3, h323, {"status": "H.245 TCS accepted"},
            thread={"performative": "confirm", "conversation_id": "help-P0.3.6-mcu"}, sent=12)),
        "origin-generic-performative.json": dumps(origin_message(
            mid("generic"), 4, h323, {"question": "who holds P0.2.6?"}, destination=webrtc,
            thread={"performative": "query-ref", "conversation_id": "ask-P0.2.6"})),
        "origin-citations.json": dumps(origin_message(
            mid("citations"), 5, webrtc, {"finding": "aiortc SCTP has no heartbeat"},
            thread={"performative": "inform", "citation_ids": [
                citation("sctp", "rfc4960"), citation("aiortc", "sctp-module")]}, sent=3)),
        "origin-typed-event.json": dumps(typed_event(webrtc)),
    }  # fmt: skip


def typed_event(session: str) -> dict[str, Any]:
    """An ifmesh event (it names its type) in the origin's dress: every origin field works
    with every type."""
    document = origin_message(
        "origin-typed-progress", 6, session,
        {"task_id": "P0.5.2", "epoch": 0, "percent": 50, "milestone": "Policy configuration"},
        thread={"performative": "inform", "citation_ids": [citation("typed", "progress")]},
    )  # fmt: skip
    document = {"type": "task.progress", **document, "lamport": 20, "seq": 5}
    document["traceId"] = trace_id(session, "typed")
    document["signature"] = sign(document)
    return document


# Negative cases on an origin message: (file stem, edits, code, field path, why).
_CITED = {"performative": "inform", "citation_ids": [citation("invalid", "base")]}


def invalid_documents() -> list[tuple[str, dict[str, Any], str, str, str]]:
    def base() -> dict[str, Any]:
        return origin_message("origin-invalid", 8, "session-4-sip", {"event": "x"},
                              thread=dict(_CITED), sent=5)  # fmt: skip

    def case(stem: str, code: str, path: str, why: str, **edits: Any) -> tuple[Any, ...]:
        document = base()
        for dotted, value in edits.items():
            target, *parents, leaf = [document, *dotted.split("__")]
            for name in parents:
                target = target[name]
            if value is _DROP:
                del target[leaf]
            else:
                target[leaf] = value
        return (f"origin-{stem}", document, code, path, why)

    return [
        case("level-out-of-range", "invalid_field", "level", "origin levels are 0-5", level=6),
        case("level-negative", "invalid_field", "level", "origin levels are 0-5", level=-1),
        case("level-fraction", "invalid_field", "level", "a level is a whole number",
             level=2.5),
        case("level-boolean", "invalid_field", "level", "true is not level 1", level=True),
        case("level-digit-string", "invalid_field", "level", "'2' is neither a word nor a number",
             level="2"),
        case("version-unknown", "invalid_field", "version", "versions are 1.0 and 2.1",
             version="3.0"),
        case("trace-id-empty", "invalid_field", "traceId", "an empty trace id traces nothing",
             traceId=""),
        case("citation-ids-not-a-list", "invalid_field", "citation_ids",
             "citation_ids is a list", citation_ids=citation("invalid", "single")),
        case("citation-id-empty", "invalid_field", "citation_ids.0", "an empty citation",
             citation_ids=[""]),
        case("signature-algorithm", "invalid_field", "signature.algorithm",
             "the origin signs with ed25519 only", signature__algorithm="rsa"),
        case("signature-without-bytes", "missing_field", "signature.signature_bytes",
             "a signature object carries its bytes", signature__signature_bytes=_DROP),
        case("signature-key-not-hex", "invalid_field", "signature.public_key",
             "the public key is 32 bytes in hex", signature__public_key="ed25519:AAAC3NzaC1"),
        case("signature-extra-field", "unknown_field", "signature.key_id",
             "the signature object has four fields", signature__key_id="k1"),
        case("signature-number", "invalid_field", "signature",
             "a signature is a string or an object", signature=42),
        case("payload-not-an-object", "invalid_field", "payload",
             "a generic payload is a JSON object", payload="hello"),
        case("without-payload", "missing_field", "payload", "v1.0 requires payload",
             payload=_DROP),
        case("source-broadcast", "invalid_field", "source",
             "'broadcast' addresses everyone: no session has that name", source="broadcast"),
        case("performative-unknown", "invalid_field", "performative",
             "performatives are FIPA-ACL acts", performative="shout"),
    ]  # fmt: skip


_DROP = object()
