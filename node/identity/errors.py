"""Typed refusals of identity: why a message, a key or a pair was not trusted.

A refused message is a :class:`SignatureRefused` (a :class:`~ifmesh.node.errors.ProtocolError`
at ``signature``): dropped, counted by its ``code``, never folded; the peer stays connected.
A key the branch shows that cannot be trusted is a :class:`KeyConflict` or a
:class:`BadRotation`; a pair whose signed fingerprint fails is :class:`PairRefused`.
"""

from __future__ import annotations

from ifmesh.node.errors import ConfigError, IfmeshError, ProtocolError, TransportError

__all__ = [
    "BadRotation",
    "BadSignature",
    "IdentityError",
    "KeyConflict",
    "KeyFileProblem",
    "KeyMismatch",
    "KeyNotPinned",
    "OperatorKeyNotPinned",
    "PairRefused",
    "SignatureRefused",
    "Unsigned",
]


class SignatureRefused(ProtocolError):
    """An event whose signature cannot be trusted; ``code`` says why."""

    code = "signature_refused"

    def __init__(self, reason: str, *, path: str = "signature") -> None:
        super().__init__(reason, path=path)


class Unsigned(SignatureRefused):
    """No signature, or one that leaves a field out (``signed_fields`` too short)."""

    code = "unsigned"


class BadSignature(SignatureRefused):
    """The signature does not verify under the session's pinned key: the message was changed
    after signing, or signed by someone else."""

    code = "bad_signature"


class KeyNotPinned(SignatureRefused):
    """Signed by a key no pin names for its source (yet): held while the branch is fetched."""

    code = "key_not_pinned"


class OperatorKeyNotPinned(SignatureRefused):
    """An operator-role peer's event signed by a key that is not among this node's operator
    keys (``operator_keys`` in its local configuration): refused at once, never held, since no
    fetch of the branch can pin an operator key."""

    code = "operator_key_not_pinned"


class KeyMismatch(SignatureRefused):
    """Signed by another key than the one pinned for its source, and no rotation says so."""

    code = "key_mismatch"


class IdentityError(IfmeshError):
    code = "identity_error"


class KeyConflict(IdentityError):
    """The branch shows a key for a session that differs from its pinned key, without a valid
    rotation record or operator override."""

    code = "key_conflict"


class BadRotation(IdentityError):
    """A rotation record that does not verify: wrong signer, wrong keys, or a bad signature."""

    code = "bad_rotation"


class KeyFileProblem(ConfigError):
    """This session's key file cannot be used (unreadable, not a key, readable by others)."""

    code = "key_file"


class PairRefused(TransportError):
    """An offer or answer whose signed DTLS fingerprint does not verify: no ICE is started."""

    code = "pair_refused"
