"""Transactions: the envelope, every type of docs/design.md section 3 with its payload schema and who
may send it, stateless validation with reason codes, signing and signature checks.

Envelope (canonical JSON): {"body": {chain_id, type, sender, nonce, time, payload}, "signature"}
where the signature covers signing_bytes(DOMAIN_TX, chain_id, body). The tx hash is the hex
SHA-256 of the canonical envelope. Stateful rules (registered sender, nonce, roles) are in state.py.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from bedrock.canonical import EncodingError, canonical, decode
from bedrock.errors import CodedError
from ledger_core.chain import json_shape as s
from ledger_core.crypto.domains import DOMAIN_TX, signing_bytes
from ledger_core.crypto.keys import key_id
from ledger_core.crypto.signing import Signer, VerifiedCache, verify

DEFAULT_MAX_TX_BYTES = 64 * 1024
_PREFIX = b'{"body":'
_SUFFIX_LEN = len(b',"signature":"') + 128 + len(b'"}')

CERT_KIND_ROLE = {
    "dataset": "operator",
    "data_collection": "operator",
    "pipeline": "operator",
    "labels": "auditor",
    "model": "trainer",
    "infrastructure": "monitor",
}


class TxError(CodedError, ValueError):
    """A rejected transaction: `code` is a stable reason code, the message says why."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message, code=code)

    def as_dict(self) -> dict[str, str]:
        return {"code": self.code, "message": str(self)}


@dataclass(frozen=True)
class TxType:
    """A transaction type: payload schema and who may send it."""

    name: str
    payload: s.Checker
    roles: tuple[str, ...] = ()  # the sender needs one of these roles (empty: any participant)
    kinds: tuple[str, ...] = ()  # the sender must be of one of these kinds (empty: any)
    validator: bool = False  # the sender must be in the current validator set


_NOTE = s.Optional(s.Str(500))


def _check_participant(v: Any, path: str) -> None:
    s.PARTICIPANT(v, path)
    if key_id(bytes.fromhex(v["public_key"])) != v["key_id"]:
        s.fail(path, "key_id is not the hash of public_key")


_PROPOSALS = {
    "add_org": s.Obj(
        {
            "action": s.Str(),
            "org": s.Obj({"id": s.Slug, "name": s.Name, "roles": s.Roles()}),
            "participants": s.List(_check_participant, 32, 1),
            "note": _NOTE,
        }
    ),
    "add_validator": s.Obj({"action": s.Str(), "key_id": s.Hex64, "note": _NOTE}),
    "remove_validator": s.Obj({"action": s.Str(), "key_id": s.Hex64, "note": _NOTE}),
    "set_param": s.Obj(
        {"action": s.Str(), "name": s.Slug, "value": s.Int(-(2**62), 2**62), "note": _NOTE}
    ),
}


def _member_propose(v: Any, path: str) -> None:
    # typed before the lookup: an unhashable action (a list, an object) must be refused, not raise
    if type(v) is not dict or type(v.get("action")) is not str or v["action"] not in _PROPOSALS:
        s.fail(f"{path}.action", f"must be one of {', '.join(_PROPOSALS)}")
    _PROPOSALS[v["action"]](v, path)


def _ordered(lo: str, hi: str, allow_none: bool = False) -> s.Checker:
    def check(v: Any, path: str) -> None:
        if v[hi] is None and allow_none:
            return
        if v[hi] < v[lo]:
            s.fail(f"{path}.{hi}", f"must not be before {lo}")

    return check


def _both(*checks: s.Checker) -> s.Checker:
    def check(v: Any, path: str) -> None:
        for c in checks:
            c(v, path)

    return check


_TIME = s.Int(0, 2**62)
_CERT = _both(
    s.Obj(
        {
            "kind": s.Enum(*CERT_KIND_ROLE),
            "subject": s.Obj({"name": s.Name, "version": s.Str(64), "digest": s.Hex64}),
            "lineage": s.List(s.Hex64, 64, unique=True),
            "predicate": s.Bounded(16 * 1024),
            "valid_from": _TIME,
            "valid_until": s.Nullable(_TIME),
        }
    ),
    _ordered("valid_from", "valid_until", allow_none=True),
)

TX_TYPES: dict[str, TxType] = {
    t.name: t
    for t in (
        TxType("member.propose", _member_propose, validator=True),
        TxType("member.approve", s.Obj({"proposal": s.Hex64}), validator=True),
        TxType("participant.register", s.Obj({"participant": _check_participant}), kinds=("expert",)),
        TxType("participant.revoke", s.Obj({"key_id": s.Hex64, "reason": s.Str(200)}), kinds=("expert",)),
        TxType("key.rotate", s.Obj({"public_key": s.Hex64, "proof": s.Hex128})),
        TxType("cert.issue", s.Obj({"cert": _CERT}), roles=tuple(sorted(set(CERT_KIND_ROLE.values())))),
        TxType(
            "cert.revoke",
            s.Obj({"cert_id": s.Hex64, "reason": s.Str(200)}),
            roles=tuple(sorted(set(CERT_KIND_ROLE.values()))),
        ),
        # out of the sender's scope a certificate is suspended, then a quorum confirms or lifts
        TxType(
            "cert.suspend",
            s.Obj({"cert_id": s.Hex64, "reason": s.Str(200)}),
            roles=("auditor",),
        ),
        TxType(
            "cert.confirm_revocation",
            s.Obj({"cert_id": s.Hex64, "suspension": s.Hex64}),
            roles=tuple(sorted(set(CERT_KIND_ROLE.values()))),
        ),
        TxType(
            "cert.lift_suspension",
            s.Obj({"cert_id": s.Hex64, "suspension": s.Hex64}),
            roles=tuple(sorted(set(CERT_KIND_ROLE.values()))),
        ),
        TxType(
            "rating.submit",
            s.Obj(
                {
                    "subject_kind": s.Enum("participant", "org", "cert"),
                    "subject": s.Slug,
                    "judges": s.Hex64,
                    "positive": s.Int(0, 1000),
                    "negative": s.Int(0, 1000),
                    "comment": s.Optional(s.Str(500)),
                }
            ),
            roles=s.BUSINESS_ROLES,
        ),
        TxType(
            "inspection.batch",
            _both(
                s.Obj(
                    {
                        "root": s.Hex64,
                        "count": s.Int(1, 10**7),
                        "station": s.Name,
                        "from_time": _TIME,
                        "until_time": _TIME,
                        "model_cert": s.Nullable(s.Hex64),
                        "pipeline_cert": s.Nullable(s.Hex64),
                    }
                ),
                _ordered("from_time", "until_time"),
            ),
            roles=("operator",),
        ),
        TxType(
            "monitor.report",
            s.Obj(
                {
                    "component": s.Name,
                    "status": s.Enum("ok", "degraded", "failed"),
                    "metrics": s.Map(s.Slug, s.Int(-(2**62), 2**62), 32),
                    "about": s.Nullable(s.Hex64),
                }
            ),
            roles=("monitor",),
        ),
    )
}

_BODY = s.Obj(
    {
        "chain_id": s.Hex64,
        "type": s.Str(64),
        "sender": s.Hex64,
        "nonce": s.Int(1, 2**62),
        "time": _TIME,
        "payload": lambda v, p: None,  # checked per type below
    }
)
_ENVELOPE = s.Obj({"body": lambda v, p: None, "signature": s.Hex128})


@dataclass(frozen=True, slots=True)
class Tx:
    """A transaction that passed the stateless checks (form, type, payload, size)."""

    body: dict[str, Any]
    signature: bytes
    raw: bytes  # canonical envelope bytes, as stored and hashed
    hash: str

    @property
    def type(self) -> str:
        return self.body["type"]

    @property
    def sender(self) -> str:
        return self.body["sender"]

    @property
    def nonce(self) -> int:
        return self.body["nonce"]

    @property
    def chain_id(self) -> str:
        return self.body["chain_id"]

    @property
    def payload(self) -> dict[str, Any]:
        return self.body["payload"]

    @property
    def tx_type(self) -> TxType:
        return TX_TYPES[self.body["type"]]

    def envelope(self) -> dict[str, Any]:
        return {"body": self.body, "signature": self.signature.hex()}

    def signed_bytes(self) -> bytes:
        """signing_bytes(DOMAIN_TX, chain_id, body), cut from the canonical envelope."""
        return DOMAIN_TX.encode() + b"\x00" + self.chain_id.encode() + b"\x00" + self.raw[8:-_SUFFIX_LEN]


def _check_form(env: Any, raw: bytes, max_bytes: int) -> Tx:
    if len(raw) > max_bytes:
        raise TxError("too_large", f"transaction has {len(raw)} bytes, the limit is {max_bytes}")
    try:
        _ENVELOPE(env, "")
        body = env["body"]
        _BODY(body, "body")
    except s.SchemaError as exc:
        raise TxError("bad_envelope", str(exc)) from None
    ttype = TX_TYPES.get(body["type"])
    if ttype is None:
        raise TxError("unknown_type", f"unknown transaction type {body['type']!r}")
    try:
        ttype.payload(body["payload"], "payload")
    except s.SchemaError as exc:
        raise TxError("bad_payload", f"{body['type']}: {exc}") from None
    assert raw.startswith(_PREFIX)
    return Tx(body, bytes.fromhex(env["signature"]), raw, hashlib.sha256(raw).hexdigest())


def from_bytes(raw: bytes, max_bytes: int = DEFAULT_MAX_TX_BYTES) -> Tx:
    """Parse canonical envelope bytes (as stored or sent); TxError with a reason otherwise."""
    if len(raw) > max_bytes:
        raise TxError("too_large", f"transaction has {len(raw)} bytes, the limit is {max_bytes}")
    try:
        env = decode(raw, max_bytes=max_bytes)
    except EncodingError as exc:
        raise TxError("bad_encoding", f"{exc.code}: {exc}") from None
    return _check_form(env, bytes(raw), max_bytes)


def from_obj(env: Any, max_bytes: int = DEFAULT_MAX_TX_BYTES, checked: bool = False) -> Tx:
    """Parse an envelope object; `checked=True` when it came out of `encoding.decode`
    (a control-socket request), so its values are not walked twice."""
    try:
        raw = canonical(env, checked=checked)
    except EncodingError as exc:
        raise TxError("bad_encoding", f"{exc.code}: {exc}") from None
    return _check_form(env, raw, max_bytes)


def make(
    signer: Signer, chain_id: str, tx_type: str, nonce: int, payload: dict[str, Any], time_ms: int
) -> Tx:
    """Build and sign a transaction (raises TxError if it would not pass the stateless checks)."""
    body = {
        "chain_id": chain_id,
        "type": tx_type,
        "sender": signer.key_id,
        "nonce": nonce,
        "time": time_ms,
        "payload": payload,
    }
    sig = signer.sign(signing_bytes(DOMAIN_TX, chain_id, body))
    return from_obj({"body": body, "signature": sig.hex()})


def rotation_proof_body(sender: str, new_key_id: str) -> dict[str, str]:
    """What the new key signs in key.rotate, proving its holder agrees to the rotation."""
    return {"rotate_from": sender, "new_key_id": new_key_id}


def check_signature(tx: Tx, public_raw: bytes, cache: VerifiedCache | None = None) -> None:
    """Raise TxError('bad_signature') unless the sender's key signed this exact transaction."""
    if cache is not None and tx.hash in cache:
        return
    if not verify(public_raw, tx.signature, tx.signed_bytes()):
        raise TxError("bad_signature", "the signature does not verify with the sender's key")
    if cache is not None:
        cache.add(tx.hash)
