"""Signing an IFMessage, and checking its signature: the ``signed_fields`` rule.

What is signed. The canonical encoding (:func:`ifmesh.node.protocol.codec.signing_bytes`) of
every field the message carries except ``signature`` and ``hops`` (a relay may lower the hop
count). The signature is the v2.1 ``signature`` object in the origin's shape: ``algorithm``
``ed25519``, ``public_key`` (base64 SPKI DER), ``signature_bytes`` (hex) and ``signed_fields``
(the names covered, sorted).

The rule a receiver applies. ``signed_fields`` must name every one of :data:`REQUIRED_FIELDS`,
and every field the message carries (but ``signature`` and ``hops``): a list that leaves one
out counts as unsigned, since that field could be changed without breaking the signature.
Which key must have signed is not this module's question: the caller passes the key pinned for
the message's source (:mod:`ifmesh.node.identity.pins`).
"""

from __future__ import annotations

import hashlib
from typing import Literal, Protocol

from ifmesh.node.identity.errors import BadSignature, KeyMismatch, Unsigned
from ifmesh.node.identity.keys import PublicKey, SessionKey, raw_public_key
from ifmesh.node.protocol import codec
from ifmesh.node.protocol.fields import Ed25519Signature
from ifmesh.node.protocol.messages import Envelope

# The fields whose change would change what the board makes of an event; the list.
REQUIRED_FIELDS = frozenset(
    {"id", "timestamp", "source", "destination", "type", "payload", "lamport", "seq",
     "incarnation", "ttl"}
)  # fmt: skip
ALGORITHM: Literal["ed25519"] = "ed25519"


def sign(message: Envelope, key: SessionKey) -> Envelope:
    """``message`` with its signature (any signature it had is replaced)."""
    fields = codec.signable_fields(message)
    data = codec.signing_bytes(message, fields)
    signature = Ed25519Signature(
        algorithm=ALGORITHM,
        public_key=key.public.text,
        signature_bytes=key.sign(data).hex(),
        signed_fields=fields,
    )
    # A copy without re-validation: the message was valid, and the signature object is.
    return message.model_copy(update={"signature": signature})


def signer_of(message: Envelope) -> bytes | None:
    """The raw public key a message says signed it; None when it carries no signature object
    (or one whose key is no Ed25519 key)."""
    signature = message.signature
    if not isinstance(signature, Ed25519Signature):
        return None
    return raw_public_key(signature.public_key)


class Verified(Protocol):
    """What :func:`check` may remember: signatures already verified over the very same bytes
    (so a message read again, from git after the mesh, or a duplicate, costs no Ed25519)."""

    def __contains__(self, item: object) -> bool: ...
    def add(self, item: bytes) -> None: ...


def check(message: Envelope, pinned: PublicKey, verified: Verified | None = None) -> None:
    """Raises :class:`Unsigned`, :class:`KeyMismatch` or :class:`BadSignature` unless
    ``message`` is signed, under the rule above, by ``pinned``."""
    signature = claimed(message, pinned)
    data = codec.signing_bytes(message, signature.signed_fields)
    signed = signature.signature_bytes
    # The key is in what is compared: the same signature under another key is not it. A
    # digest, not the bytes: 4,096 remembered messages held 2.8 MB of signed bytes.
    seen = hashlib.sha256(b"%d:%s%s%s" % (len(signed), signed.encode(), pinned.raw, data)).digest()
    if verified is not None and seen in verified:
        return
    # Lower-case hex only, as signed: an upper-cased digit is another message with the same
    # signature, and no byte of a signed message may change without it being refused.
    if signed != signed.lower() or not pinned.verifies(bytes.fromhex(signed), data):
        raise BadSignature(
            f"{_name(message)}: the signature does not verify under the key pinned for"
            f" {message.source} ({pinned.short}): changed after signing, or signed by another"
        )
    if verified is not None:
        verified.add(seen)


def claimed(message: Envelope, pinned: PublicKey) -> Ed25519Signature:
    """``message``'s signature object, if it claims, under the rule above, to be signed by
    ``pinned`` (Ed25519 not run: :func:`check` runs it); raises :class:`Unsigned` or
    :class:`KeyMismatch` otherwise."""
    signature = message.signature
    if signature is None:
        raise Unsigned(f"{_name(message)} carries no signature")
    if not isinstance(signature, Ed25519Signature):
        raise Unsigned(f"{_name(message)} carries a signature string, not a signature object")
    listed = set(signature.signed_fields)
    missing = REQUIRED_FIELDS - listed
    if missing:
        raise Unsigned(
            f"{_name(message)}: signed_fields leaves out {', '.join(sorted(missing))}, so those"
            " could be changed without breaking the signature",
            path="signature.signed_fields",
        )
    uncovered = set(codec.signable_fields(message)) - listed
    if uncovered:
        raise Unsigned(
            f"{_name(message)}: {', '.join(sorted(uncovered))} not covered by the signature",
            path="signature.signed_fields",
        )
    # Text, not bytes: base64's spare bits would let another spelling of the same key pass.
    if signature.public_key != pinned.text:
        raise KeyMismatch(
            f"{_name(message)} is signed by key {signature.public_key[-12:]}, not by the key"
            f" pinned for {message.source} ({pinned.short})",
            path="signature.public_key",
        )
    return signature


def _name(message: Envelope) -> str:
    return f"{message.type} {message.id} from {message.source}"
