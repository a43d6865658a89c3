"""Inspection records through SQLAlchemy 2 Core on an engine the caller provides.

One row per inspected workpiece (docs/design.md section 7): workpiece, order, times, image SHA-256,
model id (weights SHA-256) and the model and pipeline certificate ids (NULL until certificates
exist), preprocessing digest, class probabilities in per-mille, quality index in per-mille,
verdict, process/tool parameters, and the record digest: SHA-256 of the canonical JSON of
`InspectionRecord.body()`, which anchoring (Merkle trees in `inspection.batch`) builds on.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Engine,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    func,
    insert,
    select,
)

from bedrock.canonical import canonical, digest_hex
from bedrock.migrations import upgrade

RECORD_VERSION = 1
MIGRATIONS = Path(__file__).with_name("migrations")
metadata = MetaData()

records_table = Table(
    "inspection_records",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("record_digest", String(64), nullable=False, unique=True),
    Column("workpiece_id", String(256), nullable=False),
    Column("order_id", String(128), nullable=False),
    Column("source", String(512), nullable=False),
    Column("source_time_ns", BigInteger, nullable=False),
    Column("inspected_at_ns", BigInteger, nullable=False),
    Column("image_sha256", String(64), nullable=False),
    Column("model_id", String(64), nullable=False),
    Column("model_cert_id", String(128), nullable=True),
    Column("pipeline_cert_id", String(128), nullable=True),
    Column("preprocessing_digest", String(64), nullable=False),
    Column("probs_permille", Text, nullable=False),
    Column("quality_permille", Integer, nullable=False),
    Column("verdict", String(3), nullable=False),
    Column("params", Text, nullable=True),
    Index("ix_inspection_workpiece", "workpiece_id"),
    Index("ix_inspection_time", "inspected_at_ns"),
)


@dataclass(frozen=True)
class InspectionRecord:
    workpiece_id: str
    order_id: str
    source: str
    source_time_ns: int
    inspected_at_ns: int
    image_sha256: str
    model_id: str
    preprocessing_digest: str
    probs_permille: dict[str, int]
    quality_permille: int
    verdict: str
    params: dict[str, str] = field(default_factory=dict)
    model_cert_id: str | None = None
    pipeline_cert_id: str | None = None
    id: int | None = None

    def body(self) -> dict[str, Any]:
        """What the record digest covers (everything but the database row id)."""
        return {
            "v": RECORD_VERSION,
            "workpiece_id": self.workpiece_id,
            "order_id": self.order_id,
            "source": self.source,
            "source_time_ns": self.source_time_ns,
            "inspected_at_ns": self.inspected_at_ns,
            "image_sha256": self.image_sha256,
            "model_id": self.model_id,
            "model_cert_id": self.model_cert_id,
            "pipeline_cert_id": self.pipeline_cert_id,
            "preprocessing_digest": self.preprocessing_digest,
            "probs_permille": dict(self.probs_permille),
            "quality_permille": self.quality_permille,
            "verdict": self.verdict,
            "params": dict(self.params),
        }

    @property
    def digest(self) -> str:
        return digest_hex(self.body())

    def to_json_dict(self) -> dict[str, Any]:
        d = self.body()
        d["record_digest"] = self.digest
        d["quality_index"] = self.quality_permille / 1000
        if self.id is not None:
            d["id"] = self.id
        return d


def migrate(engine: Engine) -> None:
    """Create or upgrade the records schema to the newest revision (Alembic, in-process)."""
    upgrade(engine, MIGRATIONS)


class RecordStore:
    """Inspection records in the `inspection_records` table (schema through the migrations)."""

    def __init__(self, engine: Engine, run_migrations: bool = True) -> None:
        self.engine = engine
        if run_migrations:
            migrate(engine)

    def add(self, rec: InspectionRecord) -> int:
        return self.add_many([rec])[0]

    def add_many(self, recs: list[InspectionRecord]) -> list[int]:
        """Insert records in one transaction; returns their row ids."""
        ids = []
        with self.engine.begin() as conn:
            for rec in recs:
                result = conn.execute(insert(records_table).values(**_values(rec)))
                ids.append(int(result.inserted_primary_key[0]))
        return ids

    def count(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(records_table)).scalar_one())

    def page(self, after_id: int = 0, limit: int = 100) -> list[InspectionRecord]:
        """Records with id > after_id in id order (keyset pagination)."""
        q = (select(records_table).where(records_table.c.id > after_id)
             .order_by(records_table.c.id).limit(limit))
        with self.engine.connect() as conn:
            return [_from_row(r._mapping) for r in conn.execute(q)]

    def get(self, record_id: int) -> InspectionRecord | None:
        got = self.page(after_id=record_id - 1, limit=1)
        return got[0] if got and got[0].id == record_id else None

    def latest(self, limit: int = 20) -> list[InspectionRecord]:
        return self.newest(None, limit)

    def newest(self, before_id: int | None = None, limit: int = 100) -> list[InspectionRecord]:
        """Records newest first, below `before_id` when given (keyset pagination)."""
        q = select(records_table)
        if before_id is not None:
            q = q.where(records_table.c.id < before_id)
        q = q.order_by(records_table.c.id.desc()).limit(limit)
        with self.engine.connect() as conn:
            return [_from_row(r._mapping) for r in conn.execute(q)]

    def by_workpiece(self, workpiece_id: str) -> list[InspectionRecord]:
        q = (select(records_table).where(records_table.c.workpiece_id == workpiece_id)
             .order_by(records_table.c.id))
        with self.engine.connect() as conn:
            return [_from_row(r._mapping) for r in conn.execute(q)]


def _values(rec: InspectionRecord) -> dict[str, Any]:
    row = rec.body()
    values = {
        k: row[k] for k in (
            "workpiece_id", "order_id", "source", "source_time_ns", "inspected_at_ns",
            "image_sha256", "model_id", "model_cert_id", "pipeline_cert_id",
            "preprocessing_digest", "quality_permille", "verdict",
        )
    }
    values["probs_permille"] = canonical(row["probs_permille"]).decode()
    values["params"] = canonical(row["params"]).decode() if row["params"] else None
    values["record_digest"] = digest_hex(row)
    return values


def _from_row(m: Any) -> InspectionRecord:
    return InspectionRecord(
        workpiece_id=m["workpiece_id"],
        order_id=m["order_id"],
        source=m["source"],
        source_time_ns=int(m["source_time_ns"]),
        inspected_at_ns=int(m["inspected_at_ns"]),
        image_sha256=m["image_sha256"],
        model_id=m["model_id"],
        preprocessing_digest=m["preprocessing_digest"],
        probs_permille=json.loads(m["probs_permille"]),
        quality_permille=int(m["quality_permille"]),
        verdict=m["verdict"],
        params=json.loads(m["params"]) if m["params"] else {},
        model_cert_id=m["model_cert_id"],
        pipeline_cert_id=m["pipeline_cert_id"],
        id=int(m["id"]),
    )
