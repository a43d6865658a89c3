"""Anchoring inspection records on the ledger (docs/design.md section 7), the decisions. Pure.

`BatchPolicy.cut(pending, now_s)` says when a batch is cut from the records not anchored yet
(oldest first): every `every_s` seconds after its oldest record or at `max_records` records, and
wherever the model or pipeline certificate changes (one `inspection.batch` names one of each).
A `Batch` holds the RFC 9162 Merkle root over the record digests, each record's inclusion proof
and the `inspection.batch` payload. `record_report` proves one workpiece's result from what the
station read: the record hashes to its leaf, the proof leads to the root of a committed batch
transaction, the image matches its digest, the model certificate was issued before and not
revoked at that height, and is trusted now.

A record is anything with the attributes of `inspection.records.InspectionRecord` used here
(`digest`, `inspected_at_ns`, `model_cert_id`, `pipeline_cert_id`, `image_sha256`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from ledger_core.attest.gate import TrustView
from ledger_core.attest.proofs import Live, Report, committed
from ledger_core.attest.trust import PPM
from ledger_core.chain import tx as txm
from ledger_core.chain.genesis import Genesis
from ledger_core.crypto import merkle

BATCH_TX = "inspection.batch"


class Record(Protocol):
    @property
    def digest(self) -> str: ...
    @property
    def inspected_at_ns(self) -> int: ...
    @property
    def model_cert_id(self) -> str | None: ...
    @property
    def pipeline_cert_id(self) -> str | None: ...
    @property
    def image_sha256(self) -> str: ...


@dataclass(frozen=True)
class Batch:
    """The records of one batch, their Merkle root and each one's inclusion proof."""

    records: tuple[Record, ...]
    root: bytes
    proofs: tuple[tuple[bytes, ...], ...]  # proofs[i]: the audit path of leaf i

    @classmethod
    def of(cls, records: Sequence[Record]) -> Batch:
        hashes = [merkle.leaf_hash(bytes.fromhex(r.digest)) for r in records]
        paths = (merkle.inclusion_proof(i, hashes, hashed=True) for i in range(len(hashes)))
        return cls(tuple(records), merkle.root_from_leaf_hashes(hashes), tuple(map(tuple, paths)))

    def payload(self, station: str) -> dict[str, Any]:
        """The `inspection.batch` transaction's payload (the certificates of the first record:
        a batch holds one model and one pipeline)."""
        recs = self.records
        return {
            "root": self.root.hex(),
            "count": len(recs),
            "station": station,
            "from_time": min(r.inspected_at_ns for r in recs) // 1_000_000,
            "until_time": max(r.inspected_at_ns for r in recs) // 1_000_000,
            "model_cert": _hex64(recs[0].model_cert_id),
            "pipeline_cert": _hex64(recs[0].pipeline_cert_id),
        }


@dataclass(frozen=True)
class BatchPolicy:
    every_s: float = 60.0
    max_records: int = 1000

    def due(self, pending: Sequence[Record], now_s: float) -> bool:
        """A batch is due once `max_records` wait or the oldest waits `every_s` seconds."""
        if not pending:
            return False
        oldest_s = pending[0].inspected_at_ns / 1e9
        return len(pending) >= self.max_records or now_s - oldest_s >= self.every_s

    def cut(self, pending: Sequence[Record], now_s: float, force: bool = False) -> Batch | None:
        """The next batch from the pending records (oldest first), or None when none is due yet
        (with force, whatever is pending is due): at most `max_records` records, up to the first
        whose model or pipeline certificate differs from the first record's."""
        pending = pending[: self.max_records]
        if not pending or not (force or self.due(pending, now_s)):
            return None
        certs = [(r.model_cert_id, r.pipeline_cert_id) for r in pending]
        end = next((i for i, c in enumerate(certs) if c != certs[0]), len(pending))
        return Batch.of(pending[:end])


def _hex64(v: str | None) -> str | None:
    return v if v is not None and len(v) == 64 and all(c in "0123456789abcdef" for c in v) else None


@dataclass(frozen=True)
class Anchor:
    """Where the station anchored a record: its leaf in a batch and the batch's transaction."""

    record_digest: str  # the leaf that was anchored
    leaf_index: int
    count: int  # leaves in the batch
    root: str
    proof: tuple[bytes, ...]
    tx_hash: str


def record_report(
    record_id: int, record: Record | None, anchor: Anchor | None, evidence: dict[str, Any] | None,
    image: bytes | None, genesis: Genesis, live: Live,
) -> Report:
    """Every check on one anchored record. `evidence` is `proofs.tx_evidence` of the anchor's
    batch transaction (None: not on the ledger); `image` the stored image (None: not stored)."""
    rep = Report(str(record_id))
    if record is None:
        rep.add("record", False, f"no inspection record {record_id}")
        return rep
    if anchor is None:
        rep.add("anchored", False, f"record {record_id} is not anchored yet")
        return rep
    digest = record.digest
    same = digest == anchor.record_digest
    rep.add("record digest", same, "the record hashes to its anchored leaf" if same
            else "the record no longer hashes to the leaf that was anchored: it was changed")
    ok = merkle.verify_inclusion(bytes.fromhex(digest), anchor.leaf_index, anchor.count,
                                 anchor.proof, bytes.fromhex(anchor.root))
    rep.add("inclusion", ok, f"leaf {anchor.leaf_index} of {anchor.count} "
            f"{'leads' if ok else 'does NOT lead'} to the batch root")
    tx = _batch_tx(evidence)
    if tx is None:
        rep.add("batch committed", False,
                f"batch transaction {anchor.tx_hash[:16]} is not on the ledger")
        return rep
    p = tx.payload
    root_ok = tx.type == BATCH_TX and p["root"] == anchor.root and p["count"] == anchor.count
    rep.add("batch root", root_ok, "the ledger's inspection.batch holds this root" if root_ok
            else "the local batch root differs from the one on the ledger")
    ev = evidence
    validators = {k: bytes.fromhex(v) for k, v in ev["validators"].items()}
    path = [bytes.fromhex(h) for h in ev["inclusion"]]
    for name, good, why in committed(genesis, tx.hash, ev["header"], ev["commit"], validators,
                                     ev["height"], ev["index"], ev["tx_count"], path, False):
        rep.add(f"batch {name}", good, why)
    if image is None:
        rep.add("image", False, f"image {record.image_sha256[:16]} is not in the history store")
    else:
        same = hashlib.sha256(image).hexdigest() == record.image_sha256
        rep.add("image", same, "the stored image matches its digest" if same
                else "the stored image was changed")
    model_checks(rep, live, p.get("model_cert"), ev["height"])
    return rep


def _batch_tx(evidence: dict[str, Any] | None) -> txm.Tx | None:
    if evidence is None:
        return None
    try:
        return txm.from_obj(evidence["tx"])
    except txm.TxError:
        return None


def model_checks(rep: Report, live: Live, cert_id: str | None, height: int) -> None:
    """The batch's model certificate: issued at or before `height`, not revoked then, and
    trusted now."""
    if cert_id is None:
        rep.add("model certificate", False, "the batch names no model certificate")
        return
    rec = live.get("cert", cert_id)
    if rec is None:
        rep.add("model certificate", False, f"certificate {cert_id[:16]} is not on the ledger")
        return
    # revoked or suspended at or before the batch's height counts against it
    at = rec.get("revoked_height", rec.get("suspended_height"))
    revoked = rec["status"] != "active" and at is not None and at <= height
    then = (f"{rec['status']} at {at}" if revoked
            else f"not revoked at batch height {height}")
    rep.add("model certificate", rec["height"] <= height and not revoked,
            f"issued at height {rec['height']}, {then}")
    tv = TrustView(live.get, live.keys, live.height)
    e = tv.cert(cert_id).expected_ppm
    rep.add("model trust", e >= tv.threshold_ppm,
            f"expected trust {e / PPM:.4f} vs threshold {tv.threshold_ppm / PPM:.4f} "
            f"at height {live.height}")
