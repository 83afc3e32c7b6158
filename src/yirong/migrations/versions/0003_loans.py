"""Loans: drawdowns and their interest clocks, funding receipts (matched or in
suspense), repayments and their parts, accrual totals, portfolio snapshots, the
outbox and the end of day's steps.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "eod_steps",
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.Column("step", sa.String(length=32), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("business_date", "step", name=op.f("pk_eod_steps")),
    )
    op.create_table(
        "funding_receipts",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("bank_ref", sa.String(length=64), nullable=False),
        sa.Column("funder_code", sa.String(length=32), nullable=False),
        sa.Column("reference", sa.String(length=64), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("received_on", sa.Date(), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("drawdown_id", sa.BigInteger(), nullable=True),
        sa.Column("entry_id", sa.BigInteger(), nullable=False),
        sa.Column("resolved_on", sa.Date(), nullable=True),
        sa.Column("resolution", sa.String(length=16), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_funding_receipts")),
        sa.UniqueConstraint("bank_ref", name=op.f("uq_funding_receipts_bank_ref")),
    )
    with op.batch_alter_table("funding_receipts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_funding_receipts_outcome"), ["outcome"], unique=False)

    op.create_table(
        "outbox",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("recipient", sa.String(length=64), nullable=False),
        sa.Column("topic", sa.String(length=64), nullable=False),
        sa.Column("subject_id", sa.BigInteger(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
    )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_outbox_recipient"), ["recipient"], unique=False)

    op.create_table(
        "portfolio_snapshots",
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.Column("funder_id", sa.BigInteger(), nullable=False),
        sa.Column("product_id", sa.BigInteger(), nullable=False),
        sa.Column("bucket", sa.String(length=4), nullable=False),
        sa.Column("loans", sa.Integer(), nullable=False),
        sa.Column("principal", sa.BigInteger(), nullable=False),
        sa.Column("interest_due", sa.BigInteger(), nullable=False),
        sa.Column("penalty_due", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "business_date",
            "funder_id",
            "product_id",
            "bucket",
            name=op.f("pk_portfolio_snapshots"),
        ),
    )
    op.create_table(
        "repayments",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("agent_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "funder_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("request_key", sa.String(length=128), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("penalty", sa.BigInteger(), nullable=False),
        sa.Column("interest", sa.BigInteger(), nullable=False),
        sa.Column("principal", sa.BigInteger(), nullable=False),
        sa.Column("share", sa.BigInteger(), nullable=False),
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.Column("entry_id", sa.BigInteger(), nullable=False),
        sa.Column("reversed_on", sa.Date(), nullable=True),
        sa.Column("reversal_reason", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["agents.id"], name=op.f("fk_repayments_agent_id_agents")
        ),
        sa.ForeignKeyConstraint(
            ["funder_id"], ["funders.id"], name=op.f("fk_repayments_funder_id_funders")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_repayments")),
        sa.UniqueConstraint(
            "agent_id", "request_key", name=op.f("uq_repayments_agent_id_request_key")
        ),
    )
    with op.batch_alter_table("repayments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_repayments_agent_id"), ["agent_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_repayments_business_date"), ["business_date"], unique=False
        )
        batch_op.create_index(
            "ix_repayments_funder_date", ["funder_id", "business_date"], unique=False
        )

    op.create_table(
        "accrual_totals",
        sa.Column(
            "funder_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "product_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("closed", sa.BigInteger(), nullable=False),
        sa.Column("posted", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["funder_id"], ["funders.id"], name=op.f("fk_accrual_totals_funder_id_funders")
        ),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["funder_products.id"],
            name=op.f("fk_accrual_totals_product_id_funder_products"),
        ),
        sa.PrimaryKeyConstraint("funder_id", "product_id", "kind", name=op.f("pk_accrual_totals")),
    )
    op.create_table(
        "drawdowns",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("order_ref", sa.String(length=32), nullable=False),
        sa.Column("request_key", sa.String(length=128), nullable=False),
        sa.Column("line_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("agent_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "funder_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "product_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("fee", sa.BigInteger(), nullable=False),
        sa.Column("term_days", sa.Integer(), nullable=False),
        sa.Column("annual_rate_ppm", sa.Integer(), nullable=False),
        sa.Column("penalty_rate_ppm", sa.Integer(), nullable=False),
        sa.Column("day_basis", sa.SmallInteger(), nullable=False),
        sa.Column("grace_days", sa.SmallInteger(), nullable=False),
        sa.Column("allocation_order", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=64), nullable=True),
        sa.Column("requested_on", sa.Date(), nullable=False),
        sa.Column("fund_by", sa.Date(), nullable=False),
        sa.Column("sent_on", sa.Date(), nullable=True),
        sa.Column("credited_on", sa.Date(), nullable=True),
        sa.Column("due_date", sa.Date(), nullable=True),
        sa.Column("closed_on", sa.Date(), nullable=True),
        sa.Column("principal", sa.BigInteger(), nullable=False),
        sa.Column("since_day", sa.Integer(), nullable=False),
        sa.Column("normal_fen_days", sa.BigInteger(), nullable=False),
        sa.Column("penalty_fen_days", sa.BigInteger(), nullable=False),
        sa.Column("overdue_day", sa.Integer(), nullable=False),
        sa.Column("interest_paid", sa.BigInteger(), nullable=False),
        sa.Column("penalty_paid", sa.BigInteger(), nullable=False),
        sa.Column("principal_paid", sa.BigInteger(), nullable=False),
        sa.Column("accrual_open", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["agents.id"], name=op.f("fk_drawdowns_agent_id_agents")
        ),
        sa.ForeignKeyConstraint(
            ["funder_id"], ["funders.id"], name=op.f("fk_drawdowns_funder_id_funders")
        ),
        sa.ForeignKeyConstraint(
            ["line_id"], ["credit_lines.id"], name=op.f("fk_drawdowns_line_id_credit_lines")
        ),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["funder_products.id"],
            name=op.f("fk_drawdowns_product_id_funder_products"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_drawdowns")),
        sa.UniqueConstraint(
            "agent_id", "request_key", name=op.f("uq_drawdowns_agent_id_request_key")
        ),
        sa.UniqueConstraint("order_ref", name=op.f("uq_drawdowns_order_ref")),
    )
    with op.batch_alter_table("drawdowns", schema=None) as batch_op:
        batch_op.create_index("ix_drawdowns_agent_status", ["agent_id", "status"], unique=False)
        batch_op.create_index(batch_op.f("ix_drawdowns_line_id"), ["line_id"], unique=False)
        batch_op.create_index("ix_drawdowns_status_fund_by", ["status", "fund_by"], unique=False)
        batch_op.create_index(
            "ix_drawdowns_status_overdue", ["status", "overdue_day"], unique=False
        )

    op.create_table(
        "repayment_parts",
        sa.Column(
            "repayment_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "drawdown_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("penalty", sa.BigInteger(), nullable=False),
        sa.Column("interest", sa.BigInteger(), nullable=False),
        sa.Column("principal", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["drawdown_id"], ["drawdowns.id"], name=op.f("fk_repayment_parts_drawdown_id_drawdowns")
        ),
        sa.ForeignKeyConstraint(
            ["repayment_id"],
            ["repayments.id"],
            name=op.f("fk_repayment_parts_repayment_id_repayments"),
        ),
        sa.PrimaryKeyConstraint("repayment_id", "drawdown_id", name=op.f("pk_repayment_parts")),
    )


def downgrade() -> None:
    op.drop_table("repayment_parts")
    with op.batch_alter_table("drawdowns", schema=None) as batch_op:
        batch_op.drop_index("ix_drawdowns_status_overdue")
        batch_op.drop_index("ix_drawdowns_status_fund_by")
        batch_op.drop_index(batch_op.f("ix_drawdowns_line_id"))
        batch_op.drop_index("ix_drawdowns_agent_status")

    op.drop_table("drawdowns")
    op.drop_table("accrual_totals")
    with op.batch_alter_table("repayments", schema=None) as batch_op:
        batch_op.drop_index("ix_repayments_funder_date")
        batch_op.drop_index(batch_op.f("ix_repayments_business_date"))
        batch_op.drop_index(batch_op.f("ix_repayments_agent_id"))

    op.drop_table("repayments")
    op.drop_table("portfolio_snapshots")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outbox_recipient"))

    op.drop_table("outbox")
    with op.batch_alter_table("funding_receipts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_funding_receipts_outcome"))

    op.drop_table("funding_receipts")
    op.drop_table("eod_steps")
