"""Ed25519 keys: this session's key pair in its state directory, and public keys as text.

The private key is ``identity.key`` in the state directory: PKCS#8 PEM, unencrypted (the node
signs every event unattended), created on first start with mode 0600 in one ``open`` with
``O_EXCL``, so no other process ever sees a partly written or wider-open file. A key file that
others can read is refused, as ssh refuses one: anyone who read it can speak for the session.

A public key travels as base64 of its SubjectPublicKeyInfo DER (``MCowBQYDK2VwAyEA…``, 60
characters): in a signature's ``public_key``, in ``.ifmesh/keys/<session>.pub`` and in an
operator key pinned in a node's configuration. The origin's raw hex key (64 hex digits) is read
too, so its signed messages can be compared key for key.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
    load_pem_private_key,
)

from ifmesh.node.identity.errors import KeyFileProblem

KEY_FILE = "identity.key"
# The 12 bytes of DER in front of the 32 key bytes in every Ed25519 SubjectPublicKeyInfo
# (RFC 8410, section 4): base64 of them is the fixed prefix "MCowBQYDK2VwAyEA".
SPKI_PREFIX = bytes.fromhex("302a300506032b6570032100")
SPKI_TEXT_LENGTH = 60


@dataclass(frozen=True)
class PublicKey:
    """A public key as raw bytes, with its text form and a verifier built once."""

    raw: bytes
    text: str  # base64 SPKI DER
    key: Ed25519PublicKey

    @classmethod
    def from_raw(cls, raw: bytes) -> PublicKey:
        key = Ed25519PublicKey.from_public_bytes(raw)
        return cls(raw, base64.b64encode(SPKI_PREFIX + raw).decode("ascii"), key)

    @property
    def short(self) -> str:
        """A short name for logs and status: the first 12 hex digits of SHA-256 of the key."""
        return hashlib.sha256(self.raw).hexdigest()[:12]

    def verifies(self, signature: bytes, data: bytes) -> bool:
        try:
            self.key.verify(signature, data)
        except InvalidSignature:
            return False
        return True


def raw_public_key(text: str) -> bytes | None:
    """The 32 key bytes of base64 SPKI DER, or of the origin's 64 hex digits; None otherwise."""
    text = text.strip()
    if len(text) == 64:
        try:
            return bytes.fromhex(text)
        except ValueError:
            return None
    if len(text) != SPKI_TEXT_LENGTH:
        return None
    try:
        der = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None
    if len(der) != len(SPKI_PREFIX) + 32 or not der.startswith(SPKI_PREFIX):
        return None
    return der[len(SPKI_PREFIX) :]


def parse_public_key(text: str) -> PublicKey | None:
    raw = raw_public_key(text)
    return PublicKey.from_raw(raw) if raw is not None else None


@dataclass(frozen=True)
class SessionKey:
    """A private key and its public half (this session's, or an operator's)."""

    private: Ed25519PrivateKey
    public: PublicKey

    @classmethod
    def generate(cls) -> SessionKey:
        return cls.from_private(Ed25519PrivateKey.generate())

    @classmethod
    def from_private(cls, private: Ed25519PrivateKey) -> SessionKey:
        raw = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        return cls(private, PublicKey.from_raw(raw))

    def sign(self, data: bytes) -> bytes:
        return self.private.sign(data)

    def pem(self) -> bytes:
        return self.private.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())


def key_path(state_dir: Path) -> Path:
    return state_dir / KEY_FILE


def load_or_create(state_dir: Path) -> SessionKey:
    """This session's key: read from the state directory, or made there on first start."""
    path = key_path(state_dir)
    if path.exists():
        return load_key_file(path)
    state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = SessionKey.generate()
    write_key_file(path, key)
    return key


def write_key_file(path: Path, key: SessionKey) -> None:
    """Writes a new key file, mode 0600 from its creation; an existing file is never replaced."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise KeyFileProblem(f"{path} exists already; it is never overwritten") from None
    with os.fdopen(fd, "wb") as file:
        file.write(key.pem())
        file.flush()
        os.fsync(file.fileno())


def load_key_file(path: Path) -> SessionKey:
    """A private key file (PKCS#8 PEM, Ed25519, mode 0600 or stricter)."""
    try:
        mode = path.stat().st_mode
        data = path.read_bytes()
    except OSError as exc:
        raise KeyFileProblem(f"cannot read the key file {path}: {exc.strerror}") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise KeyFileProblem(
            f"{path} is readable by others (mode {stat.S_IMODE(mode):o}): anyone who read it can"
            f" sign as this session. Run `chmod 600 {path}`, and rotate the key"
            " (`ifmesh keys rotate`) if others may have read it"
        )
    try:
        private = load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise KeyFileProblem(f"{path} is not an unencrypted PEM private key: {exc}") from None
    if not isinstance(private, Ed25519PrivateKey):
        raise KeyFileProblem(f"{path} holds a {type(private).__name__}, not an Ed25519 key")
    return SessionKey.from_private(private)
