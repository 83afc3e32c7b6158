"""Order financing (订单融资), the second product: an order product's advance rate and
margin; suppliers and their verified settlement accounts; purchase orders with their
lines of goods, documents and changes; and each order's financing, one per order and
one per invoice on the whole platform.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


FINANCED = "status IN ('requested', 'approved', 'paying', 'paid', 'settled', 'defaulted')"


ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")  # as yirong.infra.base.Id


def _id() -> sa.Column[int]:
    return sa.Column("id", ID, primary_key=True, autoincrement=True)


def upgrade() -> None:
    with op.batch_alter_table("funder_products") as batch:
        batch.add_column(sa.Column("advance_rate_ppm", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("margin_ppm", sa.Integer(), nullable=True))
    op.create_table(
        "suppliers",
        _id(),
        sa.Column("code", sa.String(32), nullable=False, unique=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("uscc", sa.String(18), nullable=False, unique=True),
        sa.Column("bank_account", sa.String(40), nullable=False),
        sa.Column("bank_name", sa.String(100), nullable=False),
        sa.Column("account_verified_on", sa.Date(), nullable=True),
        sa.Column("account_verified_by", sa.String(80), nullable=True),
        sa.Column("whitelisted", sa.Boolean(), nullable=False),
        sa.Column("registered_on", sa.Date(), nullable=False),
    )
    op.create_table(
        "purchase_orders",
        _id(),
        sa.Column("supplier_id", ID, sa.ForeignKey("suppliers.id"), nullable=False),
        sa.Column("agent_id", ID, sa.ForeignKey("agents.id"), nullable=False),
        sa.Column("order_no", sa.String(64), nullable=False),
        sa.Column("request_key", sa.String(128), nullable=False),
        sa.Column("total", sa.BigInteger(), nullable=False),
        sa.Column("reduced", sa.BigInteger(), nullable=False),
        sa.Column("expected_delivery", sa.Date(), nullable=False),
        sa.Column("invoice_no", sa.String(64), nullable=True, unique=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("entered_on", sa.Date(), nullable=False),
        sa.Column("confirmed_on", sa.Date(), nullable=True),
        sa.Column("confirmed_by", sa.String(80), nullable=True),
        sa.Column("delivered_on", sa.Date(), nullable=True),
        sa.UniqueConstraint("supplier_id", "order_no"),
        sa.UniqueConstraint("agent_id", "request_key"),
    )
    op.create_index("ix_purchase_orders_agent_id", "purchase_orders", ["agent_id"])
    op.create_table(
        "purchase_order_lines",
        sa.Column(
            "order_id",
            ID,
            sa.ForeignKey("purchase_orders.id"),
            primary_key=True,
        ),
        sa.Column("n", sa.Integer(), primary_key=True),
        sa.Column("description", sa.String(200), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("unit_price", sa.BigInteger(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
    )
    op.create_table(
        "order_documents",
        _id(),
        sa.Column("order_id", ID, sa.ForeignKey("purchase_orders.id"), nullable=False),
        sa.Column("kind", sa.String(24), nullable=False),
        sa.Column("filename", sa.String(200), nullable=False),
        sa.Column("media_type", sa.String(100), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("uploaded_on", sa.Date(), nullable=False),
        sa.Column("uploaded_by", sa.String(80), nullable=False),
        sa.UniqueConstraint("order_id", "sha256"),
    )
    op.create_index("ix_order_documents_order_id", "order_documents", ["order_id"])
    op.create_table(
        "order_changes",
        _id(),
        sa.Column("order_id", ID, sa.ForeignKey("purchase_orders.id"), nullable=False),
        sa.Column("request_key", sa.String(128), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("note", sa.String(200), nullable=False),
        sa.Column("recorded_on", sa.Date(), nullable=False),
        sa.Column("recorded_by", sa.String(80), nullable=False),
        sa.UniqueConstraint("order_id", "request_key"),
    )
    op.create_index("ix_order_changes_order_id", "order_changes", ["order_id"])
    op.create_table(
        "order_financings",
        _id(),
        sa.Column("order_id", ID, sa.ForeignKey("purchase_orders.id"), nullable=False),
        sa.Column("agent_id", ID, sa.ForeignKey("agents.id"), nullable=False),
        sa.Column("line_id", ID, sa.ForeignKey("credit_lines.id"), nullable=False),
        sa.Column("funder_id", ID, sa.ForeignKey("funders.id"), nullable=False),
        sa.Column("request_key", sa.String(128), nullable=False),
        sa.Column("advance", sa.BigInteger(), nullable=False),
        sa.Column("own_part", sa.BigInteger(), nullable=False),
        sa.Column("margin", sa.BigInteger(), nullable=False),
        sa.Column("term_days", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("hold_entry_id", sa.BigInteger(), nullable=True),
        sa.Column("drawdown_id", sa.BigInteger(), nullable=True, unique=True),
        sa.Column("payment_id", sa.BigInteger(), nullable=True),
        sa.Column("refunded", sa.BigInteger(), nullable=False),
        sa.Column("requested_on", sa.Date(), nullable=False),
        sa.Column("decided_on", sa.Date(), nullable=True),
        sa.Column("paid_on", sa.Date(), nullable=True),
        sa.Column("closed_on", sa.Date(), nullable=True),
        sa.Column("reason", sa.String(200), nullable=True),
        sa.UniqueConstraint("agent_id", "request_key"),
    )
    op.create_index("ix_order_financings_agent_id", "order_financings", ["agent_id"])
    op.create_index("ix_order_financings_funder_id", "order_financings", ["funder_id"])
    op.create_index(
        "uq_order_financings_live",
        "order_financings",
        ["order_id"],
        unique=True,
        postgresql_where=sa.text(FINANCED),
        sqlite_where=sa.text(FINANCED),
    )


def downgrade() -> None:
    for table in (
        "order_financings",
        "order_changes",
        "order_documents",
        "purchase_order_lines",
        "purchase_orders",
        "suppliers",
    ):
        op.drop_table(table)
    with op.batch_alter_table("funder_products") as batch:
        batch.drop_column("margin_ppm")
        batch.drop_column("advance_rate_ppm")
