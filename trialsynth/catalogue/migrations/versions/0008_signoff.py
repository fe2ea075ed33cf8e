"""The sign-off before release: attempts carry their release state and a reviews table keeps
every decision.

Revision ID: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

COLUMNS = (
    ("release", sa.String(16)),
    ("access_tier", sa.String(32)),
    ("reviewer", sa.String(200)),
    ("reviewed_at", sa.DateTime(timezone=True)),
    ("review_reason", sa.Text),
    ("released_path", sa.Text),
)


def upgrade() -> None:
    with op.batch_alter_table("attempts") as batch:
        for name, kind in COLUMNS:
            batch.add_column(sa.Column(name, kind))
    op.create_table(
        "reviews",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("archive", sa.String(200), nullable=False, index=True),
        sa.Column("trial_id", sa.String(200), nullable=False, index=True),
        sa.Column("attempt_id", sa.Integer, nullable=False),
        sa.Column("release_key", sa.String(64), index=True),
        sa.Column("decision", sa.String(16), nullable=False),
        sa.Column("reviewer", sa.String(200), nullable=False),
        sa.Column("reason", sa.Text),
        sa.Column("access_tier", sa.String(32)),
        sa.Column("released_path", sa.Text),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("reviews")
    with op.batch_alter_table("attempts") as batch:
        for name, _ in COLUMNS:
            batch.drop_column(name)
