"""Consensus messages (proposal, prevote, precommit): signed bodies and a strict wire codec.

Signed bodies (what the Ed25519 signature covers, through
`encoding.signing_bytes(DOMAIN_PROPOSAL or DOMAIN_VOTE, chain_id, body)`):

    {"type": "proposal", "height": H, "round": R, "block_id": B, "valid_round": VR}
    {"type": "prevote" | "precommit", "height": H, "round": R, "block_id": B or null}

On the wire a message is one canonical JSON object: the body plus "chain_id",
"validator" (key id, 64 hex), "signature" (128 hex) and, for a proposal, "payload"
(the opaque value; not signed: the caller's `valid` callback must check that the
block id commits to it).
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from nacl.exceptions import BadSignatureError
from nacl.signing import VerifyKey

from bedrock.canonical import EncodingError, canonical, decode
from bedrock.errors import CodedError
from ledger_core.crypto.domains import DOMAIN_PROPOSAL, DOMAIN_VOTE, signing_bytes

PROPOSAL = "proposal"
PREVOTE = "prevote"
PRECOMMIT = "precommit"
VOTE_TYPES = (PREVOTE, PRECOMMIT)
# Order of the steps inside one round, used by the double-sign guard.
STEP_ORDER = {PROPOSAL: 1, PREVOTE: 2, PRECOMMIT: 3}

MAX_HEIGHT = 2**62
MAX_ROUND = 2**31 - 1
MAX_BLOCK_ID_CHARS = 128
DEFAULT_MAX_MESSAGE_BYTES = 4 * 1024 * 1024
_HEX = frozenset("0123456789abcdef")

_VOTE_KEYS = frozenset(
    {"chain_id", "type", "height", "round", "block_id", "validator", "signature"}
)
_PROPOSAL_KEYS = _VOTE_KEYS | {"valid_round", "payload"}


class MessageError(CodedError, ValueError):
    """A message that must be dropped. `code` is a stable reason code for peer scoring."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message, code=code)


def is_block_id(value: object) -> bool:
    """A block id is lowercase hex of even length, 2 to 128 characters."""
    return (
        type(value) is str
        and 2 <= len(value) <= MAX_BLOCK_ID_CHARS
        and len(value) % 2 == 0
        and _HEX.issuperset(value)
    )


@dataclass(frozen=True, slots=True)
class Value:
    """What consensus decides on: an opaque block id and the opaque payload it names."""

    block_id: str
    payload: Any = None


@dataclass(frozen=True, slots=True)
class Proposal:
    height: int
    round: int
    block_id: str
    valid_round: int

    @property
    def type(self) -> str:
        return PROPOSAL

    def body(self) -> dict[str, Any]:
        return {
            "type": PROPOSAL,
            "height": self.height,
            "round": self.round,
            "block_id": self.block_id,
            "valid_round": self.valid_round,
        }


@dataclass(frozen=True, slots=True)
class Vote:
    type: str
    height: int
    round: int
    block_id: str | None

    def body(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "height": self.height,
            "round": self.round,
            "block_id": self.block_id,
        }


Body = Proposal | Vote


def sign_bytes(chain_id: str, body: Body) -> bytes:
    domain = DOMAIN_PROPOSAL if body.type == PROPOSAL else DOMAIN_VOTE
    return signing_bytes(domain, chain_id, body.body())


@dataclass(frozen=True, slots=True)
class Signed:
    """A proposal or vote with its signer's key id and signature (and, for a proposal, the payload)."""

    chain_id: str
    body: Body
    validator: str
    signature: bytes
    payload: Any = None

    @property
    def type(self) -> str:
        return self.body.type

    @property
    def height(self) -> int:
        return self.body.height

    @property
    def round(self) -> int:
        return self.body.round

    @property
    def block_id(self) -> str | None:
        return self.body.block_id

    @property
    def value(self) -> Value:
        """The proposed value (proposals only)."""
        assert self.body.block_id is not None
        return Value(self.body.block_id, self.payload)

    def sign_bytes(self) -> bytes:
        return sign_bytes(self.chain_id, self.body)

    def to_wire(self) -> dict[str, Any]:
        d = self.body.body()
        d["chain_id"] = self.chain_id
        d["validator"] = self.validator
        d["signature"] = self.signature.hex()
        if self.body.type == PROPOSAL:
            d["payload"] = self.payload
        return d

    def encode(self) -> bytes:
        return canonical(self.to_wire())

    def without_payload(self) -> Signed:
        return replace(self, payload=None)


def sign(
    chain_id: str,
    body: Body,
    validator: str,
    sign_fn: Callable[[bytes], bytes],
    payload: Any = None,
) -> Signed:
    """Sign `body` with `sign_fn` (e.g. KeyPair.sign). No double-sign guard: see signer_state."""
    return Signed(chain_id, body, validator, sign_fn(sign_bytes(chain_id, body)), payload)


def _int(d: dict[str, Any], key: str, lo: int, hi: int) -> int:
    v = d[key]
    if type(v) is not int or not lo <= v <= hi:
        raise MessageError("bad_field", f"{key} must be an integer in [{lo}, {hi}]")
    return v


def _hex(d: dict[str, Any], key: str, chars: int) -> str:
    v = d[key]
    if type(v) is not str or len(v) != chars or not _HEX.issuperset(v):
        raise MessageError("bad_field", f"{key} must be {chars} lowercase hex characters")
    return v


def from_wire(obj: Any, chain_id: str) -> Signed:
    """Check a decoded JSON object and build the message; MessageError says why not."""
    if type(obj) is not dict:
        raise MessageError("not_object", "a consensus message is a JSON object")
    kind = obj.get("type")
    if kind == PROPOSAL:
        expected = _PROPOSAL_KEYS
    elif kind in VOTE_TYPES:
        expected = _VOTE_KEYS
    else:
        raise MessageError("bad_type", f"unknown message type {str(kind)[:32]!r}")
    keys = obj.keys()
    if keys != expected:
        missing = sorted(expected - keys)
        extra = sorted(keys - expected)
        if missing:
            raise MessageError("missing_field", f"{kind} lacks {', '.join(missing)}")
        raise MessageError("unknown_field", f"{kind} has unknown fields {', '.join(extra)[:80]}")
    if obj["chain_id"] != chain_id:
        raise MessageError(
            "wrong_chain", f"message for chain {str(obj['chain_id'])[:80]!r}, not {chain_id!r}"
        )
    height = _int(obj, "height", 0, MAX_HEIGHT)
    round_ = _int(obj, "round", 0, MAX_ROUND)
    validator = _hex(obj, "validator", 64)
    signature = bytes.fromhex(_hex(obj, "signature", 128))
    block_id = obj["block_id"]
    if kind == PROPOSAL:
        if not is_block_id(block_id):
            raise MessageError("bad_block_id", "a proposal names a block id (lowercase hex)")
        valid_round = _int(obj, "valid_round", -1, MAX_ROUND)
        if valid_round >= round_:
            raise MessageError("bad_field", "valid_round must be below the proposal's round")
        body: Body = Proposal(height, round_, block_id, valid_round)
        return Signed(chain_id, body, validator, signature, obj["payload"])
    if block_id is not None and not is_block_id(block_id):
        raise MessageError("bad_block_id", "a vote names a block id (lowercase hex) or null")
    return Signed(chain_id, Vote(kind, height, round_, block_id), validator, signature)


def decode_message(
    data: bytes, chain_id: str, max_bytes: int = DEFAULT_MAX_MESSAGE_BYTES
) -> Signed:
    """Parse wire bytes (canonical JSON, at most `max_bytes`). Signatures are checked later,
    against the validator set of the message's height (see Tendermint.on_message)."""
    try:
        obj = decode(data, max_bytes=max_bytes)
    except EncodingError as exc:
        raise MessageError(exc.code, str(exc)) from None
    return from_wire(obj, chain_id)


def ed25519_verify(public_raw: bytes, signature: bytes, message: bytes) -> bool:
    """Ed25519 verification through PyNaCl (libsodium): the same signatures as
    keys.verify_raw, about twice as fast here, which matters on the vote path."""
    try:
        VerifyKey(public_raw).verify(message, signature)
    except (BadSignatureError, ValueError, TypeError):
        return False
    return True


class CachedVerifier:
    """Ed25519 verification that checks each distinct (key, signature, message) once.

    Gossip delivers one message many times; the cache (bounded, least recently used
    evicted) makes the repeats cost one hash. Safe to share between state machines.
    """

    def __init__(
        self,
        max_entries: int = 65536,
        verify: Callable[[bytes, bytes, bytes], bool] = ed25519_verify,
    ) -> None:
        self._cache: OrderedDict[bytes, bool] = OrderedDict()
        self._max = max_entries
        self._verify = verify
        self.hits = 0
        self.misses = 0

    def __call__(self, public_raw: bytes, signature: bytes, message: bytes) -> bool:
        h = hashlib.sha256()
        h.update(public_raw)
        h.update(signature)
        h.update(message)
        k = h.digest()
        hit = self._cache.get(k)
        if hit is not None:
            self.hits += 1
            self._cache.move_to_end(k)
            return hit
        self.misses += 1
        ok = self._verify(public_raw, signature, message)
        self._cache[k] = ok
        if len(self._cache) > self._max:
            self._cache.popitem(last=False)
        return ok
