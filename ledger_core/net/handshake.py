"""Mutual authentication bound to Ed25519 node keys: a SIGMA-style X25519 key exchange.

Sans-I/O: the ``Handshake`` state machine takes frame bodies in and gives frame bodies out (the
secure channel in ``channel.py`` does the framing). Three messages:

1. initiator -> responder: ``0x01 | e_i (32, X25519 ephemeral) | chain_id (ASCII)``
2. responder -> initiator: ``e_r (32) | AEAD(k_r2i, static_r (32) | sig_r (64), ad=h1)``
3. initiator -> responder: ``AEAD(k_i2r, static_i (32) | sig_i (64), ad=h2)``

with ``h0 = SHA256(PROTOCOL || chain_id)``, ``h1 = SHA256(h0 | msg1 | e_r)``,
``h2 = SHA256(h1 | msg2)``, ``h3 = SHA256(h2 | msg3)``, handshake keys from
HKDF-SHA256(ikm=X25519(e_i, e_r), salt=h1) and each signature over
``signing_bytes(DOMAIN_HANDSHAKE, chain_id, {"role", "transcript": hex(h), "key": hex(static)})``.
A signature therefore covers both ephemeral keys, the role and the chain id: it cannot be replayed
into another session, reflected, or used for another chain. The transport keys (one per
direction) come from HKDF-SHA256(ikm=shared secret, salt=h3) and are used by ``CipherState``:
ChaCha20-Poly1305 with the 64-bit frame counter as the nonce, so a replayed, reordered, dropped
or tampered frame fails to decrypt (``ProtocolError("decrypt_failed")``).

Interface:
- ``Handshake(role, keys, chain_id, is_authorized, expected_key_id=None)`` where ``role`` is
  ``"initiator"`` or ``"responder"``, ``keys`` a ``ledger_core.crypto.keys.KeyPair``, and
  ``is_authorized(key_id) -> bool`` decides whether the authenticated peer may connect (unknown
  or revoked keys: False). ``expected_key_id`` (outbound dials to a known node) must also match.
- ``start() -> bytes | None``: the first message (initiator) or None (responder).
- ``receive(body) -> bytes | None``: processes one handshake message and returns the reply, if
  any; raises ``HandshakeError`` (a ``ProtocolError``) with a reason code on any failure.
- ``complete`` / ``result``: a ``HandshakeResult(peer_key_id, peer_public, send, recv)`` with the
  two ``CipherState`` objects.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from ledger_core.crypto.domains import DOMAIN_HANDSHAKE, signing_bytes
from ledger_core.crypto.keys import KeyPair, key_id, verify_raw
from ledger_core.net.errors import ProtocolError

PROTOCOL = b"bcmlp/net/v1 X25519 Ed25519 HKDF-SHA256 ChaCha20-Poly1305"
VERSION = 1
TAG_BYTES = 16
MAX_CHAIN_ID = 128
# Largest handshake message (message 1 with the longest chain id; message 2 has 144 bytes); the
# channel uses it as the frame limit until the handshake is over, so garbage cannot make it
# buffer megabytes.
MAX_HANDSHAKE_FRAME = 1 + 32 + MAX_CHAIN_ID
_IDENTITY_BYTES = 32 + 64
_MAX_COUNTER = 2**64 - 1

IsAuthorized = Callable[[str], bool]


class HandshakeError(ProtocolError):
    """The handshake failed; ``code`` says why."""


class CipherState:
    """One direction of an established channel: ChaCha20-Poly1305, nonce = frame counter."""

    def __init__(self, key: bytes) -> None:
        self._aead = ChaCha20Poly1305(key)
        self.counter = 0

    def _nonce(self) -> bytes:
        if self.counter >= _MAX_COUNTER:
            raise ProtocolError("nonce_exhausted", "2^64 - 1 frames sent on one key")
        return b"\x00\x00\x00\x00" + self.counter.to_bytes(8, "big")

    def encrypt(self, plaintext: bytes, ad: bytes = b"") -> bytes:
        out = self._aead.encrypt(self._nonce(), plaintext, ad)
        self.counter += 1
        return out

    def decrypt(self, ciphertext: bytes, ad: bytes = b"") -> bytes:
        try:
            out = self._aead.decrypt(self._nonce(), ciphertext, ad)
        except InvalidTag:
            raise ProtocolError(
                "decrypt_failed", f"frame {self.counter} failed authentication"
            ) from None
        self.counter += 1
        return out


@dataclass(frozen=True)
class HandshakeResult:
    peer_key_id: str
    peer_public: bytes
    send: CipherState
    recv: CipherState


def _h(*parts: bytes) -> bytes:
    d = hashlib.sha256()
    for p in parts:
        d.update(p)
    return d.digest()


def _hkdf(secret: bytes, salt: bytes, info: bytes) -> tuple[bytes, bytes]:
    okm = HKDF(algorithm=hashes.SHA256(), length=64, salt=salt, info=info).derive(secret)
    return okm[:32], okm[32:]


def _raw(pub: X25519PublicKey) -> bytes:
    return pub.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


class Handshake:
    """The handshake state machine for one connection (see the module docstring)."""

    def __init__(
        self,
        role: str,
        keys: KeyPair,
        chain_id: str,
        is_authorized: IsAuthorized,
        expected_key_id: str | None = None,
    ) -> None:
        if role not in ("initiator", "responder"):
            raise ValueError("role must be 'initiator' or 'responder'")
        cid = chain_id.encode("ascii")
        if not 0 < len(cid) <= MAX_CHAIN_ID:
            raise ValueError(f"chain id must have 1 to {MAX_CHAIN_ID} ASCII characters")
        self.role = role
        self._keys = keys
        self._chain_id = chain_id
        self._cid = cid
        self._is_authorized = is_authorized
        self._expected = expected_key_id
        self._eph = X25519PrivateKey.generate()
        self._h = _h(PROTOCOL, b"\x00", cid)
        self._state = "start" if role == "initiator" else "wait_msg1"
        self._secret = b""
        self._k_i2r: CipherState | None = None
        self._k_r2i: CipherState | None = None
        self.result: HandshakeResult | None = None

    @property
    def complete(self) -> bool:
        return self.result is not None

    # -- shared helpers ------------------------------------------------------------------------

    def _signed_identity(self, role: str, transcript: bytes) -> bytes:
        body = {"role": role, "transcript": transcript.hex(), "key": self._keys.public_raw.hex()}
        sig = self._keys.sign(signing_bytes(DOMAIN_HANDSHAKE, self._chain_id, body))
        return self._keys.public_raw + sig

    def _check_identity(self, role: str, transcript: bytes, plaintext: bytes) -> tuple[str, bytes]:
        if len(plaintext) != _IDENTITY_BYTES:
            raise HandshakeError("bad_message", "identity block has the wrong length")
        public, sig = plaintext[:32], plaintext[32:]
        body = {"role": role, "transcript": transcript.hex(), "key": public.hex()}
        if not verify_raw(public, sig, signing_bytes(DOMAIN_HANDSHAKE, self._chain_id, body)):
            raise HandshakeError("bad_signature", f"the {role}'s handshake signature is invalid")
        kid = key_id(public)
        if kid == self._keys.key_id:
            raise HandshakeError("unexpected_key", "the peer presented our own node key")
        if self._expected is not None and kid != self._expected:
            raise HandshakeError(
                "unexpected_key", f"expected node key {self._expected[:16]}, got {kid[:16]}"
            )
        if not self._is_authorized(kid):
            raise HandshakeError("unauthorized", f"node key {kid[:16]} is not authorized")
        return kid, public

    def _exchange(self, peer_eph: bytes, salt: bytes) -> None:
        try:
            self._secret = self._eph.exchange(X25519PublicKey.from_public_bytes(peer_eph))
        except ValueError:
            raise HandshakeError("bad_key", "invalid X25519 ephemeral key") from None
        k_i2r, k_r2i = _hkdf(self._secret, salt, b"bcmlp/handshake-keys/v1")
        self._k_i2r, self._k_r2i = CipherState(k_i2r), CipherState(k_r2i)

    def _finish(self, peer_key_id: str, peer_public: bytes) -> None:
        k_i2r, k_r2i = _hkdf(self._secret, self._h, b"bcmlp/transport-keys/v1")
        i2r, r2i = CipherState(k_i2r), CipherState(k_r2i)
        send, recv = (i2r, r2i) if self.role == "initiator" else (r2i, i2r)
        self.result = HandshakeResult(peer_key_id, peer_public, send, recv)
        self._state = "done"
        self._secret = b""

    # -- the state machine ---------------------------------------------------------------------

    def start(self) -> bytes | None:
        if self.role == "responder":
            return None
        if self._state != "start":
            raise HandshakeError("unexpected_message", "handshake already started")
        msg1 = bytes([VERSION]) + _raw(self._eph.public_key()) + self._cid
        self._msg1 = msg1
        self._state = "wait_msg2"
        return msg1

    def receive(self, body: bytes) -> bytes | None:
        state = self._state
        if state == "wait_msg1":
            return self._on_msg1(body)
        if state == "wait_msg2":
            return self._on_msg2(body)
        if state == "wait_msg3":
            return self._on_msg3(body)
        raise HandshakeError("unexpected_message", f"no handshake message expected ({state})")

    def _on_msg1(self, msg1: bytes) -> bytes:
        if len(msg1) < 1 + 32 + 1:
            raise HandshakeError("bad_message", "handshake hello is too short")
        if msg1[0] != VERSION:
            raise HandshakeError("wrong_version", f"protocol version {msg1[0]} is not {VERSION}")
        if msg1[33:] != self._cid:
            raise HandshakeError("wrong_chain", "the peer belongs to another chain")
        e_r = _raw(self._eph.public_key())
        self._h = _h(self._h, msg1, e_r)
        self._exchange(msg1[1:33], self._h)
        assert self._k_r2i is not None
        msg2 = e_r + self._k_r2i.encrypt(self._signed_identity("responder", self._h), self._h)
        self._h = _h(self._h, msg2)
        self._state = "wait_msg3"
        return msg2

    def _on_msg2(self, msg2: bytes) -> bytes:
        if len(msg2) != 32 + _IDENTITY_BYTES + TAG_BYTES:
            raise HandshakeError("bad_message", "handshake reply has the wrong length")
        e_r = msg2[:32]
        self._h = _h(self._h, self._msg1, e_r)
        self._exchange(e_r, self._h)
        assert self._k_r2i is not None and self._k_i2r is not None
        try:
            identity = self._k_r2i.decrypt(msg2[32:], self._h)
        except ProtocolError:
            raise HandshakeError(
                "decrypt_failed", "handshake reply failed authentication"
            ) from None
        peer = self._check_identity("responder", self._h, identity)
        self._h = _h(self._h, msg2)
        msg3 = self._k_i2r.encrypt(self._signed_identity("initiator", self._h), self._h)
        self._h = _h(self._h, msg3)
        self._finish(*peer)
        return msg3

    def _on_msg3(self, msg3: bytes) -> None:
        if len(msg3) != _IDENTITY_BYTES + TAG_BYTES:
            raise HandshakeError("bad_message", "handshake finish has the wrong length")
        assert self._k_i2r is not None
        try:
            identity = self._k_i2r.decrypt(msg3, self._h)
        except ProtocolError:
            raise HandshakeError(
                "decrypt_failed", "handshake finish failed authentication"
            ) from None
        peer = self._check_identity("initiator", self._h, identity)
        self._h = _h(self._h, msg3)
        self._finish(*peer)
        return None
