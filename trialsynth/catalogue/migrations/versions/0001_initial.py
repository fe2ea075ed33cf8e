"""The catalogue as first released: attempts (with heartbeat leases) and the epsilon ledger.

Revision ID: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "attempts",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.String(36), nullable=False),
        sa.Column("archive", sa.String(200), nullable=False),
        sa.Column("trial_id", sa.String(200), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("method", sa.String(16)),
        sa.Column("route_reason", sa.Text),
        sa.Column("n_rows", sa.Integer),
        sa.Column("n_cols", sa.Integer),
        sa.Column("epsilon", sa.Float),
        sa.Column("ons_category", sa.String(32)),
        sa.Column("category_rules", sa.String(32)),
        sa.Column("metrics", sa.JSON),
        sa.Column("params", sa.JSON),
        sa.Column("cleaning", sa.JSON),
        sa.Column("timings", sa.JSON),
        sa.Column("gate", sa.Text),
        sa.Column("error", sa.Text),
        sa.Column("output_path", sa.Text),
        sa.Column("seed", sa.BigInteger),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True)),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
        sa.Column("duration_s", sa.Float),
        sa.Column("code_version", sa.String(64), nullable=False),
    )
    op.create_index("ix_attempts_run_id", "attempts", ["run_id"])
    op.create_index("ix_attempts_trial_id", "attempts", ["trial_id"])
    op.create_index("ix_attempts_trial_started", "attempts", ["trial_id", "started_at"])
    op.create_table(
        "epsilon_ledger",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("archive", sa.String(200), nullable=False),
        sa.Column("trial_id", sa.String(200), nullable=False),
        sa.Column("attempt_id", sa.Integer, nullable=False),
        sa.Column("release_key", sa.String(64), nullable=False),
        sa.Column("epsilon", sa.Float, nullable=False),
        sa.Column("delta", sa.Float, nullable=False),
        sa.Column("seed", sa.BigInteger, nullable=False),
        sa.Column("charged_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("release_key", name="uq_epsilon_ledger_release"),
    )
    op.create_index("ix_epsilon_ledger_trial_id", "epsilon_ledger", ["trial_id"])


def downgrade() -> None:
    op.drop_table("epsilon_ledger")
    op.drop_table("attempts")
