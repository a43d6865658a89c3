"""Passphrase-wrapped key files, format `bcmlp-key/2`: the raw 32-byte Ed25519 seed sealed with
XChaCha20-Poly1305 under a key derived from the passphrase by argon2id (libsodium's pwhash).

The file is one canonical JSON object (sorted keys, no white space) and a line break:

    {"aead":"xchacha20poly1305-ietf","ciphertext":HEX,"format":"bcmlp-key/2","kdf":"argon2id",
     "key_id":HEX64,"memlimit":INT,"nonce":HEX48,"opslimit":INT,"salt":HEX32}

`memlimit` is in bytes. Every field but `ciphertext` is the AEAD's associated data, so the KDF
parameters and the key id cannot be changed without the passphrase noticing. The parser is strict
and bounded: exact fields, exact lengths, lower-case hex, KDF parameters between the floor and
ceiling below (a hostile file cannot make an unlock allocate gigabytes or run for minutes).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from nacl.bindings import (
    crypto_aead_xchacha20poly1305_ietf_decrypt,
    crypto_aead_xchacha20poly1305_ietf_encrypt,
    crypto_sign_seed_keypair,
)
from nacl.exceptions import CryptoError
from nacl.pwhash import argon2id
from nacl.utils import random

from bedrock.canonical import EncodingError, canonical, decode
from bedrock.errors import CodedError

FORMAT = "bcmlp-key/2"
KDF = "argon2id"
AEAD = "xchacha20poly1305-ietf"
MiB = 1024 * 1024

# What new files get: libsodium's INTERACTIVE limits (2 passes over 64 MiB), above the OWASP
# Password Storage minimum for argon2id (m = 19 MiB, t = 2, p = 1); about 0.08 s on two cores.
# Every signature in the GUI and the demo unlocks its key, so MODERATE (256 MiB, 0.45 s and a
# 285 MiB peak per unlock) would cost the operator more than it buys against a stolen file.
OPSLIMIT = argon2id.OPSLIMIT_INTERACTIVE
MEMLIMIT = argon2id.MEMLIMIT_INTERACTIVE
# What a file may ask for: never below the OWASP minimum, never above 1 GiB or 10 passes.
OPSLIMIT_FLOOR, OPSLIMIT_CEILING = 2, 10
MEMLIMIT_FLOOR, MEMLIMIT_CEILING = 19 * MiB, 1024 * MiB

SEED_BYTES = 32
SALT_BYTES = argon2id.SALTBYTES  # 16
NONCE_BYTES = 24
TAG_BYTES = 16
MAX_WRAPPED_BYTES = 1024
FIELDS = frozenset(
    {"aead", "ciphertext", "format", "kdf", "key_id", "memlimit", "nonce", "opslimit", "salt"}
)
_HEX = {
    "salt": SALT_BYTES,
    "nonce": NONCE_BYTES,
    "ciphertext": SEED_BYTES + TAG_BYTES,
    "key_id": 32,
}


class WrapError(CodedError):
    """A wrapped key is malformed or out of bounds (one-line reason)."""

    code = "key_file"


class UnwrapFailed(CodedError):
    """The passphrase does not open the wrapped key (or the file was altered)."""

    code = "wrong_passphrase"


@dataclass(frozen=True)
class WrappedKey:
    """The parsed fields of a `bcmlp-key/2` file."""

    key_id: str
    opslimit: int
    memlimit: int
    salt: bytes
    nonce: bytes
    ciphertext: bytes

    def header(self) -> dict[str, object]:
        """Every field but the ciphertext: the AEAD's associated data."""
        return {
            "aead": AEAD,
            "format": FORMAT,
            "kdf": KDF,
            "key_id": self.key_id,
            "memlimit": self.memlimit,
            "nonce": self.nonce.hex(),
            "opslimit": self.opslimit,
            "salt": self.salt.hex(),
        }

    def encode(self) -> bytes:
        return canonical({**self.header(), "ciphertext": self.ciphertext.hex()}) + b"\n"

    @property
    def below_policy(self) -> bool:
        """True when the file's KDF is cheaper than what new files get (it is re-wrapped)."""
        return self.opslimit < OPSLIMIT or self.memlimit < MEMLIMIT


def looks_wrapped(data: bytes) -> bool:
    """True when `data` claims to be this format (a JSON object), not a PEM file."""
    return data.lstrip()[:1] == b"{"


def check_limits(opslimit: int, memlimit: int) -> None:
    if not OPSLIMIT_FLOOR <= opslimit <= OPSLIMIT_CEILING:
        raise WrapError(
            f"argon2id opslimit {opslimit} is outside {OPSLIMIT_FLOOR}..{OPSLIMIT_CEILING}"
        )
    if not MEMLIMIT_FLOOR <= memlimit <= MEMLIMIT_CEILING or memlimit % 1024:
        raise WrapError(
            f"argon2id memlimit {memlimit} is not a whole KiB within "
            f"{MEMLIMIT_FLOOR // MiB}..{MEMLIMIT_CEILING // MiB} MiB"
        )


def parse(data: bytes) -> WrappedKey:
    """The fields of a wrapped key file; WrapError with a one-line reason unless exactly right."""
    if len(data) > MAX_WRAPPED_BYTES:
        raise WrapError(f"{len(data)} bytes is too large for a {FORMAT} key")
    if not data.endswith(b"\n"):
        raise WrapError(f"not a {FORMAT} key (truncated: no final line break)")
    try:
        obj = decode(data[:-1], MAX_WRAPPED_BYTES)
    except EncodingError as exc:
        raise WrapError(f"not a {FORMAT} key ({exc})") from None
    if not isinstance(obj, dict):
        raise WrapError(f"not a {FORMAT} key (not a JSON object)")
    if obj.get("format") != FORMAT:
        raise WrapError(f"unsupported key file format {str(obj.get('format'))[:40]!r}")
    if set(obj) != FIELDS:
        missing, extra = sorted(FIELDS - set(obj)), sorted(set(obj) - FIELDS)
        raise WrapError(f"{FORMAT} key has missing {missing} or unknown {extra[:5]} fields")
    if obj["kdf"] != KDF or obj["aead"] != AEAD:
        raise WrapError(f"{FORMAT} key must use {KDF} and {AEAD}")
    ops, mem = obj["opslimit"], obj["memlimit"]
    if type(ops) is not int or type(mem) is not int:
        raise WrapError(f"{FORMAT} key has non-integer KDF limits")
    check_limits(ops, mem)
    raw: dict[str, bytes] = {}
    for name, size in _HEX.items():
        value = obj[name]
        if not isinstance(value, str) or not re.fullmatch(f"[0-9a-f]{{{2 * size}}}", value):
            raise WrapError(f"{FORMAT} key field {name} must be {size} bytes of lower-case hex")
        raw[name] = bytes.fromhex(value)
    return WrappedKey(
        key_id=obj["key_id"],
        opslimit=ops,
        memlimit=mem,
        salt=raw["salt"],
        nonce=raw["nonce"],
        ciphertext=raw["ciphertext"],
    )


def passphrase_bytes(passphrase: str) -> bytes:
    """UTF-8 of the passphrase; ValueError for text that has none (lone surrogates)."""
    try:
        return passphrase.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("the passphrase is not valid Unicode text") from None


def _derive(passphrase: str, salt: bytes, opslimit: int, memlimit: int) -> bytes:
    pw = passphrase_bytes(passphrase)
    return argon2id.kdf(32, pw, salt, opslimit=opslimit, memlimit=memlimit)


def _key_id(seed: bytes) -> str:
    public, _ = crypto_sign_seed_keypair(seed)
    return hashlib.sha256(public).hexdigest()


def wrap(seed: bytes, passphrase: str, opslimit: int = OPSLIMIT, memlimit: int = MEMLIMIT) -> bytes:
    """The file bytes of `seed` sealed under `passphrase` (a fresh salt and nonce each time)."""
    if len(seed) != SEED_BYTES:
        raise ValueError("an Ed25519 seed has 32 bytes")
    if not passphrase:
        raise ValueError("the passphrase must not be empty")
    check_limits(opslimit, memlimit)
    salt, nonce = random(SALT_BYTES), random(NONCE_BYTES)
    draft = WrappedKey(_key_id(seed), opslimit, memlimit, salt, nonce, b"")
    key = _derive(passphrase, draft.salt, opslimit, memlimit)
    sealed = crypto_aead_xchacha20poly1305_ietf_encrypt(
        seed, canonical(draft.header()), draft.nonce, key
    )
    return WrappedKey(**{**draft.__dict__, "ciphertext": sealed}).encode()


def unwrap(wrapped: WrappedKey, passphrase: str) -> bytes:
    """The 32-byte seed; UnwrapFailed on a wrong passphrase or an altered file."""
    try:
        key = _derive(passphrase, wrapped.salt, wrapped.opslimit, wrapped.memlimit)
    except ValueError:  # no UTF-8 form: it cannot be the passphrase the file was written with
        raise UnwrapFailed("wrong passphrase") from None
    try:
        seed = crypto_aead_xchacha20poly1305_ietf_decrypt(
            wrapped.ciphertext, canonical(wrapped.header()), wrapped.nonce, key
        )
    except CryptoError:
        raise UnwrapFailed("wrong passphrase") from None
    if len(seed) != SEED_BYTES or _key_id(seed) != wrapped.key_id:
        raise WrapError(f"{FORMAT} key holds a key that does not match its key id")
    return seed
