"""First schema: workloads, targets (canonical + fingerprint) and records with provenance.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "workloads",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("key", sa.String(64), nullable=False, unique=True),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("op_name", sa.String(128), nullable=False),
        sa.Column("sizes", sa.Text, nullable=False),
        sa.Column("dtypes", sa.Text, nullable=False),
    )
    op.create_table(
        "targets",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("canonical", sa.String(4096), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("hardware", sa.Text, nullable=False),
        sa.UniqueConstraint("canonical", "fingerprint", name="uq_targets_canonical_fingerprint"),
    )
    op.create_table(
        "records",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True),
        sa.Column("uid", sa.String(64), nullable=False, unique=True),
        sa.Column("workload_id", sa.Integer, sa.ForeignKey("workloads.id"), nullable=False),
        sa.Column("target_id", sa.Integer, sa.ForeignKey("targets.id"), nullable=False),
        sa.Column("config", sa.Text, nullable=False),
        sa.Column("trace", sa.Text, nullable=True),
        sa.Column("run_secs", sa.Text, nullable=False),
        sa.Column("median_secs", sa.Float, nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("opforge_version", sa.String(64), nullable=False),
        sa.Column("tvm_version", sa.String(64), nullable=False),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("team", sa.String(255), nullable=True),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    op.create_index("ix_records_best", "records", ["workload_id", "target_id", "status", "median_secs", "id"])
    op.create_index("ix_records_created_at", "records", ["created_at"])


def downgrade() -> None:
    op.drop_table("records")
    op.drop_table("targets")
    op.drop_table("workloads")
