"""Attempts record their owner process (host:pid), so a local crash is detected at once.

Revision ID: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("attempts") as batch:
        batch.add_column(sa.Column("owner", sa.String(255)))


def downgrade() -> None:
    with op.batch_alter_table("attempts") as batch:
        batch.drop_column("owner")
