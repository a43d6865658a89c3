"""Inspection records (docs/design.md section 7).

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
        "inspection_records",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("record_digest", sa.String(64), nullable=False, unique=True),
        sa.Column("workpiece_id", sa.String(256), nullable=False),
        sa.Column("order_id", sa.String(128), nullable=False),
        sa.Column("source", sa.String(512), nullable=False),
        sa.Column("source_time_ns", sa.BigInteger, nullable=False),
        sa.Column("inspected_at_ns", sa.BigInteger, nullable=False),
        sa.Column("image_sha256", sa.String(64), nullable=False),
        sa.Column("model_id", sa.String(64), nullable=False),
        sa.Column("model_cert_id", sa.String(128), nullable=True),
        sa.Column("pipeline_cert_id", sa.String(128), nullable=True),
        sa.Column("preprocessing_digest", sa.String(64), nullable=False),
        sa.Column("probs_permille", sa.Text, nullable=False),
        sa.Column("quality_permille", sa.Integer, nullable=False),
        sa.Column("verdict", sa.String(3), nullable=False),
        sa.Column("params", sa.Text, nullable=True),
    )
    op.create_index("ix_inspection_workpiece", "inspection_records", ["workpiece_id"])
    op.create_index("ix_inspection_time", "inspection_records", ["inspected_at_ns"])


def downgrade() -> None:
    op.drop_table("inspection_records")
