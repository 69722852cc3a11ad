"""The search strategy that measured each record (``evolutionary``, ``random``, ...), so a report can
draw the random-search tuning curve beside the guided one.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # plain ADD COLUMN: both engines do it in place, existing rows get NULL (strategy not recorded)
    op.add_column("records", sa.Column("strategy", sa.String(32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("records") as batch:
        batch.drop_column("strategy")
