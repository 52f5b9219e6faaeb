"""Rotation records: how a session's pinned key may change.

A pinned key never changes by itself: a different ``.ifmesh/keys/<session>.pub`` on the branch
is refused (:class:`~ifmesh.node.identity.errors.KeyConflict`) unless the same commit holds
``.ifmesh/keys/<session>.rotation.json``, a record naming the pinned key (``previous``) and the
new one (``key``), signed either

* by the previous key (``signer: previous``; ``ifmesh keys rotate`` writes it): the session
  itself moves on, or
* by an operator key (``signer: operator``; ``ifmesh keys override``) that this node's own
  configuration pins (``operator_keys``): for a session that lost its key. Operator keys live
  in each node's local configuration, never on the branch, since anyone who can push could
  edit the branch.

The signature covers the canonical JSON of ``purpose``, ``session``, ``previous`` and ``key``,
so a record signed for one session or one pair of keys cannot serve another.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Annotated, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ifmesh.node.identity.errors import BadRotation
from ifmesh.node.identity.keys import PublicKey, SessionKey, parse_public_key
from ifmesh.node.protocol.fields import SessionId

PURPOSE: Literal["ifmesh-key-rotation/1"] = "ifmesh-key-rotation/1"
Signer = Literal["previous", "operator"]


class RotationRecord(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)

    purpose: Literal["ifmesh-key-rotation/1"] = PURPOSE
    session: SessionId
    previous: Annotated[str, Field(max_length=128)]
    key: Annotated[str, Field(max_length=128)]
    signer: Signer
    operator_key: Annotated[str, Field(max_length=128)] | None = None
    signature: Annotated[str, Field(pattern=r"^[0-9a-f]{128}$")]

    def encode(self) -> bytes:
        return (
            orjson.dumps(
                self.model_dump(exclude_none=True),
                option=orjson.OPT_SORT_KEYS | orjson.OPT_INDENT_2,
            )
            + b"\n"
        )


def statement(session: str, previous: PublicKey, key: PublicKey) -> bytes:
    document = {"purpose": PURPOSE, "session": session, "previous": previous.text, "key": key.text}
    return orjson.dumps(document, option=orjson.OPT_SORT_KEYS)


def rotated(session: str, old: SessionKey, new: PublicKey) -> RotationRecord:
    """The record of ``session`` moving from ``old`` to ``new``, signed by ``old``."""
    return RotationRecord(
        session=session,
        previous=old.public.text,
        key=new.text,
        signer="previous",
        signature=old.sign(statement(session, old.public, new)).hex(),
    )


def overridden(
    session: str, operator: SessionKey, previous: PublicKey, new: PublicKey
) -> RotationRecord:
    """An operator's record replacing ``previous`` with ``new`` for ``session``."""
    return RotationRecord(
        session=session,
        previous=previous.text,
        key=new.text,
        signer="operator",
        operator_key=operator.public.text,
        signature=operator.sign(statement(session, previous, new)).hex(),
    )


def parse(data: bytes) -> RotationRecord:
    try:
        return RotationRecord.model_validate_json(data)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = ".".join(str(p) for p in first["loc"]) or "record"
        raise BadRotation(f"rotation record unreadable at {where}: {first['msg']}") from None


def verify(
    record: RotationRecord,
    *,
    session: str,
    pinned: PublicKey,
    new: PublicKey,
    operator_keys: Collection[PublicKey],
) -> Signer:
    """Who signed a valid record moving ``session`` from ``pinned`` to ``new``; raises
    :class:`BadRotation` saying what is wrong otherwise."""
    if record.session != session:
        raise BadRotation(f"the rotation record is for {record.session}, not {session}")
    previous, key = parse_public_key(record.previous), parse_public_key(record.key)
    if previous is None or previous.raw != pinned.raw:
        raise BadRotation(
            f"the rotation record of {session} starts from another key than the pinned one"
            f" ({pinned.short})"
        )
    if key is None or key.raw != new.raw:
        raise BadRotation(f"the rotation record of {session} names another key than its .pub")
    signer: PublicKey | None = pinned
    if record.signer == "operator":
        signer = parse_public_key(record.operator_key or "")
        if signer is None or all(signer.raw != k.raw for k in operator_keys):
            raise BadRotation(
                f"the override for {session} is signed by an operator key this node does not"
                " pin (operator_keys in its configuration)"
            )
    assert signer is not None
    if not signer.verifies(bytes.fromhex(record.signature), statement(session, pinned, new)):
        raise BadRotation(f"the rotation record of {session} does not verify")
    return record.signer
