"""What a term loan has charged (its instalments' interest as they fall due, penalty
and compound interest to the day), written by the loans from the model so that the
end of day's set-based SQL reads the model's very figures; and an index to find the
open term loans among a million bullet ones; whether a loan's overdue interest
compounds, fixed when it was asked for as its other terms are; ``sent_on`` dropped
(nothing marks an order sent: the state left the lifecycle).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("drawdowns") as batch:
        batch.add_column(
            sa.Column("interest_charged", sa.BigInteger(), nullable=False, server_default="0")
        )
        batch.add_column(
            sa.Column("penalty_charged", sa.BigInteger(), nullable=False, server_default="0")
        )
        batch.add_column(
            sa.Column("compounds", sa.Boolean(), nullable=False, server_default=sa.true())
        )
        batch.create_index("ix_drawdowns_method_status", ["method", "status"])
        # Nothing marks an order sent (the state is gone from the lifecycle).
        batch.drop_column("sent_on")


def downgrade() -> None:
    with op.batch_alter_table("drawdowns") as batch:
        batch.add_column(sa.Column("sent_on", sa.Date(), nullable=True))
        batch.drop_index("ix_drawdowns_method_status")
        batch.drop_column("compounds")
        batch.drop_column("penalty_charged")
        batch.drop_column("interest_charged")
