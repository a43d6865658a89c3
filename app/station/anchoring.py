"""Anchoring inspection records on the ledger (docs/design.md section 7), wired here because
`inspection` and `ledger_core` do not import each other. The decisions (when a batch is cut, its
Merkle root, proofs and payload, the checks of a record) are `ledger_core.attest.anchors`'; this
module reads the pending records, submits each batch, keeps the proofs and runs the loop.

Each record keeps its inclusion proof in `<data-dir>/inspection/anchors.sqlite`. `verify_record`
proves one workpiece's result against the local stores and ledger.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from app.db import make_engine, sqlite_url
from app.paths import DataDir
from inspection.records import InspectionRecord, RecordStore
from ledger_core.attest.anchors import BATCH_TX, Anchor, Batch, BatchPolicy, record_report
from ledger_core.attest.proofs import Check, Live, Report, tx_evidence
from ledger_core.chain.genesis import Genesis

HEX64 = sa.String(64)  # a SHA-256 digest or hash, hex
metadata = sa.MetaData()
batches = sa.Table(
    "anchor_batches", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("root", HEX64, nullable=False),
    sa.Column("count", sa.Integer, nullable=False),
    sa.Column("first_record", sa.Integer, nullable=False),
    sa.Column("last_record", sa.Integer, nullable=False),
    sa.Column("tx_hash", HEX64, nullable=False, unique=True),
    sa.Column("height", sa.BigInteger, nullable=True),
)
proofs = sa.Table(
    "anchor_proofs", metadata,
    sa.Column("record_id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("batch_id", sa.Integer, nullable=False),  # the record's place: batch and leaf
    sa.Column("leaf_index", sa.Integer, nullable=False),
    sa.Column("record_digest", HEX64, nullable=False),  # the leaf, and its audit path:
    sa.Column("proof", sa.Text, nullable=False),  # hex hashes joined by ","
)

# (tx type, payload) -> (tx hash, height)
Submit = Callable[[str, dict[str, Any]], tuple[str, int | None]]


def anchor_engine(dd: DataDir) -> sa.Engine:
    dd.inspection_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    engine = make_engine(sqlite_url(dd.inspection_dir / "anchors.sqlite"))
    metadata.create_all(engine)
    return engine


@dataclass
class Anchorer:
    """Cuts batches from the records not anchored yet (`BatchPolicy`) and submits their roots."""

    engine: sa.Engine
    records: RecordStore
    submit: Submit
    station: str
    every_s: float = 60.0
    max_records: int = 1000
    clock: Callable[[], float] = time.time

    def last_anchored(self) -> int:
        with self.engine.connect() as conn:
            return conn.execute(sa.select(sa.func.max(batches.c.last_record))).scalar() or 0

    def pending(self) -> list[InspectionRecord]:
        """The oldest records not anchored yet, a batch's worth at most."""
        return self.records.page(after_id=self.last_anchored(), limit=self.max_records)

    def anchor(self, force: bool = False) -> list[dict[str, Any]]:
        """Anchor every due batch now (all pending ones with force); returns what was anchored."""
        policy = BatchPolicy(self.every_s, self.max_records)
        done = []
        while (batch := policy.cut(self.pending(), self.clock(), force)) is not None:
            done.append(self._anchor(batch))
        return done

    def _anchor(self, batch: Batch) -> dict[str, Any]:
        recs, root = batch.records, batch.root.hex()
        tx_hash, height = self.submit(BATCH_TX, batch.payload(self.station))
        with self.engine.begin() as conn:
            bid = conn.execute(sa.insert(batches).values(
                root=root, count=len(recs), first_record=recs[0].id, last_record=recs[-1].id,
                tx_hash=tx_hash, height=height)).inserted_primary_key[0]
            conn.execute(sa.insert(proofs), [
                {"record_id": r.id, "record_digest": r.digest, "batch_id": bid, "leaf_index": i,
                 "proof": ",".join(p.hex() for p in proof)}
                for i, (r, proof) in enumerate(zip(recs, batch.proofs, strict=True))
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


def load_anchor(engine: sa.Engine, record_id: int) -> Anchor | None:
    """Where the record was anchored, as the station kept it (None: not anchored yet)."""
    with engine.connect() as conn:
        row = conn.execute(sa.select(proofs, batches)
                           .join(batches, batches.c.id == proofs.c.batch_id)
                           .where(proofs.c.record_id == record_id)).first()
    if row is None:
        return None
    return Anchor(row.record_digest, row.leaf_index, row.count, row.root,
                  tuple(bytes.fromhex(p) for p in row.proof.split(",") if p), row.tx_hash)


def check_record(
    engine: sa.Engine, records: RecordStore, image_bytes: Callable[[str], bytes | None],
    store: Any, genesis: Genesis, live: Live, record_id: int,
) -> Report:
    """`record_report` on what the stores and the ledger hold for the record."""
    rec = records.get(record_id)
    anchor = load_anchor(engine, record_id) if rec is not None else None
    evidence = image = None
    if anchor is not None:
        try:
            evidence = tx_evidence(store, genesis, anchor.tx_hash)
        except KeyError:
            evidence = None
        image = image_bytes(rec.image_sha256) if evidence is not None else None
    return record_report(record_id, rec, anchor, evidence, image, genesis, live)


def verify_record(dd: DataDir, record_ref: str) -> Report:
    """`bcmlp verify record RECORD_ID`: the checks above against the local stores and ledger."""
    from app.errors import UserError
    from app.services.ledger import open_view
    from app.station.services import image_store, record_store

    if not record_ref.isdigit():
        raise UserError("RECORD_ID is the record's number (see the inspection history)")
    images = image_store(dd)
    view = open_view(dd)
    records = record_store(dd)
    engine = anchor_engine(dd)
    try:
        return check_record(engine, records, images.read, view.store, view.genesis, view.live,
                            int(record_ref))
    finally:
        engine.dispose()
        records.engine.dispose()
        view.close()


__all__ = ["Anchorer", "Check", "anchor_engine", "check_record", "verify_record"]
