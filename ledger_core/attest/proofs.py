"""Certificate verification check by check, and proof bundles that verify offline (docs/design.md 5).

A proof bundle holds what a verifier needs beside the genesis file: the cert.issue transaction,
its block header and commit, the Merkle inclusion path of the tx hash in the header's tx_root,
the validator keys that signed, the issuer's registration facts, the certificate's status and
trust as of the export height, and the bundles of its whole lineage.

`check_bundle` recomputes everything it can: the issuer's signature, the commit quorum, the
inclusion proof, the block id, the chain id, the issuer's registration and role (provable offline
when the issuer and validators are in genesis). Revocation status and trust come from live state
when given (`Live`), else they are the exporter's statement as of the export height, and the
reason says so, since app_hash gives no per-key state proofs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from bedrock.canonical import EncodingError
from bedrock.errors import CodedError
from ledger_core.attest import certs
from ledger_core.attest.gate import TrustView
from ledger_core.attest.trust import PPM
from ledger_core.chain import block as blk
from ledger_core.chain import json_shape as s
from ledger_core.chain import tx as txm
from ledger_core.chain.genesis import PARTICIPANT_FIELDS, Genesis
from ledger_core.chain.state import validators_hash_of
from ledger_core.chain.tx import CERT_KIND_ROLE
from ledger_core.crypto import merkle

BUNDLE_VERSION = 1
MAX_DEPTH = 32


class BundleError(CodedError, ValueError):
    """A proof bundle that cannot be read (not a failed check: a malformed file)."""

    code = "bad_bundle"


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return {"check": self.name, "ok": self.ok, "reason": self.reason}


@dataclass
class Report:
    cert_id: str
    checks: list[Check] = field(default_factory=list)
    seen: set[str] = field(default_factory=set)  # lineage certificates already checked

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    def add(self, name: str, ok: bool, reason: str) -> None:
        self.checks.append(Check(name, ok, reason))

    def as_dict(self) -> dict[str, Any]:
        return {"cert_id": self.cert_id, "ok": self.ok, "checks": [c.as_dict() for c in self.checks]}


@dataclass
class Live:
    """The verifier's own view of the chain (online verification)."""

    get: Callable[[str, str], Any]
    keys: Callable[[str], Iterable[str]]
    height: int
    time_ms: int


# -- export -------------------------------------------------------------------------------


def _validator_sets(store: Any, genesis: Genesis) -> list[dict[str, str]]:
    sets = [{v: genesis.participant(v)["public_key"] for v in genesis.validators}]
    head = store.head_validators()
    if head:
        sets.append({k: v.hex() for k, v in head.items()})
    return sets


def tx_evidence(store: Any, genesis: Genesis, tx_hash: str) -> dict[str, Any]:
    """A committed transaction with its block header, commit, signing validators and Merkle
    inclusion path (KeyError if the store does not hold it)."""
    found = store.tx(tx_hash)
    if found is None:
        raise KeyError(tx_hash)
    b = store.block(found["height"])
    hashes = [t["hash"] for t in b["txs"]]
    proof = merkle.inclusion_proof(found["index"], [bytes.fromhex(h) for h in hashes])
    vsets = [s for s in _validator_sets(store, genesis)
             if validators_hash_of({k: bytes.fromhex(v) for k, v in s.items()}) == b["header"]["validators_hash"]]
    return {
        "tx": found["envelope"],
        "height": found["height"],
        "index": found["index"],
        "tx_count": len(hashes),
        "inclusion": [p.hex() for p in proof],
        "header": b["header"],
        "commit": b["commit"],
        "validators": vsets[0] if vsets else {},
    }


def build_bundle(store: Any, genesis: Genesis, live: Live, cert_id: str, depth: int = 0) -> dict[str, Any]:
    """The proof bundle of a committed certificate and its lineage (KeyError if unknown)."""
    rec = live.get("cert", cert_id)
    if rec is None:
        raise KeyError(cert_id)
    tv = TrustView(live.get, live.keys, live.height)
    lineage = [] if depth >= MAX_DEPTH else [
        build_bundle(store, genesis, live, cid, depth + 1) for cid in rec["cert"]["lineage"]
    ]
    return {
        "version": BUNDLE_VERSION,
        "chain_id": genesis.chain_id,
        "cert_id": cert_id,
        **tx_evidence(store, genesis, cert_id),
        "issuer": live.get("participant", rec["issuer"]),
        "status": {k: rec.get(k) for k in ("status", "revoked_height", "revoked_by", "reason")},
        "trust": {**tv.cert(cert_id).as_dict(), "threshold_ppm": tv.threshold_ppm},
        "as_of": {"height": live.height, "time": live.time_ms},
        "lineage": lineage,
    }


_ISSUER = s.Obj(
    {
        **PARTICIPANT_FIELDS,
        "status": s.Enum("active", "revoked", "rotated"),
        "since": s.Int(0, 2**62),
        "revoked_height": s.Optional(s.Int(0, 2**62)),
        "reason": s.Optional(s.Str(200)),
        "replaced_by": s.Optional(s.Hex64),
        "replaces": s.Optional(s.Hex64),
    }
)
_PPM = s.Int(0, PPM)
BUNDLE = s.Obj(
    {
        "version": s.Int(BUNDLE_VERSION, BUNDLE_VERSION),
        "chain_id": s.Hex64,
        "cert_id": s.Hex64,
        "tx": s.Bounded(1024 * 1024),
        "height": s.Int(1, 2**62),
        "index": s.Int(0, 10**6),
        "tx_count": s.Int(1, 10**6),
        "inclusion": s.List(s.Hex64, 64),
        "header": blk.HEADER,
        "commit": blk.COMMIT,
        "validators": s.Map(s.Hex64, s.Hex64, 1000),
        "issuer": s.Nullable(_ISSUER),
        "status": s.Obj(
            {
                "status": s.Enum("active", "revoked"),
                "revoked_height": s.Nullable(s.Int(0, 2**62)),
                "revoked_by": s.Nullable(s.Hex64),
                "reason": s.Nullable(s.Str(200)),
            }
        ),
        "trust": s.Obj(
            {
                "cert_id": s.Hex64,
                "issuer": s.Hex64,
                "issuer_expected_ppm": _PPM,
                "expected_ppm": _PPM,
                "threshold_ppm": _PPM,
                "opinion": s.Bounded(1024 * 1024),
            }
        ),
        "as_of": s.Obj({"height": s.Int(0, 2**62), "time": s.Int(0, 2**62)}),
        "lineage": s.List(lambda v, p: None, 64),  # each entry is checked when its turn comes
    }
)


def parse_bundle(bundle: Any) -> None:
    """BundleError unless the bundle has the exact shape `build_bundle` writes."""
    try:
        BUNDLE(bundle, "bundle")
    except (s.SchemaError, EncodingError) as exc:
        raise BundleError(f"malformed proof bundle: {exc}") from None


# -- checking -----------------------------------------------------------------------------


def _utc(ms: int) -> str:
    try:
        return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    except (OverflowError, OSError, ValueError):
        return f"{ms} ms"


def _issuer_at(issuer: dict[str, Any] | None, height: int, role: str) -> tuple[bool, str]:
    if issuer is None:
        return False, "the issuer is not a registered participant"
    if issuer["since"] > height:
        return False, f"the issuer was registered at height {issuer['since']}, after the certificate"
    gone = issuer.get("revoked_height")
    if issuer["status"] != "active" and gone is not None and gone <= height:
        return False, f"the issuer's key was {issuer['status']} at height {gone}"
    if role not in issuer["roles"]:
        return False, f"the issuer lacks the {role} role"
    if issuer["status"] == "revoked":  # a rotated key keeps its certificates; a revoked one does not
        return False, f"the issuer's key was revoked at height {gone}: its certificates are no longer trusted"
    return True, f"{issuer['name']} ({issuer['org']}) held the {role} role at height {height}"


def committed(
    genesis: Genesis, tx_hash: str, header: Any, commit: Any, validators: dict[str, bytes],
    height: int, index: int, size: int, proof: list[bytes], offline: bool,
) -> list[tuple[str, bool, str]]:
    """The `commit` (block id, validator set, quorum) and `inclusion` (Merkle path) checks."""
    out = []
    try:
        bid = blk.block_id(header)
        if header["height"] != height:
            raise blk.BlockError("bad_header", "the header is for another height")
        if validators_hash_of(validators) != header["validators_hash"]:
            raise blk.BlockError("bad_validators_hash", "the validator keys do not match the header")
        gset = {v: bytes.fromhex(genesis.participant(v)["public_key"]) for v in genesis.validators}
        if offline and validators != gset:
            raise blk.BlockError("unknown_signer", "the validator set differs from genesis: not provable offline")
        blk.verify_commit(commit, genesis.chain_id, height, bid, validators)
        out.append(("commit", True,
                    f"block {height} ({bid[:16]}) signed by {len(commit['signatures'])} of {len(validators)} validators"))
    except (blk.BlockError, KeyError, TypeError) as exc:
        out.append(("commit", False, f"{getattr(exc, 'code', 'bad_block')}: {exc}"))
    try:
        root = bytes.fromhex(header["tx_root"])
    except (KeyError, TypeError, ValueError):
        root = b""
    ok = merkle.verify_inclusion(bytes.fromhex(tx_hash), index, size, proof, root)
    out.append(("inclusion", ok, f"tx at index {index} of {size} {'is' if ok else 'is NOT'} in the block's tx_root"))
    return out


def check_bundle(
    bundle: Any,
    genesis: Genesis,
    live: Live | None = None,
    local_digest: str | None = None,
    report: Report | None = None,
    depth: int = 0,
) -> Report:
    """Every check of docs/design.md section 5 on one certificate and, recursively, its lineage."""
    parse_bundle(bundle)
    try:
        cert_id = bundle["cert_id"]
        tx = txm.from_obj(bundle["tx"], max_bytes=1024 * 1024)
        header, commit = bundle["header"], bundle["commit"]
        proof = [bytes.fromhex(p) for p in bundle["inclusion"]]
        validators = {k: bytes.fromhex(v) for k, v in bundle["validators"].items()}
        height, index, size = int(bundle["height"]), int(bundle["index"]), int(bundle["tx_count"])
    except (KeyError, TypeError, ValueError, AttributeError, txm.TxError) as exc:
        raise BundleError(f"malformed proof bundle: {exc}") from None
    rep = report or Report(cert_id)
    tag = "" if depth == 0 else f"lineage {cert_id[:16]}: "

    def add(name: str, ok: bool, reason: str) -> None:
        rep.add(tag + name, ok, reason)

    if tx.hash != cert_id or tx.type != "cert.issue":
        add("certificate", False, "the transaction is not the cert.issue this id names")
        return rep
    cert = tx.payload["cert"]
    if tx.chain_id != genesis.chain_id or header.get("chain_id") != genesis.chain_id:
        add("chain", False, "the certificate was recorded on another chain than this genesis")
        return rep
    # issuer signature and registration
    issuer = bundle.get("issuer")
    if live is not None:
        issuer = live.get("participant", tx.sender)
    elif issuer is not None and genesis.participant(tx.sender) is None:
        issuer = None  # offline, only genesis participants are provable
    if issuer is None or issuer.get("key_id") != tx.sender:
        add("issuer signature", False, "the issuer's key is not known from genesis or the ledger")
        add("issuer role", False, "the issuer's registration cannot be established")
    else:
        try:
            txm.check_signature(tx, bytes.fromhex(issuer["public_key"]))
            add("issuer signature", True, f"Ed25519 signature of {tx.sender[:16]} verifies")
        except txm.TxError as exc:
            add("issuer signature", False, str(exc))
        ok, why = _issuer_at(issuer, height, CERT_KIND_ROLE[cert["kind"]])
        add("issuer role", ok, why)
    for name, ok, why in committed(genesis, tx.hash, header, commit, validators, height, index, size, proof,
                                   offline=live is None):
        add(name, ok, why)
    # revocation and validity
    if live is not None:
        rec = live.get("cert", cert_id) or {}
        status, now, where = rec.get("status"), live.time_ms, f"at height {live.height}"
        revoked_reason = rec.get("reason")
    else:
        st = bundle.get("status") or {}
        status, now = st.get("status"), int(bundle["as_of"]["time"])
        revoked_reason = st.get("reason")
        where = f"as stated by the exporter at height {bundle['as_of']['height']} (not provable offline)"
    add("not revoked", status == "active",
        f"active {where}" if status == "active" else f"{status or 'unknown'} {where}: {revoked_reason or ''}".strip())
    until = "open-ended" if cert["valid_until"] is None else f"until {_utc(cert['valid_until'])}"
    add("validity", certs.in_validity(cert, now), f"valid from {_utc(cert['valid_from'])} {until}; ledger time {_utc(now)}")
    if depth == 0 and local_digest is not None:
        same = local_digest == cert["subject"]["digest"]
        add("files", same, "the local files re-hash to the subject digest" if same
            else f"the local files hash to {local_digest[:16]}, the certificate says {cert['subject']['digest'][:16]}")
    # trust gate
    if live is not None:
        tv = TrustView(live.get, live.keys, live.height)
        ct, thr, where = tv.cert(cert_id).expected_ppm, tv.threshold_ppm, f"at height {live.height}"
    else:
        ct, thr = int(bundle["trust"]["expected_ppm"]), int(bundle["trust"]["threshold_ppm"])
        where = f"as stated by the exporter at height {bundle['as_of']['height']}"
    add("trust", ct >= thr, f"expected trust {ct / PPM:.4f} vs threshold {thr / PPM:.4f} {where}")
    # lineage
    lineage = bundle.get("lineage") or []
    by_id = {lb["cert_id"]: lb for lb in lineage if isinstance(lb, dict) and isinstance(lb.get("cert_id"), str)}
    for cid in cert["lineage"]:
        lb = by_id.get(cid)
        if cid in rep.seen:
            continue
        rep.seen.add(cid)
        if lb is None:
            add("lineage", False, f"lineage certificate {cid[:16]} is missing from the bundle")
        elif depth >= MAX_DEPTH:
            add("lineage", False, "the lineage is deeper than the limit")
        else:
            check_bundle(lb, genesis, live, None, rep, depth + 1)
    if depth == 0:
        bad = [c.name for c in rep.checks if c.name.startswith("lineage") and not c.ok]
        add("lineage", not bad, f"{len(cert['lineage'])} direct lineage certificate(s), "
            + (f"failing: {', '.join(bad)}" if bad else "every certificate in the lineage verifies"))
    return rep
