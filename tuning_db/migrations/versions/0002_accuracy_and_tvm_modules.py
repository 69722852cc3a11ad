"""Accuracy columns on records (max and relative L2 error against the reference) and the
IRModule of each workload for the MetaSchedule adapter.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # plain ADD COLUMN: both engines do it in place, existing rows get NULL (accuracy unknown)
    op.add_column("records", sa.Column("max_abs_error", sa.Float, nullable=True))
    op.add_column("records", sa.Column("rel_l2_error", sa.Float, nullable=True))
    op.create_table(
        "tvm_modules",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("workload_id", sa.Integer, sa.ForeignKey("workloads.id"), nullable=False, unique=True),
        sa.Column("shash", sa.String(32), nullable=False),
        sa.Column("module_json", sa.Text, nullable=False),
    )
    op.create_index("ix_tvm_modules_shash", "tvm_modules", ["shash"])


def downgrade() -> None:
    op.drop_index("ix_tvm_modules_shash", table_name="tvm_modules")
    op.drop_table("tvm_modules")
    with op.batch_alter_table("records") as batch:
        batch.drop_column("rel_l2_error")
        batch.drop_column("max_abs_error")
