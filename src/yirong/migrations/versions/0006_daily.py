"""The day's reconciliation of each bank account, kept run by run with its items; the
files made for each funder every day, and the comparisons of the funders' own; the
bank batch files payments leave in; how each funder's revenue share is settled.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("funders", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "share_settlement", sa.String(length=16), nullable=False, server_default="statement"
            )
        )
    op.create_table(
        "payment_batches",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("reference", sa.String(length=24), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("bank_account", sa.String(length=80), nullable=False),
        sa.Column("payments", sa.Integer(), nullable=False),
        sa.Column("total", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_batches")),
        sa.UniqueConstraint("reference", name=op.f("uq_payment_batches_reference")),
    )
    with op.batch_alter_table("payment_batches", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_payment_batches_day"), ["day"], unique=False)

    op.create_table(
        "funder_file_checks",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "funder_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("clean", sa.Boolean(), nullable=False),
        sa.Column("differences", sa.Integer(), nullable=False),
        sa.Column("checked_on", sa.Date(), nullable=False),
        sa.Column("checked_by", sa.String(length=80), nullable=False),
        sa.ForeignKeyConstraint(
            ["funder_id"], ["funders.id"], name=op.f("fk_funder_file_checks_funder_id_funders")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_funder_file_checks")),
    )
    with op.batch_alter_table("funder_file_checks", schema=None) as batch_op:
        batch_op.create_index(
            "ix_funder_file_checks_day", ["funder_id", "day", "kind"], unique=False
        )

    op.create_table(
        "funder_files",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "funder_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("totals", sa.String(length=200), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("made_on", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(
            ["funder_id"], ["funders.id"], name=op.f("fk_funder_files_funder_id_funders")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_funder_files")),
        sa.UniqueConstraint(
            "funder_id", "day", "kind", name=op.f("uq_funder_files_funder_id_day_kind")
        ),
    )
    op.create_table(
        "recon_days",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("bank_account_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("latest", sa.Boolean(), nullable=False),
        sa.Column("clean", sa.Boolean(), nullable=False),
        sa.Column("bank_opening", sa.BigInteger(), nullable=True),
        sa.Column("bank_credits", sa.BigInteger(), nullable=True),
        sa.Column("bank_debits", sa.BigInteger(), nullable=True),
        sa.Column("bank_closing", sa.BigInteger(), nullable=True),
        sa.Column("statements", sa.String(length=400), nullable=False),
        sa.Column("books", sa.BigInteger(), nullable=False),
        sa.Column("difference", sa.BigInteger(), nullable=False),
        sa.Column("explained", sa.BigInteger(), nullable=False),
        sa.Column("open_items", sa.Integer(), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("run_on", sa.Date(), nullable=False),
        sa.Column("run_by", sa.String(length=80), nullable=False),
        sa.Column("acknowledged_by", sa.String(length=80), nullable=True),
        sa.Column("acknowledged_on", sa.Date(), nullable=True),
        sa.Column("acknowledged_note", sa.String(length=300), nullable=True),
        sa.Column(
            "recorded_at",
            sa.DateTime(),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["bank_account_id"],
            ["bank_accounts.id"],
            name=op.f("fk_recon_days_bank_account_id_bank_accounts"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recon_days")),
        sa.UniqueConstraint(
            "day",
            "bank_account_id",
            "version",
            name=op.f("uq_recon_days_day_bank_account_id_version"),
        ),
    )
    with op.batch_alter_table("recon_days", schema=None) as batch_op:
        batch_op.create_index("ix_recon_days_unclean", ["clean", "day"], unique=False)

    op.create_table(
        "funder_file_differences",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("check_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("key", sa.String(length=120), nullable=False),
        sa.Column("field", sa.String(length=40), nullable=False),
        sa.Column("ours", sa.String(length=80), nullable=False),
        sa.Column("theirs", sa.String(length=80), nullable=False),
        sa.ForeignKeyConstraint(
            ["check_id"],
            ["funder_file_checks.id"],
            name=op.f("fk_funder_file_differences_check_id_funder_file_checks"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_funder_file_differences")),
    )
    with op.batch_alter_table("funder_file_differences", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_funder_file_differences_check_id"), ["check_id"], unique=False
        )

    op.create_table(
        "recon_day_items",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "recon_day_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("ref", sa.String(length=80), nullable=False),
        sa.Column("effect", sa.BigInteger(), nullable=False),
        sa.Column("since", sa.Date(), nullable=True),
        sa.Column("detail", sa.String(length=300), nullable=False),
        sa.ForeignKeyConstraint(
            ["recon_day_id"],
            ["recon_days.id"],
            name=op.f("fk_recon_day_items_recon_day_id_recon_days"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recon_day_items")),
    )
    with op.batch_alter_table("recon_day_items", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_recon_day_items_recon_day_id"), ["recon_day_id"], unique=False
        )

    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("batch_ref", sa.String(length=24), nullable=True))
        batch_op.create_index(batch_op.f("ix_payments_batch_ref"), ["batch_ref"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("funders", schema=None) as batch_op:
        batch_op.drop_column("share_settlement")
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_payments_batch_ref"))
        batch_op.drop_column("batch_ref")

    with op.batch_alter_table("recon_day_items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_recon_day_items_recon_day_id"))

    op.drop_table("recon_day_items")
    with op.batch_alter_table("funder_file_differences", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_funder_file_differences_check_id"))

    op.drop_table("funder_file_differences")
    with op.batch_alter_table("recon_days", schema=None) as batch_op:
        batch_op.drop_index("ix_recon_days_unclean")

    op.drop_table("recon_days")
    op.drop_table("funder_files")
    with op.batch_alter_table("funder_file_checks", schema=None) as batch_op:
        batch_op.drop_index("ix_funder_file_checks_day")

    op.drop_table("funder_file_checks")
    with op.batch_alter_table("payment_batches", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_payment_batches_day"))

    op.drop_table("payment_batches")
