"""Attempts made by a comparison of methods (``trialsynth compare``) carry its id; they are never
released and never count as a trial's latest attempt.

Revision ID: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("attempts") as batch:
        batch.add_column(sa.Column("comparison", sa.String(36)))
        batch.create_index("ix_attempts_comparison", ["comparison"])


def downgrade() -> None:
    with op.batch_alter_table("attempts") as batch:
        batch.drop_index("ix_attempts_comparison")
        batch.drop_column("comparison")
