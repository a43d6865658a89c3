"""Ed25519 key pairs: generation, key ids, and PKCS#8 key files encrypted at rest."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from bedrock.atomic import write_bytes_atomic
from bedrock.errors import CodedError

MAX_KEY_FILE_BYTES = 64 * 1024


class KeyFileError(CodedError):
    """A key file is missing, malformed, or not an Ed25519 private key."""

    code = "key_file"


class WrongPassphrase(KeyFileError):
    """The passphrase does not decrypt the key file."""

    code = "wrong_passphrase"


def key_id(public_raw: bytes) -> str:
    """Key id = hex SHA-256 of the raw 32-byte public key (docs/design.md section 3)."""
    if len(public_raw) != 32:
        raise ValueError("an Ed25519 public key has 32 bytes")
    return hashlib.sha256(public_raw).hexdigest()


@dataclass(frozen=True)
class KeyPair:
    """An Ed25519 private key with its raw public key and key id."""

    private: Ed25519PrivateKey

    @classmethod
    def generate(cls) -> KeyPair:
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def from_seed(cls, seed: bytes) -> KeyPair:
        return cls(Ed25519PrivateKey.from_private_bytes(seed))

    @property
    def public_raw(self) -> bytes:
        return self.private.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )

    @property
    def seed(self) -> bytes:
        return self.private.private_bytes(
            serialization.Encoding.Raw,
            serialization.PrivateFormat.Raw,
            serialization.NoEncryption(),
        )

    @property
    def key_id(self) -> str:
        return key_id(self.public_raw)

    def sign(self, message: bytes) -> bytes:
        return self.private.sign(message)


def verify_raw(public_raw: bytes, signature: bytes, message: bytes) -> bool:
    """True when `signature` is a valid Ed25519 signature of `message` by `public_raw`."""
    try:
        Ed25519PublicKey.from_public_bytes(public_raw).verify(signature, message)
    except (InvalidSignature, ValueError):
        return False
    return True


def encrypt_private_key(pair: KeyPair, passphrase: str | None) -> bytes:
    """PKCS#8 PEM, encrypted with the best available scheme, or plain when passphrase is None."""
    if passphrase is None:
        algorithm: serialization.KeySerializationEncryption = serialization.NoEncryption()
    else:
        if not passphrase:
            raise ValueError("the passphrase must not be empty")
        algorithm = serialization.BestAvailableEncryption(passphrase.encode("utf-8"))
    return pair.private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, algorithm
    )


def write_private_key(path: Path, pair: KeyPair, passphrase: str | None) -> None:
    """Write the key file atomically with mode 0600 (owner read/write only)."""
    data = encrypt_private_key(pair, passphrase)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_bytes_atomic(path, data, 0o600)


def read_private_key(path: Path, passphrase: str | None) -> KeyPair:
    """Load a key file; raises WrongPassphrase or KeyFileError with a one-line reason."""
    try:
        if path.stat().st_size > MAX_KEY_FILE_BYTES:
            raise KeyFileError(f"key file {path} is too large to be a key")
        data = path.read_bytes()
    except FileNotFoundError:
        raise KeyFileError(f"key file {path} does not exist") from None
    except OSError as exc:
        raise KeyFileError(f"cannot read key file {path}: {exc.strerror}") from None
    encrypted = b"ENCRYPTED" in data
    if encrypted and not passphrase:
        raise WrongPassphrase(f"key file {path} is encrypted: a passphrase is needed")
    pw = passphrase.encode("utf-8") if (encrypted and passphrase) else None
    try:
        key = serialization.load_pem_private_key(data, password=pw)
    except ValueError as exc:
        if encrypted:
            raise WrongPassphrase(f"wrong passphrase for key file {path}") from None
        raise KeyFileError(f"key file {path} is not a valid PKCS#8 key: {exc}") from None
    except TypeError:
        raise KeyFileError(f"key file {path} is not a valid PKCS#8 key") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise KeyFileError(f"key file {path} does not hold an Ed25519 key")
    return KeyPair(key)
