"""The hot signature path on PyNaCl (libsodium): signing, verification, and a verified-hash cache.

Same Ed25519 signatures as `keys.py` (cryptography), about twice the verification rate here.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict

from nacl.bindings import crypto_sign, crypto_sign_open, crypto_sign_seed_keypair
from nacl.exceptions import BadSignatureError, CryptoError

from ledger_core.crypto.keys import KeyPair, key_id


class Signer:
    """An Ed25519 signing key held as a libsodium secret key."""

    def __init__(self, seed: bytes) -> None:
        if len(seed) != 32:
            raise ValueError("an Ed25519 seed has 32 bytes")
        self.public_raw, self._sk = crypto_sign_seed_keypair(seed)
        self.key_id = key_id(self.public_raw)

    @classmethod
    def from_keypair(cls, pair: KeyPair) -> Signer:
        return cls(pair.seed)

    def sign(self, message: bytes) -> bytes:
        return crypto_sign(message, self._sk)[:64]


def verify(public_raw: bytes, signature: bytes, message: bytes) -> bool:
    if len(public_raw) != 32 or len(signature) != 64:
        return False
    try:
        crypto_sign_open(signature + message, public_raw)
    except (BadSignatureError, CryptoError, ValueError, TypeError):
        return False
    return True


def signature_key(public_raw: bytes, signature: bytes, message: bytes) -> str:
    """The verified-cache id of one (key, signature, message) triple (fixed-size key and
    signature first, so no two triples share an id)."""
    return hashlib.sha256(public_raw + signature + message).hexdigest()


def verified_hashes(jobs: list[tuple[str, bytes, bytes, bytes]]) -> list[str]:
    """The ids of the (id, public key, signature, message) jobs whose signature verifies
    (run in worker processes by chain verification)."""
    return [h for h, pub, sig, msg in jobs if verify(pub, sig, msg)]


class VerifiedCache:
    """Hashes of items whose signatures already verified, bounded, oldest evicted first."""

    def __init__(self, capacity: int = 200_000) -> None:
        self.capacity = capacity
        self._items: OrderedDict[str, None] = OrderedDict()

    def __contains__(self, h: str) -> bool:
        return h in self._items

    def add(self, h: str) -> None:
        self._items[h] = None
        if len(self._items) > self.capacity:
            self._items.popitem(last=False)

    def __len__(self) -> int:
        return len(self._items)
