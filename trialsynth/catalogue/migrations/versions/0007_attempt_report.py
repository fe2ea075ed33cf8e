"""Attempts record where the trial's report (HTML) was written, beside the released file.

Revision ID: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("attempts") as batch:
        batch.add_column(sa.Column("report_path", sa.Text))


def downgrade() -> None:
    with op.batch_alter_table("attempts") as batch:
        batch.drop_column("report_path")
