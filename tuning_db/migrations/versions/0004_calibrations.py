"""Calibrated peaks per hardware fingerprint (``opforge targets calibrate``), in the database itself so
PostgreSQL installs keep them too (they were a ``calibration.json`` beside the SQLite file before).

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "calibrations",
        sa.Column("fingerprint", sa.String(64), primary_key=True),
        sa.Column("target", sa.String(128), nullable=False),
        sa.Column("float32_gflops", sa.Float, nullable=True),
        sa.Column("int8_gops", sa.Float, nullable=True),
        sa.Column("bandwidth_gbs", sa.Float, nullable=True),
        sa.Column("methods", sa.Text, nullable=False),
        sa.Column("measured_at", sa.DateTime, nullable=False),
        sa.Column("host", sa.String(255), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("calibrations")
