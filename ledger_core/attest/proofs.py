"""Certificate verification check by check, and proof bundles that verify offline (docs/design.md 5).

A proof bundle holds what a verifier needs beside the genesis file: the cert.issue transaction,
its block header and commit, the Merkle inclusion path of the tx hash in the header's tx_root,
the validator keys that signed, the issuer's registration facts, the certificate's status and
trust as of the export height, and the bundles of its whole lineage.

`check_bundle` separates what a bundle proves from what it only states. Online (`Live`: the
verifier's own ledger) every check is proven. Offline, with the genesis file alone:
- proven: the issuer's signature and role (its key and roles come from the genesis file, never
  from the bundle's own issuer record), the commit by the genesis validator set, the Merkle
  inclusion (the chain admits only valid transactions to a block), the local files' digest, the
  validity window against the verifier's clock (when it gives one) and the lineage's proven
  checks;
- unproven (`Check.proven` False, "stated"): whether the certificate and the issuer's key are
  still unrevoked, its trust, and the export time: the exporter's statements as of the export
  height, since app_hash gives no per-key state proofs.
`Report.proven_ok`: every proven check passes. `Report.ok` also needs every statement to be
favourable: a statement cannot prove a certificate good, but one that says it is revoked or
untrusted is not ignored.
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
    """One check; `proven` False: the exporter's statement, not provable offline."""

    name: str
    ok: bool
    reason: str
    proven: bool = True

    def as_dict(self) -> dict[str, Any]:
        return {"check": self.name, "ok": self.ok, "reason": self.reason, "proven": self.proven}


@dataclass
class Report:
    cert_id: str
    checks: list[Check] = field(default_factory=list)
    seen: set[str] = field(default_factory=set)  # lineage certificates already checked

    @property
    def ok(self) -> bool:
        """Every proven check passes and no statement speaks against the certificate."""
        return all(c.ok for c in self.checks)

    @property
    def proven_ok(self) -> bool:
        return all(c.ok for c in self.checks if c.proven)

    @property
    def proven(self) -> list[Check]:
        return [c for c in self.checks if c.proven]

    @property
    def unproven(self) -> list[Check]:
        return [c for c in self.checks if not c.proven]

    @property
    def verdict(self) -> str:
        """The verdict: "verified" (every check proven and passing), "proven" (every proven check
        passes, some points are only stated), or "failed"."""
        if not self.ok:
            return "failed"
        return "proven" if self.unproven else "verified"

    def add(self, name: str, ok: bool, reason: str, proven: bool = True) -> None:
        self.checks.append(Check(name, ok, reason, proven))

    def as_dict(self) -> dict[str, Any]:
        """`checks`: the proven checks; `unproven`: the statements listed apart."""
        return {"cert_id": self.cert_id, "ok": self.ok, "verdict": self.verdict,
                "checks": [c.as_dict() for c in self.proven],
                "unproven": [c.as_dict() for c in self.unproven]}


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
                "status": s.Enum("active", "suspended", "revoked"),
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


Add = Callable[..., None]


def _signature(add: Add, tx: txm.Tx, public_key: str) -> None:
    try:
        txm.check_signature(tx, bytes.fromhex(public_key))
        add("issuer signature", True, f"Ed25519 signature of {tx.sender[:16]} verifies")
    except txm.TxError as exc:
        add("issuer signature", False, str(exc))


def _issuer_online(
    add: Add, tx: txm.Tx, issuer: dict[str, Any] | None, height: int, role: str
) -> None:
    """The issuer's key, roles and status from the verifier's own ledger."""
    if issuer is None or issuer.get("key_id") != tx.sender:
        add("issuer signature", False, "the issuer's key is not known from the ledger")
        add("issuer role", False, "the issuer's registration cannot be established")
        return
    _signature(add, tx, issuer["public_key"])
    add("issuer role", *_issuer_at(issuer, height, role))


def _issuer_offline(
    add: Add, tx: txm.Tx, genesis: Genesis, claimed: Any, as_of: dict[str, int], role: str
) -> None:
    """The issuer's key and roles from the genesis file; whether its key was revoked since is the
    exporter's statement. The bundle's own issuer record never supplies a key or a role."""
    issuer = genesis.participant(tx.sender)
    if issuer is None:
        why = "the issuer is not in the genesis file: its key and roles are not provable offline"
        add("issuer signature", False, why)
        add("issuer role", False, why)
        return
    _signature(add, tx, issuer["public_key"])
    differs = type(claimed) is dict and any(claimed.get(k) != issuer[k] for k in PARTICIPANT_FIELDS)
    note = "; the bundle's own issuer record differs from genesis and is ignored" if differs else ""
    ok = role in issuer["roles"]
    held = f"{issuer['name']} ({issuer['org']}) holds the {role} role in the genesis file"
    lacks = f"the issuer lacks the {role} role in the genesis file"
    add("issuer role", ok, (held if ok else lacks) + note)
    mine = type(claimed) is dict and claimed.get("key_id") == tx.sender
    status = claimed.get("status") if mine else None
    where = f"as stated by the exporter at height {as_of['height']}, not provable offline"
    add("issuer key not revoked", status in ("active", "rotated"),
        f"the issuer's key is {status or 'not stated'} {where}", False)


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
    now_ms: int | None = None,
) -> Report:
    """Every check of docs/design.md section 5 on one certificate and, recursively, its lineage.
    Offline (`live` None) the validity is judged at `now_ms` (the verifier's clock) when given,
    else it is the exporter's statement."""
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

    def add(name: str, ok: bool, reason: str, proven: bool = True) -> None:
        rep.add(tag + name, ok, reason, proven)

    if tx.hash != cert_id or tx.type != "cert.issue":
        add("certificate", False, "the transaction is not the cert.issue this id names")
        return rep
    cert = tx.payload["cert"]
    if tx.chain_id != genesis.chain_id or header.get("chain_id") != genesis.chain_id:
        add("chain", False, "the certificate was recorded on another chain than this genesis")
        return rep
    # issuer signature and registration
    role = CERT_KIND_ROLE[cert["kind"]]
    if live is not None:
        _issuer_online(add, tx, live.get("participant", tx.sender), height, role)
    else:
        _issuer_offline(add, tx, genesis, bundle.get("issuer"), bundle["as_of"], role)
    for name, ok, why in committed(genesis, tx.hash, header, commit, validators, height, index, size, proof,
                                   offline=live is None):
        add(name, ok, why)
    # revocation and validity
    as_of = bundle["as_of"]
    stated = (f"as stated by the exporter at height {as_of['height']} ({_utc(as_of['time'])}), "
              "not provable offline")
    if live is not None:
        rec = live.get("cert", cert_id) or {}
        status, where, reason = rec.get("status"), f"at height {live.height}", rec.get("reason")
    else:
        st = bundle.get("status") or {}
        status, where, reason = st.get("status"), stated, st.get("reason")
    said = f"{status or 'unknown'} {where}: {reason or ''}".strip()
    active = status == "active"
    add("not revoked", active, f"active {where}" if active else said, live is not None)
    until = "open-ended" if cert["valid_until"] is None else f"until {_utc(cert['valid_until'])}"
    span = f"valid from {_utc(cert['valid_from'])} {until}"
    if live is not None:
        ledger = f"{span}; ledger time {_utc(live.time_ms)}"
        add("validity", certs.in_validity(cert, live.time_ms), ledger)
    elif now_ms is not None:
        clock = f"{span}; this computer's clock {_utc(now_ms)}"
        add("validity", certs.in_validity(cert, now_ms), clock)
    else:
        exported = int(as_of["time"])
        add("validity", certs.in_validity(cert, exported), f"{span}; export time {stated}", False)
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
        where = stated
    trust = f"expected trust {ct / PPM:.4f} vs threshold {thr / PPM:.4f} {where}"
    add("trust", ct >= thr, trust, live is not None)
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
            check_bundle(lb, genesis, live, None, rep, depth + 1, now_ms)
    if depth == 0:
        bad = [c.name for c in rep.checks if c.name.startswith("lineage") and not c.ok and c.proven]
        add("lineage", not bad, f"{len(cert['lineage'])} direct lineage certificate(s), "
            + (f"failing: {', '.join(bad)}" if bad else "every certificate in the lineage verifies"))
    return rep
