"""Ed25519 key pairs: generation, key ids, and key files.

A key file with a passphrase is `bcmlp-key/2` (argon2id + XChaCha20-Poly1305, see key_wrap); one
without (an unattended node's key, mode 0600) is a plain PKCS#8 PEM. Files of the old scheme (PKCS#8
encrypted with cryptography's BestAvailableEncryption: PBKDF2-SHA256, 2,048 iterations) still open
and are re-written as `bcmlp-key/2` on their first successful unlock, as are `bcmlp-key/2` files
whose KDF limits are below what new files get.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from bedrock.atomic import write_bytes_atomic
from bedrock.errors import CodedError
from ledger_core.crypto import key_wrap

MAX_KEY_FILE_BYTES = 64 * 1024
LEGACY_MARK = b"-----BEGIN ENCRYPTED PRIVATE KEY-----"
log = logging.getLogger("bcmlp.keys")


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
    """`bcmlp-key/2` bytes under `passphrase`, or a plain PKCS#8 PEM when passphrase is None."""
    if passphrase is None:
        return pair.private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    if not passphrase:
        raise ValueError("the passphrase must not be empty")
    return key_wrap.wrap(pair.seed, passphrase)


def write_private_key(path: Path, pair: KeyPair, passphrase: str | None) -> None:
    """Write the key file atomically with mode 0600 (owner read/write only)."""
    data = encrypt_private_key(pair, passphrase)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_bytes_atomic(path, data, 0o600)


def key_file_format(path: Path) -> str:
    """The scheme of a key file, read without a passphrase: "bcmlp-key/2", "pkcs8-pbkdf2" (the old
    encrypted PKCS#8), "pkcs8-plain"; KeyFileError when unreadable."""
    data = _read_bounded(path)
    if key_wrap.looks_wrapped(data):
        return key_wrap.FORMAT
    return "pkcs8-pbkdf2" if LEGACY_MARK in data else "pkcs8-plain"


def _read_bounded(path: Path) -> bytes:
    try:
        if path.stat().st_size > MAX_KEY_FILE_BYTES:
            raise KeyFileError(f"key file {path} is too large to be a key")
        with path.open("rb") as fh:
            data = fh.read(MAX_KEY_FILE_BYTES + 1)
    except FileNotFoundError:
        raise KeyFileError(f"key file {path} does not exist") from None
    except OSError as exc:
        raise KeyFileError(f"cannot read key file {path}: {exc.strerror}") from None
    if len(data) > MAX_KEY_FILE_BYTES:
        raise KeyFileError(f"key file {path} is too large to be a key")
    return data


def _open_wrapped(path: Path, data: bytes, passphrase: str | None) -> tuple[KeyPair, bool]:
    try:
        wrapped = key_wrap.parse(data)
    except key_wrap.WrapError as exc:
        raise KeyFileError(f"key file {path}: {exc}") from None
    if not passphrase:
        raise WrongPassphrase(f"key file {path} is encrypted: a passphrase is needed")
    try:
        seed = key_wrap.unwrap(wrapped, passphrase)
    except key_wrap.UnwrapFailed:
        raise WrongPassphrase(f"wrong passphrase for key file {path}") from None
    except key_wrap.WrapError as exc:
        raise KeyFileError(f"key file {path}: {exc}") from None
    return KeyPair.from_seed(seed), wrapped.below_policy


def _open_pem(path: Path, data: bytes, passphrase: str | None) -> tuple[KeyPair, bool]:
    encrypted = LEGACY_MARK in data
    if encrypted and not passphrase:
        raise WrongPassphrase(f"key file {path} is encrypted: a passphrase is needed")
    try:
        pw = key_wrap.passphrase_bytes(passphrase) if (encrypted and passphrase) else None
        key = serialization.load_pem_private_key(data, password=pw)
    except ValueError as exc:
        if encrypted:
            raise WrongPassphrase(f"wrong passphrase for key file {path}") from None
        reason = str(exc).splitlines()[0][:120] if str(exc) else "unreadable"
        raise KeyFileError(f"key file {path} is not a valid PKCS#8 key: {reason}") from None
    except (TypeError, UnsupportedAlgorithm):
        raise KeyFileError(f"key file {path} is not a valid PKCS#8 key") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise KeyFileError(f"key file {path} does not hold an Ed25519 key")
    return KeyPair(key), encrypted


def _rewrap(path: Path, pair: KeyPair, passphrase: str, old: str) -> None:
    """Re-write an unlocked key file as `bcmlp-key/2`; a failure is logged, the unlock stands."""
    try:
        write_private_key(path, pair, passphrase)
    except OSError as exc:
        log.warning("key file %s stays in %s: cannot rewrite it (%s)", path, old, exc.strerror)
        return
    log.info(
        "key file %s (key %s) migrated from %s to %s (argon2id, opslimit %d, memlimit %d MiB)",
        path, pair.key_id[:16], old, key_wrap.FORMAT, key_wrap.OPSLIMIT,
        key_wrap.MEMLIMIT // key_wrap.MiB,
    )


def read_private_key(path: Path, passphrase: str | None, migrate: bool = True) -> KeyPair:
    """Load a key file; raises WrongPassphrase or KeyFileError with a one-line reason.

    With `migrate`, a file opened with a passphrase under the old PBKDF2 scheme (or under argon2id
    limits below today's) is re-written atomically, mode 0600, as `bcmlp-key/2`."""
    data = _read_bounded(path)
    if key_wrap.looks_wrapped(data):
        pair, weak = _open_wrapped(path, data, passphrase)
        old = "weaker argon2id limits"
    else:
        pair, weak = _open_pem(path, data, passphrase)
        old = "PKCS#8 PBKDF2 encryption"
    if weak and migrate and passphrase:
        _rewrap(path, pair, passphrase, old)
    return pair
