"""Anchoring inspection records on the ledger (DESIGN.md section 7), wired here because
`inspection` and `ledger_core` do not import each other.

Records are batched (every `every_s` seconds or `max_records` records, and whenever the model or
pipeline certificate changes); a batch's RFC 9162 Merkle root over the record digests goes on the
ledger in `inspection.batch`; each record keeps its inclusion proof in
`<data-dir>/inspection/anchors.sqlite`. `verify_record` proves one workpiece's result: the record
hashes to its leaf, the proof leads to the root of a committed batch transaction, the image in
the history store matches its digest, the model certificate was issued before and not revoked at
that height, and is trusted now.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    func,
    insert,
    select,
)

from app.db import make_engine, sqlite_url
from app.paths import DataDir
from inspection.records import InspectionRecord, RecordStore
from ledger_core.attest.gate import TrustView
from ledger_core.attest.proofs import Check, Live, Report, committed, tx_evidence
from ledger_core.attest.trust import PPM
from ledger_core.chain import tx as txm
from ledger_core.chain.genesis import Genesis
from ledger_core.crypto import merkle

metadata = MetaData()
batches = Table(
    "anchor_batches",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("root", String(64), nullable=False),
    Column("count", Integer, nullable=False),
    Column("first_record", Integer, nullable=False),
    Column("last_record", Integer, nullable=False),
    Column("tx_hash", String(64), nullable=False, unique=True),
    Column("height", BigInteger, nullable=True),
)
proofs = Table(
    "anchor_proofs",
    metadata,
    Column("record_id", Integer, primary_key=True, autoincrement=False),
    Column("record_digest", String(64), nullable=False),
    Column("batch_id", Integer, nullable=False),
    Column("leaf_index", Integer, nullable=False),
    Column("proof", Text, nullable=False),  # hex hashes joined by ","
)

Submit = Callable[[str, dict[str, Any]], tuple[str, int | None]]  # (type, payload) -> (tx hash, height)


def anchor_engine(dd: DataDir) -> Engine:
    dd.inspection_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    engine = make_engine(sqlite_url(dd.inspection_dir / "anchors.sqlite"))
    metadata.create_all(engine)
    return engine


@dataclass
class Anchorer:
    """Cuts batches from the records not anchored yet and submits their roots."""

    engine: Engine
    records: RecordStore
    submit: Submit
    station: str
    every_s: float = 60.0
    max_records: int = 1000
    clock: Callable[[], float] = time.time

    def last_anchored(self) -> int:
        with self.engine.connect() as conn:
            return conn.execute(select(func.max(batches.c.last_record))).scalar() or 0

    def due(self, pending: list[InspectionRecord]) -> bool:
        if not pending:
            return False
        oldest_s = pending[0].inspected_at_ns / 1e9
        return len(pending) >= self.max_records or self.clock() - oldest_s >= self.every_s

    def anchor(self, force: bool = False) -> list[dict[str, Any]]:
        """Anchor every due batch now (all pending ones with force); returns what was anchored."""
        done = []
        while True:
            pending = self.records.page(after_id=self.last_anchored(), limit=self.max_records)
            if not pending or not (force or self.due(pending)):
                return done
            # one model and pipeline per batch: the transaction names them
            first = pending[0]
            cut = pending
            for i, r in enumerate(pending):
                if (r.model_cert_id, r.pipeline_cert_id) != (first.model_cert_id, first.pipeline_cert_id):
                    cut = pending[:i]
                    break
            done.append(self._anchor(cut))

    def _anchor(self, recs: list[InspectionRecord]) -> dict[str, Any]:
        leaves = [bytes.fromhex(r.digest) for r in recs]
        root = merkle.root(leaves).hex()
        payload = {
            "root": root,
            "count": len(recs),
            "station": self.station,
            "from_time": min(r.inspected_at_ns for r in recs) // 1_000_000,
            "until_time": max(r.inspected_at_ns for r in recs) // 1_000_000,
            "model_cert": _hex64(recs[0].model_cert_id),
            "pipeline_cert": _hex64(recs[0].pipeline_cert_id),
        }
        tx_hash, height = self.submit("inspection.batch", payload)
        with self.engine.begin() as conn:
            bid = conn.execute(insert(batches).values(
                root=root, count=len(recs), first_record=recs[0].id, last_record=recs[-1].id,
                tx_hash=tx_hash, height=height)).inserted_primary_key[0]
            conn.execute(insert(proofs), [
                {"record_id": r.id, "record_digest": r.digest, "batch_id": bid, "leaf_index": i,
                 "proof": ",".join(p.hex() for p in merkle.inclusion_proof(i, leaves))}
                for i, r in enumerate(recs)
            ])
        return {"batch": bid, "root": root, "count": len(recs), "tx": tx_hash, "height": height}


class AnchorLoop:
    """Runs `Anchorer.anchor()` every `tick_s` on its own thread while a station inspects, so
    batches go out every `every_s` seconds or `max_records` records. Errors (the node down, a
    refused batch) are kept in `last_error` and retried at the next tick; nothing is lost, since
    unanchored records stay pending."""

    def __init__(self, anchorer: Anchorer, tick_s: float = 1.0) -> None:
        self.anchorer = anchorer
        self.tick_s = tick_s
        self.last_error: str | None = None
        self.anchored: list[dict[str, Any]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="anchoring", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, flush: bool = True) -> None:
        """Stop and join; with flush, anchor whatever is still pending first."""
        self._stop.set()
        self._thread.join()
        if flush:
            self._tick(force=True)

    def _tick(self, force: bool = False) -> None:
        try:
            self.anchored += self.anchorer.anchor(force)
            self.last_error = None
        except Exception as exc:  # noqa: BLE001 - reported by the station, retried next tick
            self.last_error = str(exc)

    def _run(self) -> None:
        while not self._stop.wait(self.tick_s):
            self._tick()


def _hex64(v: str | None) -> str | None:
    return v if v is not None and len(v) == 64 and all(c in "0123456789abcdef" for c in v) else None


def find_record(records: RecordStore, record_id: int) -> InspectionRecord | None:
    got = records.page(after_id=record_id - 1, limit=1)
    return got[0] if got and got[0].id == record_id else None


def check_record(
    engine: Engine, records: RecordStore, image_bytes: Callable[[str], bytes | None],
    store: Any, genesis: Genesis, live: Live, record_id: int,
) -> Report:
    rep = Report(str(record_id))
    rec = find_record(records, record_id)
    if rec is None:
        rep.add("record", False, f"no inspection record {record_id}")
        return rep
    with engine.connect() as conn:
        row = conn.execute(select(proofs, batches).join(batches, batches.c.id == proofs.c.batch_id)
                           .where(proofs.c.record_id == record_id)).first()
    if row is None:
        rep.add("anchored", False, f"record {record_id} is not anchored yet")
        return rep
    digest = rec.digest
    rep.add("record digest", digest == row.record_digest,
            "the record hashes to its anchored leaf" if digest == row.record_digest
            else "the record no longer hashes to the leaf that was anchored: it was changed")
    proof = [bytes.fromhex(p) for p in row.proof.split(",") if p]
    ok = merkle.verify_inclusion(bytes.fromhex(digest), row.leaf_index, row.count, proof, bytes.fromhex(row.root))
    rep.add("inclusion", ok, f"leaf {row.leaf_index} of {row.count} {'leads' if ok else 'does NOT lead'} to the batch root")
    try:
        ev = tx_evidence(store, genesis, row.tx_hash)
        tx = txm.from_obj(ev["tx"])
    except (KeyError, txm.TxError):
        rep.add("batch committed", False, f"batch transaction {row.tx_hash[:16]} is not on the ledger")
        return rep
    root_ok = tx.type == "inspection.batch" and tx.payload["root"] == row.root and tx.payload["count"] == row.count
    rep.add("batch root", root_ok, "the ledger's inspection.batch holds this root" if root_ok
            else "the local batch root differs from the one on the ledger")
    validators = {k: bytes.fromhex(v) for k, v in ev["validators"].items()}
    for name, good, why in committed(genesis, tx.hash, ev["header"], ev["commit"], validators, ev["height"],
                                     ev["index"], ev["tx_count"], [bytes.fromhex(p) for p in ev["inclusion"]], False):
        rep.add(f"batch {name}", good, why)
    data = image_bytes(rec.image_sha256)
    if data is None:
        rep.add("image", False, f"image {rec.image_sha256[:16]} is not in the history store")
    else:
        same = hashlib.sha256(data).hexdigest() == rec.image_sha256
        rep.add("image", same, "the stored image matches its digest" if same else "the stored image was changed")
    _model_checks(rep, live, tx.payload.get("model_cert"), ev["height"])
    return rep


def _model_checks(rep: Report, live: Live, cert_id: str | None, height: int) -> None:
    if cert_id is None:
        rep.add("model certificate", False, "the batch names no model certificate")
        return
    rec = live.get("cert", cert_id)
    if rec is None:
        rep.add("model certificate", False, f"certificate {cert_id[:16]} is not on the ledger")
        return
    revoked = rec["status"] != "active" and rec.get("revoked_height", 0) <= height
    rep.add("model certificate", rec["height"] <= height and not revoked,
            f"issued at height {rec['height']}, " + (f"revoked at {rec['revoked_height']}" if revoked
                                                     else f"not revoked at batch height {height}"))
    tv = TrustView(live.get, live.keys, live.height)
    e = tv.cert(cert_id).expected_ppm
    rep.add("model trust", e >= tv.threshold_ppm,
            f"expected trust {e / PPM:.4f} vs threshold {tv.threshold_ppm / PPM:.4f} at height {live.height}")


def verify_record(dd: DataDir, record_ref: str) -> Report:
    """`bcmlp verify record RECORD_ID`: the checks above against the local stores and ledger."""
    from app.commands.cert_common import open_view
    from app.errors import UserError
    from app.station.services import image_store, record_store

    if not record_ref.isdigit():
        raise UserError("RECORD_ID is the record's number (see the inspection history)")
    images = image_store(dd)
    view = open_view(dd)
    records = record_store(dd)
    engine = anchor_engine(dd)
    try:
        return check_record(engine, records, lambda sha: images.path(sha).read_bytes() if sha in images else None,
                            view.store, view.genesis, view.live, int(record_ref))
    finally:
        engine.dispose()
        records.engine.dispose()
        view.close()


__all__ = ["Anchorer", "Check", "anchor_engine", "check_record", "verify_record"]
