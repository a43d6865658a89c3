"""The ledger's SQL tables (SQLAlchemy Core). Changes go through migrations/versions/."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
)

metadata = MetaData()

meta = Table(
    "ledger_meta",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

blocks = Table(
    "ledger_blocks",
    metadata,
    Column("height", BigInteger, primary_key=True, autoincrement=False),
    Column("block_id", String(64), nullable=False, unique=True),
    Column("time", BigInteger, nullable=False),
    Column("proposer", String(64), nullable=False),
    Column("num_txs", Integer, nullable=False),
    Column("header", LargeBinary, nullable=False),
    Column("last_commit", LargeBinary, nullable=True),
    Column("commit", LargeBinary, nullable=False),
)

txs = Table(
    "ledger_txs",
    metadata,
    Column("hash", String(64), primary_key=True),
    Column("height", BigInteger, nullable=False),
    Column("idx", Integer, nullable=False),
    Column("type", String(64), nullable=False),
    Column("sender", String(64), nullable=False),
    Column("nonce", BigInteger, nullable=False),
    Column("raw", LargeBinary, nullable=False),
    Index("ix_ledger_txs_height_idx", "height", "idx", unique=True),
    Index("ix_ledger_txs_sender", "sender", "height", "idx"),
)

state = Table(
    "ledger_state",
    metadata,
    Column("tbl", String(32), primary_key=True),
    Column("key", String(200), primary_key=True),
    Column("data", Text, nullable=False),
    Column("height", BigInteger, nullable=False),
)
