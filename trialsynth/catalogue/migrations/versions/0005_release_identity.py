"""Release identity on attempts (an unchanged release is not re-synthesised) and a ledger that
charges every private fit: the one-charge-per-key constraint goes, the DP noise has no seed.

Revision ID: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("attempts") as batch:
        batch.add_column(sa.Column("release_identity", sa.String(64)))
        batch.create_index("ix_attempts_release_identity", ["release_identity"])
    with op.batch_alter_table("epsilon_ledger") as batch:
        batch.drop_constraint("uq_epsilon_ledger_release", type_="unique")
        batch.alter_column("seed", existing_type=sa.BigInteger, nullable=True)
        batch.add_column(sa.Column("forced", sa.Boolean, nullable=False, server_default=sa.false()))
        batch.create_index("ix_epsilon_ledger_release_key", ["release_key"])
        batch.create_index("ix_epsilon_ledger_archive", ["archive"])


def downgrade() -> None:
    with op.batch_alter_table("epsilon_ledger") as batch:
        batch.drop_index("ix_epsilon_ledger_archive")
        batch.drop_index("ix_epsilon_ledger_release_key")
        batch.drop_column("forced")
        batch.create_unique_constraint("uq_epsilon_ledger_release", ["release_key"])
    with op.batch_alter_table("attempts") as batch:
        batch.drop_index("ix_attempts_release_identity")
        batch.drop_column("release_identity")
