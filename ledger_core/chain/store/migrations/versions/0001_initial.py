"""Initial ledger schema: meta, blocks, transactions, state rows.

Revision ID: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ledger_meta",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )
    op.create_table(
        "ledger_blocks",
        sa.Column("height", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("block_id", sa.String(64), nullable=False, unique=True),
        sa.Column("time", sa.BigInteger, nullable=False),
        sa.Column("proposer", sa.String(64), nullable=False),
        sa.Column("num_txs", sa.Integer, nullable=False),
        sa.Column("header", sa.LargeBinary, nullable=False),
        sa.Column("last_commit", sa.LargeBinary, nullable=True),
        sa.Column("commit", sa.LargeBinary, nullable=False),
    )
    op.create_table(
        "ledger_txs",
        sa.Column("hash", sa.String(64), primary_key=True),
        sa.Column("height", sa.BigInteger, nullable=False),
        sa.Column("idx", sa.Integer, nullable=False),
        sa.Column("type", sa.String(64), nullable=False),
        sa.Column("sender", sa.String(64), nullable=False),
        sa.Column("nonce", sa.BigInteger, nullable=False),
        sa.Column("raw", sa.LargeBinary, nullable=False),
    )
    op.create_index("ix_ledger_txs_height_idx", "ledger_txs", ["height", "idx"], unique=True)
    op.create_index("ix_ledger_txs_sender", "ledger_txs", ["sender", "height", "idx"])
    op.create_table(
        "ledger_state",
        sa.Column("tbl", sa.String(32), primary_key=True),
        sa.Column("key", sa.String(200), primary_key=True),
        sa.Column("data", sa.Text, nullable=False),
        sa.Column("height", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("ledger_state")
    op.drop_index("ix_ledger_txs_sender", "ledger_txs")
    op.drop_index("ix_ledger_txs_height_idx", "ledger_txs")
    op.drop_table("ledger_txs")
    op.drop_table("ledger_blocks")
    op.drop_table("ledger_meta")
