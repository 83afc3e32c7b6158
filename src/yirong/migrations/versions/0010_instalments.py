"""A term loan's instalments, as its schedule gives them when the money is credited
(loans/model/term.py); which method a drawdown follows; whether a product's overdue
interest compounds.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "drawdown_instalments",
        sa.Column(
            "drawdown_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("n", sa.SmallInteger(), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("principal", sa.BigInteger(), nullable=False),
        sa.Column("interest", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["drawdown_id"],
            ["drawdowns.id"],
            name=op.f("fk_drawdown_instalments_drawdown_id_drawdowns"),
        ),
        sa.PrimaryKeyConstraint("drawdown_id", "n", name=op.f("pk_drawdown_instalments")),
    )
    with op.batch_alter_table("drawdowns") as batch:
        batch.add_column(
            sa.Column("method", sa.String(24), nullable=False, server_default="bullet")
        )
    with op.batch_alter_table("funder_products") as batch:
        batch.add_column(
            sa.Column("compounds", sa.Boolean(), nullable=False, server_default=sa.true())
        )


def downgrade() -> None:
    with op.batch_alter_table("funder_products") as batch:
        batch.drop_column("compounds")
    with op.batch_alter_table("drawdowns") as batch:
        batch.drop_column("method")
    op.drop_table("drawdown_instalments")
