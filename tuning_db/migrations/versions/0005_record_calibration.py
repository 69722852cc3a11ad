"""The activation calibration a quantized record was measured with (JSON: activation, absmax, batches,
source), so revalidation and export rebuild exactly the kernel that was timed.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # plain ADD COLUMN: existing rows get NULL (a float record, or a quantized one from before 0005)
    op.add_column("records", sa.Column("calibration", sa.Text, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("records") as batch:
        batch.drop_column("calibration")
