"""docs/ifmessage.md cannot fall behind the models: every type, field and error code is in it."""

from __future__ import annotations

from pathlib import Path

from ifmesh.node import errors
from ifmesh.node.protocol import messages

DOC = (Path(__file__).resolve().parents[2] / "docs" / "ifmessage.md").read_text(encoding="utf-8")


def _protocol_error_codes() -> set[str]:
    """Codes of the IFMessage errors (node.errors); transport framing errors that other
    packages derive from ProtocolError are documented with their transport."""
    found, pending = set(), [errors.ProtocolError]
    while pending:
        cls = pending.pop()
        if cls.__module__ == errors.__name__:
            found.add(cls.code)
        pending.extend(cls.__subclasses__())
    return found - {errors.ProtocolError.code}


def test_every_message_type_and_its_fields_are_documented() -> None:
    rows = {line.split("|")[1].strip(" `"): line for line in DOC.splitlines() if "| `" in line}
    for message_type, payload in messages.Payload.registry.items():
        assert message_type in rows, f"{message_type} missing from docs/ifmessage.md"
        for field in payload.model_fields:
            assert field in rows[message_type], f"{message_type}.{field} undocumented"


def test_every_envelope_field_is_documented() -> None:
    for field in messages.Envelope.model_fields:
        assert f"`{field}`" in DOC, f"envelope field {field} undocumented"


def test_every_protocol_error_code_is_documented() -> None:
    for code in _protocol_error_codes():
        assert f"`{code}`" in DOC, f"error code {code} undocumented"
